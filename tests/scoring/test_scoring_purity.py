"""The scoring library and the ranking rules import no web, database or Celery code."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "celery", "challenge.api", "challenge.web")


def test_pure_libraries_import_no_platform_code() -> None:
    code = (
        "import json, sys; import challenge.scoring, leaderboards.ranking; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(done.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)]
    bad += [m for m in loaded if m.startswith("challenge.db")]
    assert bad == []

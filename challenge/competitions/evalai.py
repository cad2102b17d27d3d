"""Import an EvalAI challenge (`challenge_config.yaml`) as a competition scored by its own
`evaluate()` in a scoring jail (docs/migrating.md says what maps to what)."""

from __future__ import annotations

import html.parser
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from challenge.competitions.bundle import Bundle, CompetitionSettings, PhaseSettings, ProgramFiles
from challenge.errors import ValidationFailed
from mlfo.errors import IntentError
from sandbox.archive import BUNDLE_ARCHIVES, ArchiveRefused, extract_zip

CONFIG = "challenge_config.yaml"
WRAPPER = "_mlchallenge_evalai.py"
PHASES_FILE = "_mlchallenge_phases.json"
PUBLIC_VISIBILITY = 3
"""EvalAI's phase-split visibility: 1 host only, 2 owner and host, 3 public."""
WRAPPER_SOURCE = '''"""Runs an EvalAI evaluation_script's evaluate() as a scoring program."""
import importlib, json, os, sys

inp, out, phase = sys.argv[1], sys.argv[2], sys.argv[3]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "{phases}")) as f:
    spec = json.load(f)[phase]
sys.path.insert(0, os.path.dirname(here))
script = importlib.import_module(os.path.basename(here))
res = os.path.join(inp, "res")
files = sorted(os.listdir(res))
user = os.path.join(res, files[0]) if len(files) == 1 else res
output = script.evaluate(os.path.join(inp, "ref", spec["annotation"]), user, spec["codename"])
scores = {}
for entry in output.get("result") or []:
    for split, values in entry.items():
        for label, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                scores[split + "." + str(label)] = float(value)
with open(os.path.join(out, "scores.json"), "w") as f:
    json.dump(scores, f)
'''.replace("{phases}", PHASES_FILE)


class _Text(html.parser.HTMLParser):
    """The text of an HTML page (EvalAI pages are HTML; ours are Markdown and never raw HTML)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(f"{CONFIG} (EvalAI): {message}")


def _date(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise _fail(f"{what}: {value!r} is not a date (YYYY-MM-DD HH:MM:SS)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _page(root: Path, name: Any) -> str:
    if not isinstance(name, str) or not name:
        return ""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return name if not name.endswith((".html", ".md")) else ""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        parser = _Text()
        parser.feed(text)
        text = re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts)).strip()
    return text


def _script(root: Path, given: Any, scratch: Path) -> Path:
    """The evaluation_script folder (a zip, as EvalAI's starter builds it, is unpacked)."""
    if not isinstance(given, str) or not given:
        raise _fail("evaluation_script is required")
    path = (root / given).resolve()
    if not path.is_relative_to(root.resolve()):
        raise _fail(f"evaluation_script: {given!r} is not inside the bundle")
    if not path.exists() and path.suffix == ".zip" and path.with_suffix("").is_dir():
        path = path.with_suffix("")  # EvalAI-Starters' repository: the folder run.sh zips
    if path.is_file() and path.suffix == ".zip":
        target = scratch / "evaluation_script"
        try:
            extract_zip(path, target, limits=BUNDLE_ARCHIVES, label="evaluation_script")
        except ArchiveRefused as exc:
            raise _fail(f"evaluation_script: {exc}") from None
        children = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        path = children[0] if len(children) == 1 and children[0].is_dir() else target
    if not path.is_dir():
        raise _fail(f"evaluation_script: {given!r} is not a folder or a zip of one")
    init = path / "__init__.py"
    if not init.is_file() or "evaluate" not in init.read_text(errors="replace") + "".join(
        p.read_text(errors="replace") for p in path.glob("*.py")
    ):
        raise _fail("evaluation_script must be a package (__init__.py) exposing evaluate()")
    return path


def _board(
    leaderboard: dict[str, Any], splits: dict[int, str], phase_splits: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    schema = leaderboard.get("schema") or {}
    if isinstance(schema, str):
        schema = json.loads(schema)
    labels = [str(label) for label in schema.get("labels") or []]
    order_by = str(schema.get("default_order_by") or (labels[0] if labels else ""))
    if not labels or order_by not in labels:
        raise _fail("leaderboard.schema: `labels` and a `default_order_by` among them are needed")
    metadata = schema.get("metadata") or {}
    public: list[dict[str, Any]] = []
    private: list[dict[str, Any]] = []
    for entry in phase_splits:
        if entry.get("leaderboard_id", leaderboard.get("id")) != leaderboard.get("id"):
            continue
        split = splits.get(int(entry.get("dataset_split_id", 0)))
        if split is None:
            raise _fail(f"challenge_phase_splits: dataset_split_id {entry.get('dataset_split_id')}")
        descending = bool(entry.get("is_leaderboard_order_descending", True))
        precision = int(entry.get("leaderboard_decimal_precision", 4))
        for label in labels:
            ascending = bool((metadata.get(label) or {}).get("sort_ascending", not descending))
            column = {
                "key": f"{split}.{label}",
                "title": f"{split}: {label}",
                "sorting": "asc" if ascending else "desc",
                "format": f".{min(max(precision, 0), 12)}f",
            }
            target = public if int(entry.get("visibility", 1)) == PUBLIC_VISIBILITY else private
            if column["key"] not in [c["key"] for c in target]:
                target.append(column)
    if not public:
        raise _fail("challenge_phase_splits: no split is public (visibility 3) on the leaderboard")
    public_board = {"columns": public, "rank_by": public[labels.index(order_by)]["key"]}
    private_board = None
    if private:
        columns = public + [c for c in private if c["key"] not in [p["key"] for p in public]]
        rank = next(c["key"] for c in private if c["key"].endswith(f".{order_by}"))
        private_board = {"columns": columns, "rank_by": rank}
    return public_board, private_board


def load_evalai(root: Path, raw: Any, scratch: Path) -> Bundle:
    """An EvalAI challenge as our bundle: one task scored by `evaluate()` per phase codename."""
    from mlfo.validation import validate_intent

    if not isinstance(raw, dict):
        raise _fail("must be a mapping of keys to values")
    if raw.get("remote_evaluation") or raw.get("is_docker_based"):
        raise _fail(
            "remote evaluation and docker-based (code) challenges are not supported: only "
            "evaluation_script challenges import (docs/migrating.md)"
        )
    title = str(raw.get("title") or "").strip()
    if not title:
        raise _fail("title is required")
    script = _script(root, raw.get("evaluation_script"), scratch)
    splits = {int(s["id"]): str(s["codename"]) for s in raw.get("dataset_splits") or []}
    phases_raw = raw.get("challenge_phases") or []
    if not phases_raw:
        raise _fail("challenge_phases: at least one phase is needed")
    files = ProgramFiles()
    annotations = scratch / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    phase_specs: dict[str, dict[str, str]] = {}
    phases: list[PhaseSettings] = []
    for position, phase in enumerate(phases_raw):
        where = f"challenge_phases[{position}]"
        codename = str(phase.get("codename") or "")
        annotation = (root / str(phase.get("test_annotation_file") or "")).resolve()
        if (
            not codename
            or not annotation.is_relative_to(root.resolve())
            or not annotation.is_file()
        ):
            raise _fail(f"{where}: a codename and a test_annotation_file of the bundle are needed")
        stored = f"{position}-{annotation.name}"
        shutil.copyfile(annotation, annotations / stored)
        name = str(phase.get("name") or codename)[:64]
        phase_specs[name] = {"codename": codename, "annotation": stored}
        phases.append(
            PhaseSettings(
                name=name,
                start=_date(phase.get("start_date") or raw.get("start_date"), f"{where}.start"),
                end=_date(phase.get("end_date") or raw.get("end_date"), f"{where}.end"),
                max_per_day=int(phase.get("max_submissions_per_day") or 5),
                max_total=int(phase.get("max_submissions") or 100),
            )
        )
    program = scratch / "program"
    shutil.copytree(script, program)
    (program / WRAPPER).write_text(WRAPPER_SOURCE, encoding="utf-8")
    (program / PHASES_FILE).write_text(json.dumps(phase_specs), encoding="utf-8")
    leaderboards = raw.get("leaderboard") or []
    if not leaderboards or not isinstance(leaderboards[0], dict):
        raise _fail("leaderboard: one leaderboard with a schema is needed")
    public, private = _board(leaderboards[0], splits, raw.get("challenge_phase_splits") or [])
    task = {
        "key": "main",
        "name": title[:200],
        "scoring": {
            "folder": files.add_program("evaluation_script", program),
            "command": [
                "python",
                f"/app/program/{WRAPPER}",
                "/app/input",
                "/app/output",
                "{phase}",
            ],
        },
        "reference_data": files.add_reference("annotations", annotations),
    }
    intent_data = {
        "task": "regression",
        "id_column": "id",
        "target": "target",
        "metrics": [{"name": public["rank_by"]}],
        "model": {"formats": ["results"]},
        "kpis": [],
        "programs": {"tasks": [task], "public": public, "private": private},
    }
    try:
        intent = validate_intent(intent_data)
        settings = CompetitionSettings(
            title=title[:200], slug=_slug(title), phases=phases, intent=intent_data
        )
    except (IntentError, ValueError) as exc:
        raise _fail(str(exc)) from None
    parts = [f"# {title}\n", str(raw.get("short_description") or "")]
    for key, heading in (
        ("description", "Overview"),
        ("evaluation_details", "Evaluation"),
        ("submission_guidelines", "Submission guidelines"),
        ("terms_and_conditions", "Terms and conditions"),
    ):
        text = _page(root, raw.get(key))
        if text:
            parts.append(f"\n## {heading}\n\n{text}")
    return Bundle(
        root=root,
        settings=settings,
        intent=intent,
        description="\n".join(parts),
        train=None,
        test=None,
        labels=None,
        sample_submission=None,
        baseline=None,
        programs=files,
    )


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 3 else f"evalai-{slug or 'challenge'}"

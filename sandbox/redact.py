"""Messages and logs for teams name no host path: where the worker, its Python and its data live.

A traceback from the jail names the files of the worker's own packages (bound into the jail at
their host paths), the scratch folder of the run, and the interpreter's standard library; a
platform fault names folders of the host. `redactor_for` rewrites all of them to neutral names
(`site-packages/...`, `/job/...`, `python3.11/...`, `<server>`) in everything `sandbox.run` hands
back; the worker's log keeps the full text of platform faults for the staff.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from .contract import RunRequest
from .settings import SandboxSettings

_PATH_CHARS = r"""[^\s"'()<>:,;]"""
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"{_PATH_CHARS}*/(?:site|dist)-packages/"), "site-packages/"),
    (re.compile(rf"{_PATH_CHARS}*/mlchallenge-run-[^/\s\"']+/(job|out|tmp)\b"), r"/\1"),
    (re.compile(rf"{_PATH_CHARS}*/mlchallenge-runner-[^/\s\"']+/"), "/runner/"),
    (re.compile(rf"{_PATH_CHARS}*/lib/(python3\.\d+)/"), r"\1/"),
)
"""Package folders, run and runner folders, and standard libraries, wherever they are."""
KEPT = frozenset({"/", "/usr", "/bin", "/lib", "/lib64", "/sbin", "/tmp", "/etc", "/dev", "/proc"})
"""Folders every system has: never rewritten (the jail shows them too)."""
SERVER = "<server>"


class Redactor:
    """Rewrites host paths in a text; the longest known folder first."""

    def __init__(self, folders: Iterable[str]) -> None:
        kept = sorted({f.rstrip("/") for f in folders if f and f.rstrip("/") not in KEPT}, key=len)
        self.folders = [
            re.compile(rf"{re.escape(folder)}(?=/|\b|$)") for folder in reversed(kept) if folder
        ]

    def __call__(self, text: str) -> str:
        """`text` without host paths."""
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        for folder in self.folders:
            text = folder.sub(SERVER, text)
        return text


def redactor_for(request: RunRequest, settings: SandboxSettings, work_dir: Path | None) -> Redactor:
    """The redactor of one run: its data, upload and work folders, the worker's Python and home."""
    folders: list[Path | None] = [
        request.model_path.parent,
        request.features_path.parent,
        request.train_path.parent if request.train_path is not None else None,
        work_dir,
        settings.work_root,
        settings.lock_dir,
        settings.python.parent if settings.python is not None else None,
        Path(__file__).resolve().parent.parent,
        Path.home(),
        *(Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}),
    ]
    return Redactor(str(Path(f).resolve()) for f in folders if f is not None)

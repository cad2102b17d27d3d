"""The ML sandbox: runs a participant's model in isolation and measures it.

The lowest layer of the platform: it imports nothing of `challenge`, `mlfo` or `leaderboards`, and
its enums (formats, tasks, outcomes, KPIs) are the ones every other layer uses. The public names
below load their module on first use, so that `from sandbox import TaskKind` stays cheap for the
scorer, the API and the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import Kpi, Limits, Outcome, RunRequest, RunResult
    from .formats import FORMATS, FormatSpec, get_format
    from .jail.protocol import SubmissionFormat, TaskKind
    from .runs import available_backends, parse_predictions, run
    from .validate import OutputInvalid

_EXPORTS: dict[str, str] = {
    "FORMATS": "sandbox.formats",
    "FormatSpec": "sandbox.formats",
    "Kpi": "sandbox.contract",
    "Limits": "sandbox.contract",
    "Outcome": "sandbox.contract",
    "RunRequest": "sandbox.contract",
    "RunResult": "sandbox.contract",
    "SubmissionFormat": "sandbox.jail.protocol",
    "TaskKind": "sandbox.jail.protocol",
    "available_backends": "sandbox.runs",
    "get_format": "sandbox.formats",
    "OutputInvalid": "sandbox.validate",
    "parse_predictions": "sandbox.runs",
    "run": "sandbox.runs",
}

__all__ = [
    "FORMATS",
    "FormatSpec",
    "Kpi",
    "Limits",
    "Outcome",
    "OutputInvalid",
    "RunRequest",
    "RunResult",
    "SubmissionFormat",
    "TaskKind",
    "available_backends",
    "get_format",
    "parse_predictions",
    "run",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

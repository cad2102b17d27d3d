"""The ML sandbox: runs a participant's model in isolation and measures it."""

from .contract import Limits, Outcome, RunRequest, RunResult
from .jail.protocol import SubmissionFormat
from .runs import available_backends, run

__all__ = [
    "Limits",
    "Outcome",
    "RunRequest",
    "RunResult",
    "SubmissionFormat",
    "available_backends",
    "run",
]

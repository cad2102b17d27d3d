"""The ML sandbox: runs a participant's model in isolation and measures it."""

from .contract import Limits, Outcome, RunRequest, RunResult
from .jail.protocol import SubmissionFormat
from .runs import available_backends, run
from .validate import OutputInvalid, parse_predictions

__all__ = [
    "Limits",
    "Outcome",
    "OutputInvalid",
    "RunRequest",
    "RunResult",
    "SubmissionFormat",
    "available_backends",
    "parse_predictions",
    "run",
]

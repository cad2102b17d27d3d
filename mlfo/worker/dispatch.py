"""Sending evaluation tasks (only ever after the submission row is committed)."""

from __future__ import annotations

from challenge.config import Settings
from challenge.submissions.models import Submission, SubmissionStatus
from mlfo.worker.leases import LeasedRows

TASK_NAME = "mlfo.evaluate_submission"
SUBMISSIONS = LeasedRows(Submission, SubmissionStatus.QUEUED, SubmissionStatus.RUNNING, TASK_NAME)
"""Submissions as leased work: claimed by a worker, taken back by the reaper."""


def dispatch(
    settings: Settings, submission_id: int, queue: str = "cpu", *, countdown: float | None = None
) -> bool:
    """Send the task for a committed submission; False (logged) when the broker is unreachable."""
    return SUBMISSIONS.send(settings, submission_id, queue, countdown=countdown)

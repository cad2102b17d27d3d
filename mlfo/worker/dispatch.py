"""Sending evaluation tasks (only ever after the submission row is committed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.submissions import lifecycle
from challenge.submissions.models import Submission, SubmissionStatus
from mlfo.intent import Intent
from mlfo.placement import queue_for
from mlfo.worker.leases import LeasedRows, register

TASK_NAME = "mlfo.evaluate_submission"


def _lost(submission: Submission, max_attempts: int, now: datetime) -> dict[str, Any]:
    return lifecycle.platform_fault(
        attempts=submission.attempts,
        max_attempts=max_attempts,
        cause="the worker evaluating it was lost",
        now=now,
    )


def _queues(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Submission.id, Competition.intent)
        .join(Competition, Competition.id == Submission.competition_id)
        .where(Submission.id.in_(ids))
    ).all()
    return {sid: queue_for(Intent.model_validate(intent)) for sid, intent in rows}


SUBMISSIONS = register(
    LeasedRows(
        Submission,
        SubmissionStatus.QUEUED,
        SubmissionStatus.RUNNING,
        TASK_NAME,
        lost=_lost,
        queues=_queues,
    )
)
"""Submissions as leased work: claimed by a worker, taken back by the reaper."""


def dispatch(
    settings: Settings, submission_id: int, queue: str = "cpu", *, countdown: float | None = None
) -> bool:
    """Send the task for a committed submission; False (logged) when the broker is unreachable."""
    return SUBMISSIONS.send(settings, submission_id, queue, countdown=countdown)

"""Sending evaluation tasks (only ever after the submission row is committed)."""

from __future__ import annotations

import logging

from sqlalchemy import update

from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.submissions.models import Submission

log = logging.getLogger(__name__)
TASK_NAME = "mlfo.evaluate_submission"


def dispatch(
    settings: Settings, submission_id: int, queue: str = "cpu", *, countdown: float | None = None
) -> bool:
    """Send the task for a committed submission; False (logged) when the broker is unreachable."""
    from mlfo.celery_app import celery_for

    try:
        celery_for(settings).send_task(
            TASK_NAME, args=[submission_id], queue=queue, countdown=countdown
        )
    except Exception:  # the broker is down: the reaper sends it once it is back
        log.warning(
            "could not send submission %s to the broker; the reaper will",
            submission_id,
            exc_info=True,
        )
        return False
    with transaction(settings.database_url) as session:
        session.execute(
            update(Submission).where(Submission.id == submission_id).values(dispatched_at=utcnow())
        )
    return True

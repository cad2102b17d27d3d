"""Celery task of judging: a reproduction runs in a worker, like an evaluation."""

from __future__ import annotations

import logging

from challenge.config import get_settings
from challenge.judging import leases, reproduction
from mlfo.worker.celery_app import app
from mlfo.worker.tasks import worker_name

log = logging.getLogger(__name__)


@app.task(name=leases.TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def reproduce(reproduction_id: int) -> str:
    """Run one reproduction; a second delivery finds it claimed (or done) and does nothing."""
    outcome = reproduction.run(get_settings(), int(reproduction_id), worker=worker_name())
    log.info("reproduction %s: %s", reproduction_id, outcome)
    return outcome

"""Celery tasks of the MLFO: one idempotent task per submission."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from celery import Task
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from challenge.config import get_settings
from challenge.observability.logs import bind_submission
from mlfo.worker.celery_app import app
from mlfo.worker.execution import run_evaluation
from mlfo.worker.reaper import ReaperThread

log = logging.getLogger(__name__)
_reaper: ReaperThread | None = None


def worker_name() -> str:
    """This process's name as a worker (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@app.task(
    bind=True,
    name="mlfo.evaluate_submission",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def evaluate_submission(self: Task, submission_id: int) -> str:
    """Evaluate one submission; safe to run twice (the claim makes the second a no-op)."""
    outcome = run_evaluation(get_settings(), int(submission_id), worker=worker_name())
    log.info("submission %s: %s", submission_id, outcome)
    return outcome


@task_prerun.connect
def _name_the_submission(task: Any = None, args: tuple[Any, ...] = (), **_: Any) -> None:
    """Every log line of this evaluation, Celery's included, carries the submission id."""
    if getattr(task, "name", None) == evaluate_submission.name and args:
        bind_submission(int(args[0]))


@task_postrun.connect
def _forget_the_submission(**_: Any) -> None:
    bind_submission(None)


@app.task(
    name="mlfo.draw_diagnostics",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=600,
)
def draw_diagnostics(
    submission_id: int, attempt: str, run_id: str | None, labels_sha256: str
) -> str:
    """Draw the diagnostics plot of a recorded evaluation (low priority; safe to run twice)."""
    from mlfo.worker.plots import draw

    outcome = draw(get_settings(), int(submission_id), str(attempt), run_id, str(labels_sha256))
    log.info("plot of submission %s (%s): %s", submission_id, attempt, outcome)
    return outcome


@worker_init.connect
def _preload(sender: Any = None, **_: Any) -> None:
    """Import the heavy libraries once in the parent, so that forked children start warm."""
    import challenge.scoring  # noqa: F401
    import mlfo.pipeline  # noqa: F401
    from mlfo.tracking import prepare_store

    try:
        prepare_store(get_settings().mlflow_tracking_uri)
    except Exception:  # tracking is optional for scoring; the sink reports it per run
        log.warning("could not prepare the MLflow store", exc_info=True)


@worker_process_init.connect
def _fresh_connections(sender: Any = None, **_: Any) -> None:
    """A forked child must not reuse the parent's database connections (nor hold its port)."""
    from challenge.db.session import dispose_engines
    from challenge.observability.exposition import close_inherited

    dispose_engines()
    close_inherited()


@worker_ready.connect
def _start_reaper(sender: Any = None, **_: Any) -> None:
    global _reaper
    queues = ",".join(sorted(q.name for q in app.amqp.queues.consume_from.values())) or "cpu"
    _reaper = ReaperThread(get_settings(), worker_name=worker_name(), queues=queues)
    _reaper.start()


@worker_shutdown.connect
def _stop_reaper(sender: Any = None, **_: Any) -> None:
    if _reaper is not None:
        _reaper.stop()

"""The reaper: re-queues submissions and reproductions whose worker died, and re-sends tasks the
broker never got."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit, transaction
from challenge.judging import leases as reproduction_leases
from challenge.observability import metrics
from challenge.submissions.models import FailureReason, Submission, SubmissionStatus
from mlfo.dispatch import SUBMISSIONS, dispatch
from mlfo.intent import Intent
from mlfo.placement import queue_for
from mlfo.workers import beat

log = logging.getLogger(__name__)


@dataclass
class ReapReport:
    """What one pass did: submission ids, and what it did to reproductions."""

    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    reproductions: reproduction_leases.Reaped = field(default_factory=reproduction_leases.Reaped)


def reap(session: Session, *, settings: Settings) -> ReapReport:
    """One pass over submissions, then reproductions: expired leases re-queued (or failed past
    the retry limit); unsent tasks sent."""
    now = utcnow()
    report = _reap_submissions(session, settings=settings, now=now)
    report.reproductions = reproduction_leases.reap(session, settings=settings, now=now)
    return report


def _reap_submissions(session: Session, *, settings: Settings, now: datetime) -> ReapReport:
    report = ReapReport()
    for submission in SUBMISSIONS.expired(session, now):
        gave_up = submission.attempts >= settings.max_attempts
        values = _failed(submission.attempts, now) if gave_up else SUBMISSIONS.requeued()
        if SUBMISSIONS.take_back(session, submission, now, values):
            (report.failed if gave_up else report.requeued).append(submission.id)
    waiting = SUBMISSIONS.unsent(session, now, limit=500)
    ids = sorted(set(waiting) | set(report.requeued))
    queues = _queues(session, ids)
    for submission_id in ids:
        report.resent.append(submission_id)
        queue = queues.get(submission_id, "cpu")
        after_commit(session, partial(dispatch, settings, submission_id, queue))
    return report


def _failed(attempts: int, now: datetime) -> dict[str, object]:
    return {
        "status": SubmissionStatus.FAILED,
        "failure_reason": FailureReason.INFRASTRUCTURE_ERROR,
        "counts_toward_quota": False,
        "error": (
            f"the worker evaluating this submission was lost {attempts} times; "
            "it does not count toward your limits, please submit again"
        ),
        "finished_at": now,
        "lease_expires_at": None,
    }


def _queues(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Submission.id, Competition.intent)
        .join(Competition, Competition.id == Submission.competition_id)
        .where(Submission.id.in_(ids))
    ).all()
    return {sid: queue_for(Intent.model_validate(intent)) for sid, intent in rows}


def observe(report: ReapReport) -> None:
    """Count a committed pass's actions (and the submissions it failed) in the metrics."""
    lost = report.reproductions
    for kind, action, ids in (
        ("submission", "requeued", report.requeued),
        ("submission", "failed", report.failed),
        ("submission", "resent", report.resent),
        ("reproduction", "requeued", lost.requeued),
        ("reproduction", "failed", lost.failed),
        ("reproduction", "resent", lost.resent),
    ):
        metrics.count_reaper(kind, action, len(ids))
    for _ in report.failed:
        metrics.count_outcome(FailureReason.INFRASTRUCTURE_ERROR)


class ReaperThread(threading.Thread):
    """Runs `reap` and the worker heartbeat every few seconds inside a worker process."""

    def __init__(self, settings: Settings, *, worker_name: str, queues: str) -> None:
        super().__init__(name="reaper", daemon=True)
        self._settings = settings
        self._worker_name = worker_name
        self._queues = queues
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Ask the thread to end after its current pass."""
        self._stop_event.set()

    def run(self) -> None:
        """Loop until stopped; errors are logged and the next pass tries again."""
        while not self._stop_event.is_set():
            try:
                with transaction(self._settings.database_url) as session:
                    beat(session, name=self._worker_name, queues=self._queues)
                    report = reap(session, settings=self._settings)
                observe(report)
                if report.requeued or report.failed:
                    log.warning("reaper: re-queued %s, failed %s", report.requeued, report.failed)
                lost = report.reproductions
                if lost.requeued or lost.failed:
                    log.warning(
                        "reaper: re-queued reproductions %s, failed %s", lost.requeued, lost.failed
                    )
            except Exception:  # keep reaping whatever happens in one pass
                log.exception("reaper pass failed")
            self._stop_event.wait(self._settings.reaper_interval_s)

"""The reaper: takes back leased work (submissions, and every kind registered with
`mlfo.worker.leases.register`, such as judging's reproductions) whose worker died, and re-sends
tasks the broker never got."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session

from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.notifications.events import phase_changes
from challenge.observability import metrics
from mlfo.worker.dispatch import SUBMISSIONS
from mlfo.worker.leases import LeasedRows, Reaped, registered
from mlfo.worker.presence import beat
from sandbox import Outcome

log = logging.getLogger(__name__)


class ReapReport(dict[str, Reaped]):
    """What one pass did, per kind of leased work (keyed by task name)."""

    def of(self, rows: LeasedRows) -> Reaped:
        """What the pass did to one kind of leased work."""
        return self.get(rows.task_name) or Reaped()


def reap(session: Session, *, settings: Settings) -> ReapReport:
    """One pass over every kind of leased work registered (submissions first): expired leases
    re-queued (or failed past the retry limit); unsent tasks sent."""
    now = utcnow()
    kinds = [SUBMISSIONS, *(rows for rows in registered() if rows is not SUBMISSIONS)]
    return ReapReport(
        {rows.task_name: rows.reap(session, settings=settings, now=now) for rows in kinds}
    )


def observe(report: ReapReport) -> None:
    """Count a committed pass's actions (and the submissions it failed) in the metrics."""
    kinds = {rows.task_name: rows.kind for rows in registered()}
    for task, reaped in report.items():
        kind = kinds.get(task, task)
        for action, ids in (
            ("requeued", reaped.requeued),
            ("failed", reaped.failed),
            ("resent", reaped.resent),
        ):
            metrics.count_reaper(kind, action, len(ids))
    for _ in report.of(SUBMISSIONS).failed:
        metrics.count_outcome(Outcome.INFRASTRUCTURE_ERROR)


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
                with transaction(self._settings.database_url) as session:
                    phase_changes(session, settings=self._settings)
                for task, reaped in report.items():
                    if reaped.requeued or reaped.failed:
                        log.warning(
                            "reaper: %s re-queued %s, failed %s",
                            task,
                            reaped.requeued,
                            reaped.failed,
                        )
            except Exception:  # keep reaping whatever happens in one pass
                log.exception("reaper pass failed")
            self._stop_event.wait(self._settings.reaper_interval_s)

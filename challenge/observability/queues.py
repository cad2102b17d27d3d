"""Queue gauges read from the database at scrape time (the database, not the broker, knows what
waits: a task delayed for a retry or lost by the broker is still a queued row)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.judging.models import Reproduction, ReproductionStatus
from challenge.observability.metrics import DATABASE_UP, QUEUE_GAUGES, QUEUES
from challenge.submissions.models import Submission, SubmissionStatus
from mlfo.intent import Intent
from mlfo.placement import queue_for
from mlfo.worker.presence import served_queues

log = logging.getLogger(__name__)

GAUGES = QUEUE_GAUGES
"""The gauges this collector yields, by name, with their help text."""


class QueueCollector(Collector):
    """Depth, oldest-waiting age, running count and live workers per queue, from the database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def describe(self) -> Iterable[Any]:
        """The families this collector yields (without querying the database)."""
        for name, help_text in GAUGES.items():
            yield GaugeMetricFamily(name, help_text, labels=["queue"])
        yield GaugeMetricFamily(DATABASE_UP, "1 when the api could read the database")

    def collect(self) -> Iterator[Any]:
        """Query the database; on failure report it down and no queue figures."""
        try:
            with transaction(self.database_url) as session:
                figures = queue_figures(session)
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: cannot read the queues from the database: %s", exc)
            yield GaugeMetricFamily(DATABASE_UP, "1 when the api could read the database", 0)
            return
        yield GaugeMetricFamily(DATABASE_UP, "1 when the api could read the database", 1)
        for name, help_text in GAUGES.items():
            family = GaugeMetricFamily(name, help_text, labels=["queue"])
            for queue, values in sorted(figures.items()):
                family.add_metric([queue], values[name])
            yield family


def queue_figures(session: Session) -> dict[str, dict[str, float]]:
    """Per queue: depth, oldest age in seconds, running count and live workers."""
    now = utcnow()
    workers = served_queues(session)
    queues = {q: dict.fromkeys(GAUGES, 0.0) for q in (*QUEUES, *workers)}
    for queue, count in workers.items():
        queues[queue]["mlchallenge_queue_workers"] = float(count)
    rows: list[tuple[int, bool, int, Any]] = []
    for model, queued, running in (
        (Submission, SubmissionStatus.QUEUED, SubmissionStatus.RUNNING),
        (Reproduction, ReproductionStatus.QUEUED, ReproductionStatus.RUNNING),
    ):
        waiting_since = func.coalesce(model.dispatched_at, model.created_at)
        rows += [
            (competition_id, status == queued, count, oldest)
            for competition_id, status, count, oldest in session.execute(
                select(model.competition_id, model.status, func.count(), func.min(waiting_since))
                .where(model.status.in_([queued, running]))
                .group_by(model.competition_id, model.status)
            )
        ]
    placement = _placements(session, {row[0] for row in rows})
    for competition_id, waiting, count, oldest in rows:
        figures = queues.setdefault(
            placement.get(competition_id, "cpu"), dict.fromkeys(GAUGES, 0.0)
        )
        if not waiting:
            figures["mlchallenge_queue_running"] += count
            continue
        figures["mlchallenge_queue_depth"] += count
        key = "mlchallenge_queue_oldest_age_seconds"
        figures[key] = max(figures[key], _age(now, oldest))
    return queues


def _placements(session: Session, ids: set[int]) -> dict[int, str]:
    """The queue of each competition (read from its intent)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Competition.id, Competition.intent).where(Competition.id.in_(ids))
    )
    return {
        competition_id: queue_for(Intent.model_validate(intent)) for competition_id, intent in rows
    }


def _age(now: datetime, since: Any) -> float:
    """Seconds since `since` (SQLite returns an aggregate over a coalesce as naive text)."""
    if since is None:
        return 0.0
    if isinstance(since, str):
        since = datetime.fromisoformat(since)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return max((now - since).total_seconds(), 0.0)

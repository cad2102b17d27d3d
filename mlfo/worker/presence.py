"""Worker presence: each worker process records a heartbeat row; health reads the live ones."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from challenge.db.base import Base, utcnow
from challenge.db.session import transaction

STALE_AFTER = timedelta(seconds=60)


class WorkerHeartbeat(Base):
    """The last sign of life of a worker process."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    queues: Mapped[str] = mapped_column(String(200), default="cpu")
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


def beat(session: Session, *, name: str, queues: str) -> None:
    """Record that the worker `name` is alive."""
    row = session.get(WorkerHeartbeat, name)
    if row is None:
        session.add(WorkerHeartbeat(name=name, queues=queues, last_seen=utcnow()))
    else:
        row.last_seen = utcnow()
        row.queues = queues
    session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < utcnow() - 10 * STALE_AFTER)
    )


def live_workers(database_url: str) -> list[str]:
    """Names of workers seen within the last minute."""
    with transaction(database_url) as session:
        return list(
            session.scalars(
                select(WorkerHeartbeat.name).where(
                    WorkerHeartbeat.last_seen > utcnow() - STALE_AFTER
                )
            )
        )


def served_queues(session: Session) -> dict[str, int]:
    """How many live workers serve each queue (a queue no live worker serves is absent)."""
    counts: dict[str, int] = {}
    rows = session.scalars(
        select(WorkerHeartbeat.queues).where(WorkerHeartbeat.last_seen > utcnow() - STALE_AFTER)
    )
    for queues in rows:
        for queue in filter(None, queues.split(",")):
            counts[queue] = counts.get(queue, 0) + 1
    return counts


def waiting_note(session: Session, queue: str) -> str:
    """Why a queued submission may wait long: no live worker serves its queue ('' otherwise)."""
    if served_queues(session).get(queue):
        return ""
    return (
        f"no worker is serving the '{queue}' queue right now: the evaluation starts when one "
        f"does (mlchallenge worker --queues {queue})"
    )

"""Leases on queued work (submissions, reproductions): one worker claims a row, its heartbeat renews
the lease, the reaper takes the row back when the worker is lost, and re-sends what the broker lost.

A leased model has the columns `id`, `status`, `attempts`, `claim_token`, `worker`,
`lease_expires_at`, `dispatched_at`, `started_at` and `created_at`. Each kind of leased work is
registered here (`register`) by the package that owns it; the reaper reaps whatever is registered
and knows none of them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit, transaction

log = logging.getLogger(__name__)
UNSENT_GRACE = timedelta(seconds=5)
"""A queued row never sent this long after its creation: its send failed (broker down)."""
LOST_MESSAGE_AFTER = timedelta(minutes=15)
"""A queued row sent this long ago and still not claimed: the broker lost the message."""


LostValues = Callable[[Any, int, datetime], dict[str, Any]]
"""(expired row, max attempts, now) -> the values it takes: queued again, or failed for good."""
Queues = Callable[[Session, list[int]], dict[int, str]]
"""The queue of each row id."""


@dataclass
class Reaped:
    """What one reaper pass did to one kind of leased work (row ids)."""

    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class LeasedRows:
    """The rows of one model that workers lease, with its queued and running statuses, what a
    row whose worker was lost becomes, and the queue each row is sent to."""

    model: type[Any]
    queued: StrEnum
    running: StrEnum
    task_name: str
    lost: LostValues
    queues: Queues
    after_failed: Callable[[Session, int], None] | None = None
    """Called in the reaper's transaction for each row failed for good."""
    unsent_limit: int = 500

    @property
    def kind(self) -> str:
        """The kind of work, for logs and metrics: `submission`, `reproduction`."""
        return str(self.model.__tablename__).removesuffix("s")

    def claim(self, session: Session, row_id: int, *, worker: str, lease_s: float) -> str | None:
        """Move a queued row to running for `worker`; its claim token, or None if not queued."""
        model, token, now = self.model, uuid.uuid4().hex, utcnow()
        claimed = session.execute(
            update(model)
            .where(model.id == row_id, model.status == self.queued)
            .values(
                status=self.running,
                claim_token=token,
                worker=worker[:200],
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=model.attempts + 1,
                started_at=now,
            )
        )
        return token if claimed.rowcount == 1 else None  # type: ignore[attr-defined]

    def renew(self, session: Session, row_id: int, token: str, *, lease_s: float) -> bool:
        """Extend the lease if the claim is still ours (the row stays locked until the commit)."""
        model = self.model
        renewed = session.execute(
            update(model)
            .where(model.id == row_id, model.claim_token == token, model.status == self.running)
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        )
        return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]

    def expired(self, session: Session, now: datetime) -> Sequence[Any]:
        """Running rows whose lease has expired: their worker was lost."""
        model = self.model
        return session.scalars(
            select(model).where(model.status == self.running, model.lease_expires_at < now)
        ).all()

    def take_back(self, session: Session, row: Any, now: datetime, values: dict[str, Any]) -> bool:
        """Apply `values` to an expired row, unless its worker renewed or another reaper won."""
        model = self.model
        changed = session.execute(
            update(model)
            .where(
                model.id == row.id,
                model.status == self.running,
                model.claim_token == row.claim_token,
                model.lease_expires_at < now,
            )
            .values(**values)
        )
        return bool(changed.rowcount == 1)  # type: ignore[attr-defined]

    def requeued(self) -> dict[str, Any]:
        """The values that put a taken-back row on its queue again."""
        return {
            "status": self.queued,
            "claim_token": None,
            "lease_expires_at": None,
            "dispatched_at": None,
        }

    def reap(self, session: Session, *, settings: Settings, now: datetime) -> Reaped:
        """Take back the expired rows (queued again, or failed past the retry limit), then send
        the queued rows whose task the broker never got or lost (after the commit)."""
        reaped = Reaped()
        lost_since: datetime | None = None
        for row in self.expired(session, now):
            values = self.lost(row, settings.max_attempts, now)
            expiry = row.lease_expires_at  # read before the update refreshes the row
            if not self.take_back(session, row, now, values):
                continue
            lost_since = expiry if lost_since is None else max(lost_since, expiry)
            if values["status"] == self.queued:
                reaped.requeued.append(row.id)
                continue
            if self.after_failed is not None:
                self.after_failed(session, row.id)
            reaped.failed.append(row.id)
        wanted = set(self.unsent(session, now, limit=self.unsent_limit)) | set(reaped.requeued)
        if lost_since is not None:
            wanted |= set(self.sent_before(session, lost_since, limit=self.unsent_limit))
        ids = sorted(wanted)
        queues = self.queues(session, ids)
        for row_id in ids:
            reaped.resent.append(row_id)
            after_commit(session, partial(self.send, settings, row_id, queues.get(row_id, "cpu")))
        return reaped

    def unsent(self, session: Session, now: datetime, *, limit: int) -> list[int]:
        """Queued rows whose task the broker never got, or lost."""
        model = self.model
        never_sent = model.dispatched_at.is_(None) & (model.created_at < now - UNSENT_GRACE)
        lost = model.dispatched_at < now - LOST_MESSAGE_AFTER
        return list(
            session.scalars(
                select(model.id)
                .where(model.status == self.queued, never_sent | lost)
                .order_by(model.id)
                .limit(limit)
            )
        )

    def sent_before(self, session: Session, moment: datetime, *, limit: int) -> list[int]:
        """Queued rows sent before a worker was lost: it may have taken their messages with it.

        A worker holds the messages it has received until it acknowledges them (late acks), and
        one killed with -9 leaves them unacknowledged in the broker, which gives them back only
        after its visibility timeout (an hour on Redis). Sending these rows again costs one
        duplicate message each, which the claim turns into a no-op; it happens once per lost
        worker, not on every pass.
        """
        model = self.model
        return list(
            session.scalars(
                select(model.id)
                .where(model.status == self.queued, model.dispatched_at <= moment)
                .order_by(model.id)
                .limit(limit)
            )
        )

    def _mark_unsent(self, settings: Settings, row_id: int) -> None:
        """A send that failed leaves the row "never sent", so the next reaper pass sends it.

        A re-send (after a lost worker) that meets a broker that is down must not leave the row
        with its earlier `dispatched_at`: that message may be gone, and nothing else would send
        the row again before `LOST_MESSAGE_AFTER`.
        """
        model = self.model
        try:
            with transaction(settings.database_url) as session:
                session.execute(
                    update(model)
                    .where(model.id == row_id, model.status == self.queued)
                    .values(dispatched_at=None)
                )
        except Exception:  # the database is down as well: the row is sent when both are back
            log.warning("could not mark %s %s unsent", self.model.__name__, row_id, exc_info=True)

    def send(
        self, settings: Settings, row_id: int, queue: str, *, countdown: float | None = None
    ) -> bool:
        """Send the row's task (after its commit); False, logged, when the broker is down."""
        from mlfo.worker.celery_app import celery_for

        try:
            celery_for(settings).send_task(
                self.task_name, args=[row_id], queue=queue, countdown=countdown
            )
        except Exception:  # the broker is down: the reaper sends it once it is back
            log.warning(
                "could not send %s %s to the broker; the reaper will",
                self.model.__name__,
                row_id,
                exc_info=True,
            )
            self._mark_unsent(settings, row_id)
            return False
        with transaction(settings.database_url) as session:
            model = self.model
            session.execute(update(model).where(model.id == row_id).values(dispatched_at=utcnow()))
        return True


_REGISTERED: dict[str, LeasedRows] = {}


def register(rows: LeasedRows) -> LeasedRows:
    """Make a kind of leased work known to the reaper (once per task name)."""
    known = _REGISTERED.setdefault(rows.task_name, rows)
    if known is not rows:
        raise ValueError(f"leased work {rows.task_name!r} is already registered")
    return rows


def registered() -> list[LeasedRows]:
    """Every kind of leased work, in the order registered."""
    return list(_REGISTERED.values())

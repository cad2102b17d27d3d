"""Leases on queued work (submissions, reproductions): one worker claims a row, its heartbeat renews
the lease, the reaper takes the row back when the worker is lost, and re-sends what the broker lost.

A leased model has the columns `id`, `status`, `attempts`, `claim_token`, `worker`,
`lease_expires_at`, `dispatched_at`, `started_at` and `created_at`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import transaction

log = logging.getLogger(__name__)
UNSENT_GRACE = timedelta(seconds=5)
"""A queued row never sent this long after its creation: its send failed (broker down)."""
LOST_MESSAGE_AFTER = timedelta(minutes=15)
"""A queued row sent this long ago and still not claimed: the broker lost the message."""


@dataclass(frozen=True)
class LeasedRows:
    """The rows of one model that workers lease, with its queued and running statuses."""

    model: type[Any]
    queued: StrEnum
    running: StrEnum
    task_name: str

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
            return False
        with transaction(settings.database_url) as session:
            model = self.model
            session.execute(update(model).where(model.id == row_id).values(dispatched_at=utcnow()))
        return True

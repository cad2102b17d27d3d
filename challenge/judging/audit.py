"""The judges' audit log: who did what to a competition, a team or a submission, and why."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.judging.models import AuditEvent


def record(
    session: Session, *, competition_id: int, actor: User, action: str, target: str, reason: str
) -> AuditEvent:
    """Append one event to the audit log."""
    event = AuditEvent(
        competition_id=competition_id,
        actor_id=actor.id,
        action=action,
        target=target,
        reason=reason,
    )
    session.add(event)
    session.flush()
    return event


def get_all(session: Session, *, competition_id: int, limit: int = 1000) -> list[AuditEvent]:
    """A competition's audit events, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.competition_id == competition_id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
            .limit(limit)
        )
    )

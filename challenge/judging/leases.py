"""A reproduction never gets stuck: its task is sent after the commit, a worker holds it by a lease
renewed by heartbeat, and the reaper re-queues it when that worker is lost (as for submissions)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit, transaction
from challenge.judging.models import (
    Reproduction,
    ReproductionResult,
    ReproductionStatus,
    ResultStatus,
)
from challenge.submissions.service import queue_of
from mlfo.heartbeat import LeaseHeartbeat

log = logging.getLogger(__name__)
TASK_NAME = "judging.reproduce"


def send(settings: Settings, reproduction_id: int, queue: str) -> bool:
    """Send the reproduction task; False (logged) when the broker is unreachable."""
    from mlfo.celery_app import celery_for

    try:
        celery_for(settings).send_task(TASK_NAME, args=[reproduction_id], queue=queue)
    except Exception:  # the broker is down: the reaper sends it once it is back
        log.warning(
            "could not send reproduction %s to the broker; the reaper will",
            reproduction_id,
            exc_info=True,
        )
        return False
    with transaction(settings.database_url) as session:
        session.execute(
            update(Reproduction)
            .where(Reproduction.id == reproduction_id)
            .values(dispatched_at=utcnow())
        )
    return True


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running reproduction."""

    reproduction_id: int
    token: str


def claim(session: Session, *, reproduction_id: int, worker: str, lease_s: float) -> Claim | None:
    """Move a queued reproduction to running for this worker; None if it is not queued any more."""
    token = uuid.uuid4().hex
    now = utcnow()
    claimed = session.execute(
        update(Reproduction)
        .where(
            Reproduction.id == reproduction_id,
            Reproduction.status == ReproductionStatus.QUEUED,
        )
        .values(
            status=ReproductionStatus.RUNNING,
            claim_token=token,
            worker=worker[:200],
            lease_expires_at=now + timedelta(seconds=lease_s),
            attempts=Reproduction.attempts + 1,
            started_at=now,
        )
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return Claim(reproduction_id=reproduction_id, token=token)


def renew(session: Session, *, held: Claim, lease_s: float) -> bool:
    """Extend the lease if the claim is still ours; the row stays locked until the commit, so a
    write made in the same transaction can never race the reaper."""
    renewed = session.execute(
        update(Reproduction)
        .where(
            Reproduction.id == held.reproduction_id,
            Reproduction.claim_token == held.token,
            Reproduction.status == ReproductionStatus.RUNNING,
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
    )
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def heartbeat(settings: Settings, held: Claim) -> LeaseHeartbeat:
    """A heartbeat that renews the claim's lease while the reproduction runs."""

    def renew_lease(session: Session) -> tuple[bool, bool]:
        return renew(session, held=held, lease_s=settings.lease_seconds), False

    return LeaseHeartbeat(settings, renew_lease, label=f"reproduction {held.reproduction_id}")


@dataclass
class Reaped:
    """What one reaper pass did to reproductions."""

    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)


def reap(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    unsent_before: datetime,
    lost_before: datetime,
) -> Reaped:
    """Re-queue reproductions whose lease expired (fail them past the retry limit), and send
    queued ones the broker never got: created before `unsent_before` and never sent, or sent
    before `lost_before`."""
    reaped = Reaped()
    expired = session.scalars(
        select(Reproduction).where(
            Reproduction.status == ReproductionStatus.RUNNING,
            Reproduction.lease_expires_at < now,
        )
    ).all()
    for reproduction in expired:
        gave_up = reproduction.attempts >= settings.max_attempts
        changed = session.execute(
            update(Reproduction)
            .where(
                Reproduction.id == reproduction.id,
                Reproduction.status == ReproductionStatus.RUNNING,
                Reproduction.claim_token == reproduction.claim_token,
                Reproduction.lease_expires_at < now,  # not renewed in the meantime
            )
            .values(**(_failed(reproduction.attempts, now) if gave_up else _requeued()))
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        if gave_up:
            _fail_pending_results(session, reproduction.id)
            reaped.failed.append(reproduction.id)
        else:
            reaped.requeued.append(reproduction.id)
    waiting = session.scalars(
        select(Reproduction.id)
        .where(
            Reproduction.status == ReproductionStatus.QUEUED,
            (
                (Reproduction.dispatched_at.is_(None) & (Reproduction.created_at < unsent_before))
                | (Reproduction.dispatched_at < lost_before)
            ),
        )
        .limit(100)
    ).all()
    ids = sorted(set(waiting) | set(reaped.requeued))
    queues = _queues(session, ids)
    for reproduction_id in ids:
        reaped.resent.append(reproduction_id)
        after_commit(session, partial(send, settings, reproduction_id, queues[reproduction_id]))
    return reaped


def _requeued() -> dict[str, object]:
    return {
        "status": ReproductionStatus.QUEUED,
        "claim_token": None,
        "lease_expires_at": None,
        "dispatched_at": None,
    }


def _failed(attempts: int, now: datetime) -> dict[str, object]:
    return {
        "status": ReproductionStatus.FAILED,
        "error": (
            f"the worker running this reproduction was lost {attempts} times; "
            "request a new reproduction"
        ),
        "finished_at": now,
        "lease_expires_at": None,
    }


def _fail_pending_results(session: Session, reproduction_id: int) -> None:
    session.execute(
        update(ReproductionResult)
        .where(
            ReproductionResult.reproduction_id == reproduction_id,
            ReproductionResult.status == ResultStatus.PENDING,
        )
        .values(status=ResultStatus.FAILED, message="not run: the reproduction failed")
    )


def _queues(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Reproduction.id, Competition)
        .join(Competition, Competition.id == Reproduction.competition_id)
        .where(Reproduction.id.in_(ids))
    ).all()
    return {reproduction_id: queue_of(competition) for reproduction_id, competition in rows}

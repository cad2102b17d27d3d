"""A reproduction never gets stuck: its task is sent after the commit, a worker holds it by a lease
renewed by heartbeat, and the reaper re-queues it when that worker is lost (as for submissions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.judging.models import (
    Reproduction,
    ReproductionResult,
    ReproductionStatus,
    ResultStatus,
)
from challenge.submissions.service import queue_of
from mlfo.worker.heartbeat import LeaseHeartbeat
from mlfo.worker.leases import LeasedRows, register

TASK_NAME = "judging.reproduce"


def _lost(reproduction: Reproduction, max_attempts: int, now: datetime) -> dict[str, object]:
    """A reproduction whose worker was lost: queued again, or failed past the retry limit."""
    if reproduction.attempts < max_attempts:
        return REPRODUCTIONS.requeued()
    return {
        "status": ReproductionStatus.FAILED,
        "error": (
            f"the worker running this reproduction was lost {reproduction.attempts} times; "
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


REPRODUCTIONS = register(
    LeasedRows(
        Reproduction,
        ReproductionStatus.QUEUED,
        ReproductionStatus.RUNNING,
        TASK_NAME,
        lost=_lost,
        queues=_queues,
        after_failed=_fail_pending_results,
        unsent_limit=100,
    )
)
"""Reproductions as leased work: claimed by a worker, taken back by the reaper."""


def send(settings: Settings, reproduction_id: int, queue: str) -> bool:
    """Send the reproduction task; False (logged) when the broker is unreachable."""
    return REPRODUCTIONS.send(settings, reproduction_id, queue)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running reproduction."""

    reproduction_id: int
    token: str


def claim(session: Session, *, reproduction_id: int, worker: str, lease_s: float) -> Claim | None:
    """Move a queued reproduction to running for this worker; None if it is not queued any more."""
    token = REPRODUCTIONS.claim(session, reproduction_id, worker=worker, lease_s=lease_s)
    return None if token is None else Claim(reproduction_id=reproduction_id, token=token)


def renew(session: Session, *, held: Claim, lease_s: float) -> bool:
    """Extend the lease if the claim is still ours; the row stays locked until the commit, so a
    write made in the same transaction can never race the reaper."""
    return REPRODUCTIONS.renew(session, held.reproduction_id, held.token, lease_s=lease_s)


def heartbeat(settings: Settings, held: Claim) -> LeaseHeartbeat:
    """A heartbeat that renews the claim's lease while the reproduction runs."""

    def renew_lease(session: Session) -> tuple[bool, bool]:
        return renew(session, held=held, lease_s=settings.lease_seconds), False

    return LeaseHeartbeat(settings, renew_lease, label=f"reproduction {held.reproduction_id}")

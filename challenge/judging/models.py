"""The judges' tables: free-text annotations, reproductions of the top entries, the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenge.db.base import Base, utcnow


class ReproductionStatus(StrEnum):
    """Where a reproduction is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class ResultStatus(StrEnum):
    """The outcome of re-running one entry on the fresh data."""

    PENDING = "pending"
    FINISHED = "finished"
    FAILED = "failed"
    REFUSED = "refused"


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Annotation(Base):
    """A judge's note on a submission or a team (or both)."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), default=None
    )
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), default=None
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reproduction(Base):
    """A re-evaluation of the top k entries of a board on freshly simulated test data."""

    __tablename__ = "reproductions"
    __table_args__ = (Index("ix_reproductions_status_lease", "status", "lease_expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    board: Mapped[str] = mapped_column(String(16))
    top_k: Mapped[int]
    seed: Mapped[int]
    size: Mapped[int]
    status: Mapped[ReproductionStatus] = mapped_column(
        _enum(ReproductionStatus), default=ReproductionStatus.QUEUED
    )
    error: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str | None] = mapped_column(String(64), default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)

    results: Mapped[list[ReproductionResult]] = relationship(
        back_populates="reproduction",
        cascade="all, delete-orphan",
        order_by="ReproductionResult.position",
    )


class ReproductionResult(Base):
    """One entry of a reproduction: its original rank and score, and those on the fresh data."""

    __tablename__ = "reproduction_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    reproduction_id: Mapped[int] = mapped_column(
        ForeignKey("reproductions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    original_rank: Mapped[int | None] = mapped_column(default=None)
    original_score: Mapped[float | None] = mapped_column(default=None)
    status: Mapped[ResultStatus] = mapped_column(_enum(ResultStatus), default=ResultStatus.PENDING)
    message: Mapped[str] = mapped_column(Text, default="")
    reproduced_rank: Mapped[int | None] = mapped_column(default=None)
    reproduced_score: Mapped[float | None] = mapped_column(default=None)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)

    reproduction: Mapped[Reproduction] = relationship(back_populates="results")


class AuditEvent(Base):
    """Who did what to a competition, a team or a submission, and why."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

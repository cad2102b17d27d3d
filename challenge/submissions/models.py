"""Submissions and their life cycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from challenge.db.base import Base, utcnow
from sandbox import Outcome


class SubmissionStatus(StrEnum):
    """Where a submission is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True once the submission will not change any more (unless re-scored)."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {SubmissionStatus.FINISHED, SubmissionStatus.FAILED, SubmissionStatus.CANCELLED}
)
PENDING_STATUSES = frozenset({SubmissionStatus.QUEUED, SubmissionStatus.RUNNING})


FailureReason = Outcome
"""Why a submission failed: an `Outcome` other than `ok` (the one list, defined by the sandbox)."""


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Submission(Base):
    """One uploaded model (or predictions) of a team, and the outcome of its evaluation."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_team_created", "team_id", "created_at"),
        Index("ix_submissions_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    format: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    fact_sheet: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Answers to the competition's fact-sheet questions (`submissions/fact_sheet.py`)."""
    file_name: Mapped[str] = mapped_column(String(255))
    file_path: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    status: Mapped[SubmissionStatus] = mapped_column(
        _enum(SubmissionStatus), default=SubmissionStatus.QUEUED
    )
    failure_reason: Mapped[FailureReason | None] = mapped_column(_enum(FailureReason), default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    logs: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    intervals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kpis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    public_score: Mapped[float | None] = mapped_column(default=None)
    private_score: Mapped[float | None] = mapped_column(default=None)
    valid: Mapped[bool] = mapped_column(default=True)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    score_version: Mapped[int] = mapped_column(default=0)
    counts_toward_quota: Mapped[bool] = mapped_column(default=True)
    is_baseline: Mapped[bool] = mapped_column(default=False)
    selected_final: Mapped[bool] = mapped_column(default=False)
    method: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """EvalAI-style description: {"name", "description", "url", "public"}; on the board when
    `public` and the reader asks for methods."""
    flagged: Mapped[bool] = mapped_column(default=False)
    disqualified_reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    rescore_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    """Set while a judge's re-run is pending; recorded in the next ScoreRecord, then cleared."""
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str | None] = mapped_column(String(64), default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ScoreRecord(Base):
    """A versioned evaluation result: re-scoring adds a record, never overwrites one silently."""

    __tablename__ = "score_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="initial")
    status: Mapped[str] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kpis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    public_score: Mapped[float | None] = mapped_column(default=None)
    private_score: Mapped[float | None] = mapped_column(default=None)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    data_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

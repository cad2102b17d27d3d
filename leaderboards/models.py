"""Leaderboard entries (kept up to date incrementally), score history and snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from challenge.db.base import Base, utcnow


class LeaderboardEntry(Base):
    """The submission that counts for one team on one board of one phase."""

    __tablename__ = "leaderboard_entries"
    __table_args__ = (
        UniqueConstraint("phase_id", "board", "team_id"),
        Index("ix_leaderboard_entries_board", "phase_id", "board", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    board: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), default=None
    )
    score: Mapped[float | None] = mapped_column(default=None)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    interval_low: Mapped[float | None] = mapped_column(default=None)
    interval_high: Mapped[float | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    is_baseline: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreHistory(Base):
    """A team's best score over time on a board (one row each time it improves)."""

    __tablename__ = "score_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    board: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    score: Mapped[float]
    submission_id: Mapped[int | None] = mapped_column(default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LeaderboardSnapshot(Base):
    """A frozen board, stored when a phase is finalized (or a reproduction is run)."""

    __tablename__ = "leaderboard_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    board: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32), default="final")
    rows: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

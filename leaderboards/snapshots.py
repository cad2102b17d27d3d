"""Frozen boards: stored when a phase is finalized, read back for the final standings and export."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.competitions.models import Phase
from leaderboards.models import LeaderboardSnapshot
from leaderboards.service import Board

FINAL = "final"


def store(
    session: Session, *, phase: Phase, board: Board, kind: str = FINAL
) -> LeaderboardSnapshot:
    """Freeze a ranked board as a snapshot row."""
    snapshot = LeaderboardSnapshot(
        phase_id=phase.id,
        board=board.board,
        kind=kind,
        rows={
            "phase": board.phase,
            "metric": board.metric,
            "greater_is_better": board.greater_is_better,
            "rows": board.rows,
        },
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def latest(
    session: Session, *, phase: Phase, board: str, kind: str = FINAL
) -> LeaderboardSnapshot | None:
    """The newest snapshot of a board of this kind, if any."""
    return session.scalar(
        select(LeaderboardSnapshot)
        .where(
            LeaderboardSnapshot.phase_id == phase.id,
            LeaderboardSnapshot.board == board,
            LeaderboardSnapshot.kind == kind,
        )
        .order_by(LeaderboardSnapshot.created_at.desc(), LeaderboardSnapshot.id.desc())
        .limit(1)
    )


def as_board(snapshot: LeaderboardSnapshot) -> Board:
    """A snapshot read back as a Board."""
    data = snapshot.rows
    rows = list(data.get("rows", []))
    return Board(
        board=snapshot.board,
        phase=str(data.get("phase", "")),
        metric=str(data.get("metric", "")),
        greater_is_better=bool(data.get("greater_is_better", True)),
        finalized=True,
        rows=rows,
        total=len(rows),
    )

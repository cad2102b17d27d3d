"""Reading boards: ranked rows from the stored entries (no recomputation from submissions)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import is_staff
from challenge.errors import BadRequest, Forbidden
from challenge.teams.models import Team
from leaderboards.entries import BOARDS, greater_is_better
from leaderboards.models import LeaderboardEntry, ScoreHistory
from mlfo.intent import Intent
from mlfo.programs import Board as ProgramBoard


@dataclass(frozen=True)
class Board:
    """A ranked board of one phase (`rows` is one page of `total`)."""

    board: str
    phase: str
    metric: str
    greater_is_better: bool
    finalized: bool
    rows: list[dict[str, Any]]
    total: int
    columns: list[dict[str, Any]] = field(default_factory=list)
    """A program-scored board's visible columns: key, title, sorting, format."""
    interval_note: str | None = None
    """"no interval" where the scorer is not decomposable (a program's score)."""


CACHE_SIZE = 64
_RANKED: LRUCache[tuple[str, int, str], tuple[tuple[Any, ...], list[dict[str, Any]]]] = LRUCache(
    maxsize=CACHE_SIZE
)
"""Ranked rows per (database, phase, board) with the fingerprint of the entries they came from."""
_RANKED_LOCK = threading.Lock()
"""Requests read and fill the cache from several threads (LRUCache is not thread-safe)."""


def can_see_private(user: User | None, competition: Competition, phase: Phase) -> bool:
    """The competition's staff always; everyone once the phase is finalized."""
    return phase.finalized_at is not None or is_staff(user, competition)


def get_board(
    session: Session,
    *,
    competition: Competition,
    phase: Phase,
    board: str,
    user: User | None,
    offset: int = 0,
    limit: int | None = None,
    methods: bool = False,
) -> Board:
    """The ranked rows of a board, as the caller may see them (a page of them with `limit`);
    with `methods`, each row carries the method its team made public (else None)."""
    if board not in BOARDS:
        raise BadRequest(f"board must be one of {', '.join(BOARDS)}; got {board!r}")
    if board == "private" and not can_see_private(user, competition, phase):
        raise Forbidden(
            "the private leaderboard is shown to hosts and judges until the phase is finalized"
        )
    intent = Intent.model_validate(competition.intent)
    higher = greater_is_better(intent, board)
    layout = intent.programs.board(board) if intent.programs is not None else None
    if layout is not None and layout.mode != "column":
        higher = layout.mode == "weighted"
    ranked = _ranked_rows(session, phase=phase, board=board, higher=higher, layout=layout)
    end = None if limit is None else offset + limit
    metric = "cost" if intent.ranking.by == "cost" else intent.primary_metric.name
    columns: list[dict[str, Any]] = []
    rows = ranked[offset:end]
    if layout is not None:
        metric = layout.rank_by if layout.mode == "column" else layout.mode
        columns = [c.model_dump(exclude={"hidden"}) for c in layout.columns if not c.hidden]
        hidden = {c.key for c in layout.columns if c.hidden}
        if hidden:
            rows = [
                {**r, "scores": {k: v for k, v in r["scores"].items() if k not in hidden}}
                for r in rows
            ]
    return Board(
        board=board,
        phase=phase.name,
        metric=metric,
        greater_is_better=higher,
        finalized=phase.finalized_at is not None,
        rows=_with_methods(session, rows) if methods else rows,
        total=len(ranked),
        columns=columns,
        interval_note="no interval" if layout is not None else None,
    )


def _with_methods(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the rows with `method`: the public method of each row's submission, or None."""
    from challenge.submissions.models import Submission

    ids = [row["submission_id"] for row in rows if row["submission_id"] is not None]
    found: dict[int, dict[str, Any] | None] = {
        sid: method
        for sid, method in session.execute(
            select(Submission.id, Submission.method).where(Submission.id.in_(ids))
        )
    }
    shown = []
    for row in rows:
        method = found.get(row["submission_id"])
        public = method if method and method.get("public") else None
        shown.append({**row, "method": public})
    return shown


def _ranked_rows(
    session: Session, *, phase: Phase, board: str, higher: bool, layout: ProgramBoard | None = None
) -> list[dict[str, Any]]:
    """Ranked rows, recomputed only when the board's entries have changed since the last call.

    `layout`: a board of a competition scored by programs (tie-breakers, combined modes)."""
    from leaderboards.ranking import BoardRow, combine_rows, rank_rows

    url = str(session.get_bind().engine.url)
    key = (url, phase.id, board)
    count, updated = session.execute(
        select(func.count(), func.max(LeaderboardEntry.updated_at)).where(
            LeaderboardEntry.phase_id == phase.id, LeaderboardEntry.board == board
        )
    ).one()
    fingerprint = (count, updated, higher, layout.model_dump_json() if layout else "")
    with _RANKED_LOCK:
        cached = _RANKED.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    records = session.execute(
        select(LeaderboardEntry, Team)
        .join(Team, Team.id == LeaderboardEntry.team_id)
        .where(LeaderboardEntry.phase_id == phase.id, LeaderboardEntry.board == board)
    ).all()
    rows = [
        BoardRow(
            team_id=team.id,
            team_name=team.name,
            submission_id=entry.submission_id,
            submitted_at=entry.submitted_at,
            score=entry.score,
            interval=(
                (entry.interval_low, entry.interval_high)
                if entry.interval_low is not None and entry.interval_high is not None
                else None
            ),
            is_baseline=entry.is_baseline,
            disqualified=team.disqualified_reason is not None,
            scores=entry.scores,
        )
        for entry, team in records
    ]
    ties: list[tuple[str, bool]] = []
    if layout is not None:
        ties = [(c, layout.column(c).sorting == "desc") for c in layout.tie_breakers]
        if layout.mode != "column":
            weighted = [
                (name, layout.column(name).sorting == "desc", weight)
                for name, weight in layout.weights.items()
            ]
            rows, _ = combine_rows(rows, mode=layout.mode, columns=weighted)
    ranked = [_row_json(r) for r in rank_rows(rows, greater_is_better=higher, tie_breakers=ties)]
    with _RANKED_LOCK:
        _RANKED[key] = (fingerprint, ranked)
    return ranked


def _row_json(row: Any) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "team": {"id": row.team_id, "name": row.team_name},
        "score": row.score,
        "scores": row.scores,
        "interval": list(row.interval) if row.interval else None,
        "tied_with_previous": row.tied_with_previous,
        "submission_id": row.submission_id,
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
        "is_baseline": row.is_baseline,
    }


def history(session: Session, *, phase: Phase, board: str = "public") -> list[dict[str, Any]]:
    """Each team's best score over time (one point per improvement)."""
    points = session.execute(
        select(ScoreHistory, Team.name)
        .join(Team, Team.id == ScoreHistory.team_id)
        .where(ScoreHistory.phase_id == phase.id, ScoreHistory.board == board)
        .order_by(ScoreHistory.at)
    ).all()
    return [
        {"team": name, "team_id": p.team_id, "score": p.score, "at": _iso(p.at)}
        for p, name in points
    ]


def _iso(moment: datetime) -> str:
    return moment.isoformat()

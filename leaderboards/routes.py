"""HTTP routes of leaderboards."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from challenge.api.deps import OptionalUser, SessionDep
from challenge.competitions import lifecycle
from challenge.competitions import service as competitions
from leaderboards import service

router = APIRouter(prefix="/api/v1/competitions", tags=["leaderboards"])


@router.get("/{slug}/leaderboard")
def get_leaderboard(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    board: Literal["public", "private"] = "public",
    phase: str | None = Query(default=None, max_length=64),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    limit: int = Query(default=100, ge=1, le=5_000),
    methods: bool = Query(
        default=False, description="add each row's method (name, description, code or paper URL)"
    ),
) -> dict[str, Any]:
    """The ranked board: one row per team, missing scores last, baselines unranked (paged)."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    chosen = competitions.get_phase_or_raise(competition, name=phase)
    result = service.get_board(
        session,
        competition=competition,
        phase=chosen,
        board=board,
        user=user,
        offset=offset,
        limit=limit,
        methods=methods,
    )
    return {
        "board": result.board,
        "phase": result.phase,
        "metric": result.metric,
        "greater_is_better": result.greater_is_better,
        "finalized": result.finalized,
        "total": result.total,
        "offset": offset,
        "rows": result.rows,
        "columns": result.columns,
        "interval_note": result.interval_note,
    }


@router.get("/{slug}/leaderboard/history")
def get_history(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    phase: str | None = Query(default=None, max_length=64),
) -> dict[str, Any]:
    """Each team's best public score over time."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    chosen = competitions.get_phase_or_raise(competition, name=phase)
    return {"phase": chosen.name, "points": service.history(session, phase=chosen)}

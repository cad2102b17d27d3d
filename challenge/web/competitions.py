"""Public pages: the competition list, a competition's page and its leaderboard."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from challenge.api.deps import SessionDep
from challenge.challenges import admission
from challenge.challenges import service as challenges
from challenge.competitions import lifecycle
from challenge.competitions import service as competitions
from challenge.competitions import staff as staff_rules
from challenge.competitions.schemas import competition_read, competition_summary
from challenge.db.base import utcnow
from challenge.teams import service as teams
from challenge.web.charts import best_score_chart, series_of
from challenge.web.rendering import render
from challenge.web.routing import HtmlRoute
from challenge.web.security import WebUser
from leaderboards import service as boards

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
PAGE_ROWS = 100
COMPETITIONS_PER_PAGE = 25


@router.get("/")
def index(
    request: Request,
    session: SessionDep,
    user: WebUser,
    q: str = Query(default="", max_length=100),
    page: int = Query(default=1, ge=1, le=1_000_000),
) -> Response:
    """The competitions the visitor may see, with their current phase; searchable, 25 a page."""
    shown, total = lifecycle.search_visible(
        session,
        user=user,
        query=q,
        offset=(page - 1) * COMPETITIONS_PER_PAGE,
        limit=COMPETITIONS_PER_PAGE,
    )
    return render(
        request,
        "index.html",
        user=user,
        competitions=[(c, competition_summary(c)) for c in shown],
        q=q,
        page=page,
        total=total,
        pages=max(1, -(-total // COMPETITIONS_PER_PAGE)),
    )


@router.get("/competitions/{slug}")
def competition_page(slug: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """Description, data downloads, rules, phases with time left and accepted formats."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    team = (
        None
        if user is None
        else teams.team_of(session, competition_id=competition.id, user_id=user.id)
    )
    return render(
        request,
        "competition.html",
        user=user,
        competition=competition,
        view=competition_read(competition),
        team=team,
        current=competitions.current_phase(competition),
        staff=staff_rules.is_staff(user, competition),
        manager=staff_rules.can_manage(user, competition),
        place=challenges.place_of(session, competition_id=competition.id),
        access=admission.access_of(session, competition=competition, user=user),
        admission_error=request.query_params.get("admission_error"),
    )


@router.get("/competitions/{slug}/leaderboard")
def leaderboard_page(
    slug: str,
    request: Request,
    session: SessionDep,
    user: WebUser,
    phase: str | None = Query(default=None, max_length=64),
    board: Literal["public", "private"] = "public",
    offset: int = Query(default=0, ge=0, le=1_000_000),
    methods: bool = False,
) -> Response:
    """The public board (private too for hosts and judges, or after finalization) and a chart."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    chosen = competitions.get_phase_or_raise(competition, name=phase)
    shown = boards.get_board(
        session,
        competition=competition,
        phase=chosen,
        board=board,
        user=user,
        offset=offset,
        limit=PAGE_ROWS,
        methods=methods,
    )
    private_allowed = boards.can_see_private(user, competition, chosen)
    chart = best_score_chart(
        series_of(boards.history(session, phase=chosen, board=board)),
        metric=shown.metric,
        now=utcnow(),
    )
    return render(
        request,
        "leaderboard.html",
        user=user,
        competition=competition,
        phase=chosen,
        board=shown,
        private_allowed=private_allowed,
        chart=chart,
        offset=offset,
        page_rows=PAGE_ROWS,
        show_methods=methods,
    )

"""The team page of a competition: members and invite code; create and join forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import SessionDep
from challenge.competitions import lifecycle
from challenge.competitions.models import Competition
from challenge.errors import PlatformError, ValidationFailed
from challenge.teams import service as teams
from challenge.teams.schemas import TeamCreate, TeamJoin
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    joinable = [
        t
        for t in teams.get_all(session, competition_id=competition.id)
        if not t.is_baseline and (team is None or t.id != team.id)
    ]
    return render(
        request,
        "team.html",
        user=user,
        competition=competition,
        team=team,
        joinable=joinable,
        error=error,
        status_code=status_code,
    )


def _failed(
    request: Request, session: SessionDep, user: User, competition: Competition, exc: Exception
) -> PageError:
    if isinstance(exc, ValidationError):
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        status = 422
    else:
        assert isinstance(exc, PlatformError)
        message, status = exc.message, exc.status_code
    return PageError(_page(request, session, user, competition, error=message, status_code=status))


@router.get("/competitions/{slug}/team")
def team_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The user's team (members, invite code) or the forms to create or join one."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    return _page(request, session, user, competition)


@router.post("/competitions/{slug}/team", dependencies=[CSRF])
def create_team(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    name: Annotated[str, Form(max_length=200)],
) -> Response:
    """Create a team with the user as its first member."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    try:
        body = TeamCreate(name=name.strip())
        teams.create(session, competition=competition, user=user, name=body.name)
    except (ValidationError, PlatformError) as exc:
        raise _failed(request, session, user, competition, exc) from exc
    return RedirectResponse(f"/competitions/{slug}/team", status_code=303)


@router.post("/competitions/{slug}/team/join", dependencies=[CSRF])
def join_team(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    team_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    invite_code: Annotated[str, Form(max_length=200)],
) -> Response:
    """Join a team of this competition with its invite code."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    try:
        body = TeamJoin(invite_code=invite_code.strip())
        team = teams.get_or_raise(session, team_id=team_id)
        if team.competition_id != competition.id:
            raise ValidationFailed(f"team {team_id} is not a team of {slug!r}")
        teams.join(
            session,
            team=team,
            user=user,
            invite_code=body.invite_code,
            max_size=competition.max_team_size,
        )
    except (ValidationError, PlatformError) as exc:
        raise _failed(request, session, user, competition, exc) from exc
    return RedirectResponse(f"/competitions/{slug}/team", status_code=303)


@router.post("/competitions/{slug}/team/leave", dependencies=[CSRF])
def leave_team(slug: str, session: SessionDep, user: LoggedIn) -> Response:
    """Leave the user's team."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    if team is not None:
        teams.leave(session, team=team, user=user)
    return RedirectResponse(f"/competitions/{slug}/team", status_code=303)

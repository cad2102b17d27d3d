"""The global round's page: finalists, the jury's scoring forms, the organiser's awards and
publication."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import RowId, SessionDep
from challenge.challenges import finals, rubrics, service
from challenge.challenges.models import Challenge
from challenge.competitions.models import Competition
from challenge.errors import PlatformError
from challenge.teams.models import Team
from challenge.web.criteria import criterion_scores
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    user: User,
    challenge: Challenge,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    juror = any(m.user_id == user.id for m in finals.jury(session, challenge=challenge))
    rows = []
    for finalist in finals.finalists(session, challenge=challenge):
        team = session.get(Team, finalist.team_id)
        competition = session.get(Competition, finalist.competition_id)
        assert team is not None and competition is not None
        conflict = rubrics.conflict_of(session, judge=user, team=team) if juror else None
        rows.append((finalist, team, competition, conflict))
    return render(
        request,
        "final.html",
        user=user,
        challenge=challenge,
        rows=rows,
        juror=juror,
        organiser=service.is_organiser(user, challenge),
        rubric=challenge.final_rubric,
        done=request.query_params.get("done"),
        error=error,
        status_code=status_code,
    )


@router.get("/challenges/{slug}/final")
def final_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """Finalists with their presentations; forms for the jury and the organiser."""
    return _page(request, session, user, service.get_or_raise(session, slug=slug))


@router.post("/challenges/{slug}/final/score/{finalist_id}", dependencies=[CSRF])
async def score(
    slug: str, finalist_id: RowId, request: Request, session: SessionDep, user: LoggedIn
) -> Response:
    """A juror scores a finalist: one field per criterion (`c:<name>`) and a comment."""
    challenge = service.get_or_raise(session, slug=slug)
    form = await request.form()
    try:
        values, comment = criterion_scores(form)
        finals.score(
            session,
            challenge=challenge,
            juror=user,
            finalist_id=finalist_id,
            scores=values,
            comment=comment,
        )
    except PlatformError as exc:
        page = _page(
            request, session, user, challenge, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/challenges/{slug}/final?done=scored", status_code=303)


@router.post("/challenges/{slug}/final/awards", dependencies=[CSRF])
def add_award(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    finalist_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    category: Annotated[str, Form(max_length=100)] = "",
    prize: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The organiser gives an award to a finalist."""
    challenge = service.get_or_raise(session, slug=slug)
    try:
        finals.add_award(
            session,
            challenge=challenge,
            actor=user,
            name=name.strip(),
            category=category.strip(),
            prize=prize.strip(),
            finalist_id=finalist_id,
        )
    except PlatformError as exc:
        page = _page(
            request, session, user, challenge, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/challenges/{slug}/final?done=awarded", status_code=303)


@router.post("/challenges/{slug}/final/publish", dependencies=[CSRF])
def publish(slug: str, session: SessionDep, user: LoggedIn) -> Response:
    """The organiser publishes the results and issues the certificates."""
    finals.publish(session, challenge=service.get_or_raise(session, slug=slug), actor=user)
    return RedirectResponse(f"/challenges/{slug}", status_code=303)

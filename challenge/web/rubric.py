"""Judging-beyond-the-metric pages: a team's report form, the judges' scoring page, standings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import RowId, SessionDep, SettingsDep
from challenge.api.forms import form_file, form_text, upload_form
from challenge.challenges import finals, reports, rubrics, standings
from challenge.challenges import service as challenges
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.competitions.staff import can_manage
from challenge.config import Settings
from challenge.errors import NotFound, PlatformError, ValidationFailed
from challenge.teams import service as teams
from challenge.teams.models import Team
from challenge.web.criteria import criterion_scores
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, CSRF_FIELD, LoggedIn, WebUser, check_form_token

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _report_page(
    request: Request,
    session: Session,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    return render(
        request,
        "report.html",
        user=user,
        competition=competition,
        team=team,
        report=None if team is None else reports.get(session, team=team),
        rubric=rubrics.get(session, competition=competition),
        error=error,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/report")
def report_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The team's report and code link, and the upload form."""
    return _report_page(request, session, user, competitions.get_or_raise(session, slug=slug))


@router.post("/competitions/{slug}/report")
async def upload_report(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> Response:
    """Store the team's report; errors are shown on the form."""
    competition = await run_in_threadpool(competitions.get_or_raise, session, slug=slug)
    async with upload_form(request, file_field="file") as form:
        check_form_token(request, settings, form_text(form, CSRF_FIELD, max_length=128))
        code_url = form_text(form, "code_url", max_length=500).strip()
        await run_in_threadpool(
            _store, request, session, settings, user, competition, form_file(form, "file"), code_url
        )
    return RedirectResponse(f"/competitions/{slug}/report", status_code=303)


def _store(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    competition: Competition,
    file: UploadFile | None,
    code_url: str,
) -> None:
    try:
        if file is None:
            raise ValidationFailed("choose the report (a PDF) to upload")
        reports.upload(
            session,
            settings=settings,
            competition=competition,
            user=user,
            upload=file.file,
            code_url=code_url,
        )
    except PlatformError as exc:
        page = _report_page(
            request, session, user, competition, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc


def _rubric_page(
    request: Request,
    session: Session,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    rubric = rubrics.get_or_raise(session, competition=competition)
    rows = []
    for report in reports.get_all(session, competition=competition):
        team = session.get(Team, report.team_id)
        if team is None:
            continue
        conflict = rubrics.conflict_of(session, judge=user, team=team)
        if rubrics.may_read_report(session, competition=competition, user=user, team=team):
            rows.append((team, report, conflict))
    return render(
        request,
        "rubric.html",
        user=user,
        competition=competition,
        rubric=rubric,
        rows=rows,
        judge=rubrics.is_judge(session, competition=competition, user=user),
        error=error,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/rubric")
def rubric_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The rubric, the reports the judge may read and the scoring forms."""
    return _rubric_page(request, session, user, competitions.get_or_raise(session, slug=slug))


@router.post("/competitions/{slug}/rubric/{team_id}", dependencies=[CSRF])
async def score(
    slug: str, team_id: RowId, request: Request, session: SessionDep, user: LoggedIn
) -> Response:
    """Score a report: one field per criterion (`c:<name>`) and a comment."""
    competition = competitions.get_or_raise(session, slug=slug)
    form = await request.form()
    try:
        values, comment = criterion_scores(form)
        rubrics.score(
            session,
            competition=competition,
            judge=user,
            team_id=team_id,
            scores=values,
            comment=comment,
        )
    except PlatformError as exc:
        page = _rubric_page(
            request, session, user, competition, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{slug}/rubric?done=scored", status_code=303)


@router.get("/competitions/{slug}/standings")
def standings_page(slug: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """Final standings: metric rank and rubric score with the host's weights."""
    competition = competitions.get_or_raise(session, slug=slug)
    try:
        shown = standings.compute(session, competition=competition, user=user)
    except NotFound:
        shown = None
    place = challenges.place_of(session, competition_id=competition.id)
    nominated = (
        set()
        if place is None
        else {f.team_id for f in finals.finalists(session, challenge=place.challenge)}
    )
    return render(
        request,
        "standings.html",
        user=user,
        competition=competition,
        standings=shown,
        place=place,
        nominated=nominated,
        manager=can_manage(user, competition),
    )


@router.post("/competitions/{slug}/nominate/{team_id}", dependencies=[CSRF])
def nominate(slug: str, team_id: RowId, session: SessionDep, user: LoggedIn) -> Response:
    """Nominate a team to the challenge's global round (its hosts)."""
    competition = competitions.get_or_raise(session, slug=slug)
    place = challenges.place_of(session, competition_id=competition.id)
    if place is None:
        raise NotFound(f"{slug!r} is in no challenge: there is no global round to nominate for")
    finals.nominate(
        session,
        challenge=place.challenge,
        actor=user,
        competition=competition,
        team_id=team_id,
        presentation_url="",
    )
    return RedirectResponse(f"/competitions/{slug}/standings", status_code=303)

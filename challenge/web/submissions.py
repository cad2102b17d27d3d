"""Submitting, the team's submissions with live status, and a submission's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import RowId, SessionDep, SettingsDep
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.errors import NotFound, PayloadTooLarge, PlatformError, ValidationFailed
from challenge.submissions import service as submissions
from challenge.submissions.formats import RULES
from challenge.submissions.routes import submission_read
from challenge.teams import service as teams
from challenge.web.artifacts import diagnostics_path, diagnostics_pending, mlflow_run_url
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _submit_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    chosen: str = "",
    note: str = "",
    status_code: int = 200,
) -> Response:
    formats = competition.intent["model"]["formats"]
    return render(
        request,
        "submit.html",
        user=user,
        competition=competition,
        team=teams.team_of(session, competition_id=competition.id, user_id=user.id),
        phase=competitions.current_phase(competition),
        formats=[(f, RULES[f]) for f in formats if f in RULES],
        chosen=chosen or formats[0],
        note=note,
        max_mb=min(settings.max_upload_mb, competition.intent["model"].get("max_upload_mb", 100)),
        error=error,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/submit")
def submit_page(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> Response:
    """The upload form: file, format and a note."""
    competition = competitions.get_or_raise(session, slug=slug)
    return _submit_page(request, session, settings, user, competition)


@router.post("/competitions/{slug}/submit", dependencies=[CSRF])
def submit(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    file: Annotated[UploadFile | None, File()] = None,
    format: Annotated[str, Form(max_length=32)] = "predictions",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Store and queue the upload; errors (size, format, limits) are shown on the form."""
    competition = competitions.get_or_raise(session, slug=slug)
    try:
        declared = int(request.headers.get("content-length") or 0)
        if declared > (settings.max_upload_mb + 1) * 1024**2:
            raise PayloadTooLarge(f"the upload is larger than {settings.max_upload_mb} MB")
        if file is None or not file.filename:
            raise ValidationFailed("choose a file to upload")
        created = submissions.create(
            session,
            settings=settings,
            competition=competition,
            user=user,
            upload=file.file,
            filename=file.filename,
            format=format,
            note=note,
        )
    except PlatformError as exc:
        page = _submit_page(
            request,
            session,
            settings,
            user,
            competition,
            error=exc.message,
            chosen=format,
            note=note,
            status_code=exc.status_code,
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/submissions/{created.id}", status_code=303)


@router.get("/competitions/{slug}/submissions")
def my_submissions(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The team's submissions (every submission for hosts and judges), with live status."""
    competition = competitions.get_or_raise(session, slug=slug)
    staff = submissions.is_staff(user, competition)
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    if staff:
        rows = submissions.get_all_for_competition(session, competition_id=competition.id)
    else:
        rows = [] if team is None else submissions.get_all_for_team(session, team_id=team.id)
    return render(
        request,
        "submissions.html",
        user=user,
        competition=competition,
        team=team,
        staff=staff,
        rows=[submission_read(session, s, user) for s in rows],
    )


@router.get("/submissions/{submission_id}")
def submission_page(
    submission_id: RowId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
) -> Response:
    """Status, scores with intervals, KPIs, logs, diagnostics plot and the MLflow run."""
    submission = submissions.get_visible(session, submission_id=submission_id, user=user)
    view = submission_read(session, submission, user)
    competition = competitions.get_or_raise(session, slug=view.competition)
    return render(
        request,
        "submission.html",
        user=user,
        sub=view,
        primary=competition.intent["metrics"][0]["name"],
        logs=submission.logs,
        has_plot=diagnostics_path(settings, submission.id) is not None,
        plot_pending=diagnostics_pending(settings, submission.id),
        mlflow_url=mlflow_run_url(settings, submission.mlflow_run_id),
        mlflow_ui=settings.mlflow_ui_url,
    )


@router.get("/submissions/{submission_id}/diagnostics.png")
def diagnostics(
    submission_id: RowId, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> FileResponse:
    """The diagnostics plot, for those who may see the submission."""
    submission = submissions.get_visible(session, submission_id=submission_id, user=user)
    path = diagnostics_path(settings, submission.id)
    if path is None:
        raise NotFound(f"submission {submission_id} has no diagnostics plot (yet)")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private"})

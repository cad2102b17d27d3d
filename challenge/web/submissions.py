"""Submitting, the team's submissions with live status, and a submission's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import RowId, SessionDep, SettingsDep
from challenge.api.forms import form_file, form_text, upload_form
from challenge.competitions import lifecycle
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.competitions.staff import is_staff
from challenge.config import Settings
from challenge.errors import NotFound, PlatformError, ValidationFailed
from challenge.submissions import service as submissions
from challenge.submissions.models import Submission
from challenge.submissions.schemas import METHOD_FIELDS, method_info, submission_read
from challenge.teams import service as teams
from challenge.web.artifacts import diagnostics_path, diagnostics_pending, mlflow_run_url
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF_FIELD, LoggedIn, check_form_token
from sandbox import FORMATS, SubmissionFormat
from sandbox.formats import format_of_file

SUBMISSIONS_PER_PAGE = 50
router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _inferred(filename: str, competition: Competition) -> str:
    """The format a file name implies (as `mlchallenge submit` infers it), or a message."""
    accepted = competition.intent["model"]["formats"]
    guessed = format_of_file(filename)
    if guessed is None:
        raise ValidationFailed(
            f"cannot tell the format of {filename!r} from its name; choose the format "
            f"({', '.join(accepted)})"
        )
    return str(guessed)


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
        formats=[(f, FORMATS[SubmissionFormat(f)]) for f in formats],
        chosen=chosen,
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
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    return _submit_page(request, session, settings, user, competition)


@router.post("/competitions/{slug}/submit")
async def submit(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> Response:
    """Store and queue the upload; errors (size, format, limits) are shown on the form.

    The login cookie is checked before the upload is read, the CSRF token right after.
    """
    competition = await run_in_threadpool(
        lifecycle.get_visible_or_raise, session, slug=slug, user=user
    )
    async with upload_form(request, file_field="file") as form:
        check_form_token(request, settings, form_text(form, CSRF_FIELD, max_length=128))
        fields = {
            "format": form_text(form, "format", max_length=32),
            "note": form_text(form, "note", max_length=500),
            **{name: form_text(form, name, max_length=2000) for name in METHOD_FIELDS},
        }
        created = await run_in_threadpool(
            _store, request, session, settings, user, competition, form_file(form, "file"), fields
        )
    return RedirectResponse(f"/submissions/{created.id}", status_code=303)


def _store(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    competition: Competition,
    file: UploadFile | None,
    fields: dict[str, str],
) -> Submission:
    try:
        if file is None:
            raise ValidationFailed("choose a file to upload")
        if not fields["format"]:
            fields["format"] = _inferred(file.filename or "", competition)
        return submissions.create(
            session,
            settings=settings,
            competition=competition,
            user=user,
            upload=file.file,
            filename=file.filename or "upload",
            format=fields["format"],
            note=fields["note"],
            method=method_info(fields),
        )
    except PlatformError as exc:
        page = _submit_page(
            request,
            session,
            settings,
            user,
            competition,
            error=exc.message,
            chosen=fields["format"],
            note=fields["note"],
            status_code=exc.status_code,
        )
        raise PageError(page) from exc


@router.get("/competitions/{slug}/submissions")
def my_submissions(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The team's submissions (every submission for hosts and judges), with live status, 50 a
    page, searchable by file name, note, team or id."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    staff = is_staff(user, competition)
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    rows: list[Submission] = []
    total = 0
    if staff or team is not None:
        rows, total = submissions.search(
            session,
            competition_id=competition.id,
            team_id=None if staff else team.id if team else None,
            query=q,
            offset=(page - 1) * SUBMISSIONS_PER_PAGE,
            limit=SUBMISSIONS_PER_PAGE,
        )
    return render(
        request,
        "submissions.html",
        user=user,
        competition=competition,
        team=team,
        staff=staff,
        rows=[submission_read(session, s, user) for s in rows],
        q=q,
        page=page,
        total=total,
        pages=max(1, -(-total // SUBMISSIONS_PER_PAGE)),
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
    staff = is_staff(user, competition)
    return render(
        request,
        "submission.html",
        user=user,
        sub=view,
        primary=competition.intent["metrics"][0]["name"],
        logs=submission.logs,
        has_plot=diagnostics_path(settings, submission.id) is not None,
        has_private_plot=submissions.may_see_private(session, submission=submission, user=user)
        and diagnostics_path(settings, submission.id, "private") is not None,
        mlflow_url=mlflow_run_url(settings, submission.mlflow_run_id) if staff else None,
        mlflow_ui=settings.mlflow_ui_url if staff else "",
        plot_pending=diagnostics_pending(settings, submission.id),
        member=not submission.is_baseline
        and teams.is_member(session, team_id=submission.team_id, user_id=user.id),
        final_selection=competition.final_selection,
        done={"selected": "Saved.", "cancelled": "Cancelled."}.get(
            request.query_params.get("done", "")
        ),
    )


@router.get("/submissions/{submission_id}/diagnostics.png")
def diagnostics(
    submission_id: RowId, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> FileResponse:
    """The diagnostics plot of the public rows, for those who may see the submission."""
    submission = submissions.get_visible(session, submission_id=submission_id, user=user)
    return _plot(settings, submission.id, "public")


@router.get("/submissions/{submission_id}/diagnostics-private.png")
def private_diagnostics(
    submission_id: RowId, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> FileResponse:
    """The plot of the private rows: staff, or the team once the phase is finalized."""
    submission = submissions.get_visible(session, submission_id=submission_id, user=user)
    if not submissions.may_see_private(session, submission=submission, user=user):
        raise NotFound(
            f"the private-split plot of submission {submission_id} is shown once the phase is "
            "finalized"
        )
    return _plot(settings, submission.id, "private")


def _plot(settings: SettingsDep, submission_id: int, split: str) -> FileResponse:
    path = diagnostics_path(settings, submission_id, split)
    if path is None:
        raise NotFound(f"submission {submission_id} has no {split}-split diagnostics plot (yet)")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private"})

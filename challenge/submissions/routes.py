"""HTTP routes of submissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from challenge.api.deps import CurrentUser, PageDep, RowId, SessionDep, SettingsDep
from challenge.api.downloads import attachment
from challenge.api.forms import form_file, form_text, upload_form
from challenge.competitions import lifecycle
from challenge.competitions.staff import is_staff
from challenge.errors import NotFound, ValidationFailed
from challenge.submissions import service
from challenge.submissions.models import SubmissionStatus
from challenge.submissions.schemas import (
    METHOD_FIELDS,
    SelectFinal,
    SubmissionLogs,
    SubmissionRead,
    method_info,
    submission_read,
)
from challenge.teams import service as teams

router = APIRouter(prefix="/api/v1", tags=["submissions"])


SUBMISSION_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the model or predictions file",
                        },
                        "format": {"type": "string", "default": "predictions", "maxLength": 32},
                        "note": {"type": "string", "default": "", "maxLength": 500},
                        "fact_sheet": {
                            "type": "string",
                            "description": "JSON answers to the competition's fact-sheet "
                            "questions (Codabench imports)",
                        },
                        "method_name": {"type": "string", "maxLength": 100},
                        "method_description": {"type": "string", "maxLength": 2000},
                        "method_url": {
                            "type": "string",
                            "maxLength": 500,
                            "description": "the code or paper (http:// or https://)",
                        },
                        "method_public": {
                            "type": "boolean",
                            "description": "show the method on the leaderboard",
                        },
                    },
                    "required": ["file"],
                }
            }
        },
        "required": True,
    }
}


@router.post(
    "/competitions/{slug}/submissions",
    response_model=SubmissionRead,
    status_code=201,
    openapi_extra=SUBMISSION_BODY,
)
async def create_submission(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> SubmissionRead:
    """Upload a submission (multipart `file`, `format`, `note`); a worker evaluates it.

    The caller is authenticated, and the competition found, before the upload is read.
    """
    competition = await run_in_threadpool(
        lifecycle.get_visible_or_raise, session, slug=slug, user=user
    )
    async with upload_form(request, file_field="file") as form:
        upload = form_file(form, "file")
        if upload is None:
            raise ValidationFailed(
                "the multipart field `file` (the model or predictions) is missing"
            )
        submission = await run_in_threadpool(
            service.create,
            session,
            settings=settings,
            competition=competition,
            user=user,
            upload=upload.file,
            filename=upload.filename or "upload",
            format=form_text(form, "format", default="predictions", max_length=32) or "predictions",
            note=form_text(form, "note", max_length=500),
            fact_sheet=form_text(form, "fact_sheet", max_length=16_384),
            method=method_info(
                {name: form_text(form, name, max_length=2000) for name in METHOD_FIELDS}
            ),
        )
    return await run_in_threadpool(submission_read, session, submission, user)


@router.get("/competitions/{slug}/submissions", response_model=list[SubmissionRead])
def list_submissions(
    slug: str,
    session: SessionDep,
    user: CurrentUser,
    paging: PageDep,
    response: Response,
    q: Annotated[
        str, Query(max_length=100, description="part of the file name, note or team, or an id")
    ] = "",
    status: SubmissionStatus | None = None,
) -> list[SubmissionRead]:
    """The caller's team's submissions (every submission for hosts and judges), newest first,
    one page; the `X-Total-Count` header says how many match."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    team_id: int | None = None
    if not is_staff(user, competition):
        team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
        if team is None:
            paging.headers(response, 0)
            return []
        team_id = team.id
    rows, total = service.search(
        session,
        competition_id=competition.id,
        team_id=team_id,
        query=q,
        status=status,
        offset=paging.offset,
        limit=paging.per_page,
    )
    paging.headers(response, total)
    return [submission_read(session, s, user) for s in rows]


@router.get("/submissions/{submission_id}", response_model=SubmissionRead)
def get_submission(submission_id: RowId, session: SessionDep, user: CurrentUser) -> SubmissionRead:
    """Status, scores, KPIs and provenance of a submission."""
    submission = service.get_visible(session, submission_id=submission_id, user=user)
    return submission_read(session, submission, user)


@router.get("/submissions/{submission_id}/logs", response_model=SubmissionLogs)
def get_logs(submission_id: RowId, session: SessionDep, user: CurrentUser) -> SubmissionLogs:
    """The model's captured stdout and stderr (capped)."""
    submission = service.get_visible(session, submission_id=submission_id, user=user)
    return SubmissionLogs(id=submission.id, status=submission.status, logs=submission.logs)


@router.get("/submissions/{submission_id}/scoring-logs")
def get_scoring_logs(
    submission_id: RowId, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> dict[str, object]:
    """The competition's scoring programs' full logs per attempt and task (its staff only)."""
    logs = service.scoring_logs(session, settings=settings, submission_id=submission_id, user=user)
    return {"id": submission_id, "logs": logs}


@router.get("/submissions/{submission_id}/file", response_class=FileResponse)
def download_file(submission_id: RowId, session: SessionDep, user: CurrentUser) -> FileResponse:
    """The file the team uploaded: for its members and the competition's staff (judges)."""
    path, name = service.stored_file(session, submission_id=submission_id, user=user)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers={"Content-Disposition": attachment(name), "Cache-Control": "private"},
    )


@router.post("/submissions/{submission_id}/cancel", response_model=SubmissionRead)
def cancel_submission(
    submission_id: RowId, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    """Cancel a queued submission, or stop a running one."""
    submission = service.get_visible(session, submission_id=submission_id, user=user)
    service.cancel(session, submission=submission, user=user)
    return submission_read(session, submission, user)


@router.post("/submissions/{submission_id}/select", response_model=SubmissionRead)
def select_submission(
    submission_id: RowId, body: SelectFinal, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    """Select (or unselect) a finished submission as one of the team's final choices."""
    submission = service.get_visible(session, submission_id=submission_id, user=user)
    if submission.is_baseline:
        raise NotFound(f"submission {submission_id} does not exist")
    service.select_final(session, submission=submission, user=user, selected=body.selected)
    return submission_read(session, submission, user)

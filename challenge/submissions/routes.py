"""HTTP routes of submissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.api.deps import CurrentUser, RowId, SessionDep, SettingsDep
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import is_staff
from challenge.errors import NotFound, PayloadTooLarge
from challenge.submissions import service
from challenge.submissions.models import Submission, SubmissionStatus
from challenge.submissions.schemas import SelectFinal, SubmissionLogs, SubmissionRead
from challenge.teams import service as teams
from challenge.teams.models import Team
from mlfo.workers import waiting_note

router = APIRouter(prefix="/api/v1", tags=["submissions"])


def submission_read(session: Session, submission: Submission, viewer: User) -> SubmissionRead:
    """A submission as `viewer` may see it: private scores only for staff or after finalization."""
    competition = session.get(Competition, submission.competition_id)
    phase = session.get(Phase, submission.phase_id)
    team = session.get(Team, submission.team_id)
    assert competition is not None and phase is not None and team is not None
    show_private = service.may_see_private(session, submission=submission, user=viewer)
    queue = service.queue_of(competition)
    queued = submission.status is SubmissionStatus.QUEUED
    scores = dict(submission.scores or {})
    intervals = dict(submission.intervals or {})
    if not show_private:
        scores.pop("private", None)
        intervals.pop("private", None)
    return SubmissionRead(
        id=submission.id,
        competition=competition.slug,
        phase=phase.name,
        team={"id": team.id, "name": team.name},
        format=submission.format,
        note=submission.note,
        file_name=submission.file_name,
        size_bytes=submission.size_bytes,
        sha256=submission.file_sha256,
        status=submission.status,
        failure_reason=submission.failure_reason,
        error=submission.error,
        scores=scores,
        intervals=intervals,
        kpis=submission.kpis,
        valid=submission.valid,
        mlflow_run_id=submission.mlflow_run_id,
        is_baseline=submission.is_baseline,
        selected_final=submission.selected_final,
        flagged=submission.flagged,
        disqualified_reason=submission.disqualified_reason,
        attempts=submission.attempts,
        score_version=submission.score_version,
        queue=queue,
        waiting=waiting_note(session, queue) if queued else "",
        created_at=submission.created_at,
        started_at=submission.started_at,
        finished_at=submission.finished_at,
    )


@router.post("/competitions/{slug}/submissions", response_model=SubmissionRead, status_code=201)
def create_submission(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="the model or predictions file")],
    format: Annotated[str, Form(min_length=1, max_length=32)] = "predictions",
    note: Annotated[str, Form(max_length=500)] = "",
) -> SubmissionRead:
    """Upload a submission; it is queued and evaluated by a worker."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > (settings.max_upload_mb + 1) * 1024**2:
        raise PayloadTooLarge(f"the upload is larger than {settings.max_upload_mb} MB")
    competition = competitions.get_or_raise(session, slug=slug)
    submission = service.create(
        session,
        settings=settings,
        competition=competition,
        user=user,
        upload=file.file,
        filename=file.filename or "upload",
        format=format,
        note=note,
    )
    return submission_read(session, submission, user)


@router.get("/competitions/{slug}/submissions", response_model=list[SubmissionRead])
def list_submissions(slug: str, session: SessionDep, user: CurrentUser) -> list[SubmissionRead]:
    """The caller's team's submissions (every submission for hosts and judges)."""
    competition = competitions.get_or_raise(session, slug=slug)
    if is_staff(user, competition):
        rows = service.get_all_for_competition(session, competition_id=competition.id)
    else:
        team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
        rows = [] if team is None else service.get_all_for_team(session, team_id=team.id)
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

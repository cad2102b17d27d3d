"""HTTP routes of judging: annotations, flags, disqualifications, re-runs, finalization, export."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from challenge.api.deps import CurrentUser, OptionalUser, RowId, SessionDep, SettingsDep
from challenge.api.downloads import attachment
from challenge.competitions import service as competitions
from challenge.competitions import staff
from challenge.judging import audit, finalization, reproduction, rescoring, service
from challenge.judging.schemas import (
    AnnotationCreate,
    AnnotationRead,
    AuditEventRead,
    FinalizeBody,
    FinalizeRead,
    FlagBody,
    ReasonBody,
    ReproductionCreate,
    ReproductionRead,
    RescoreBody,
    RescoreRead,
    ScoreRecordRead,
    SubmissionRescoreBody,
    TeamJudged,
    annotation_read,
    audit_read,
    finalize_read,
    reproduction_read,
    rescore_read,
    score_record_read,
    team_judged,
)
from challenge.submissions.schemas import SubmissionRead, submission_read
from leaderboards import export

router = APIRouter(prefix="/api/v1/judging", tags=["judging"])
public_router = APIRouter(prefix="/api/v1", tags=["judging"])


@router.post(
    "/submissions/{submission_id}/annotations", response_model=AnnotationRead, status_code=201
)
def annotate_submission(
    submission_id: RowId, body: AnnotationCreate, session: SessionDep, user: CurrentUser
) -> AnnotationRead:
    """Add a note to a submission (visible to judges, hosts and admins)."""
    submission = service.judged_submission(session, submission_id=submission_id, user=user)
    note = service.annotate_submission(session, submission=submission, user=user, text=body.text)
    return annotation_read(session, note)


@router.post("/teams/{team_id}/annotations", response_model=AnnotationRead, status_code=201)
def annotate_team(
    team_id: RowId, body: AnnotationCreate, session: SessionDep, user: CurrentUser
) -> AnnotationRead:
    """Add a note to a team."""
    team = service.judged_team(session, team_id=team_id, user=user)
    note = service.annotate_team(session, team=team, user=user, text=body.text)
    return annotation_read(session, note)


@router.get("/competitions/{slug}/annotations", response_model=list[AnnotationRead])
def list_annotations(
    slug: str,
    session: SessionDep,
    user: CurrentUser,
    team_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
    submission_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
) -> list[AnnotationRead]:
    """A competition's annotations, optionally of one team or one submission."""
    notes = service.get_annotations_for(
        session, slug=slug, user=user, team_id=team_id, submission_id=submission_id
    )
    return [annotation_read(session, n) for n in notes]


@router.post("/submissions/{submission_id}/flag", response_model=SubmissionRead)
def flag_submission(
    submission_id: RowId, body: FlagBody, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    """Flag a submission for review (`flagged: false` clears the flag); audited."""
    submission = service.judged_submission(session, submission_id=submission_id, user=user)
    service.flag_submission(
        session, submission=submission, user=user, flagged=body.flagged, reason=body.reason
    )
    return submission_read(session, submission, user)


@router.post("/submissions/{submission_id}/disqualify", response_model=SubmissionRead)
def disqualify_submission(
    submission_id: RowId, body: ReasonBody, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    """Stop a submission from counting on the boards; audited."""
    submission = service.judged_submission(session, submission_id=submission_id, user=user)
    service.disqualify_submission(session, submission=submission, user=user, reason=body.reason)
    return submission_read(session, submission, user)


@router.post("/submissions/{submission_id}/reinstate", response_model=SubmissionRead)
def reinstate_submission(
    submission_id: RowId, body: ReasonBody, session: SessionDep, user: CurrentUser
) -> SubmissionRead:
    """Undo a submission's disqualification; audited."""
    submission = service.judged_submission(session, submission_id=submission_id, user=user)
    service.reinstate_submission(session, submission=submission, user=user, reason=body.reason)
    return submission_read(session, submission, user)


@router.post("/teams/{team_id}/disqualify", response_model=TeamJudged)
def disqualify_team(
    team_id: RowId, body: ReasonBody, session: SessionDep, user: CurrentUser
) -> TeamJudged:
    """Remove a team from the rankings and refuse its uploads; audited."""
    team = service.judged_team(session, team_id=team_id, user=user)
    return team_judged(service.disqualify_team(session, team=team, user=user, reason=body.reason))


@router.post("/teams/{team_id}/reinstate", response_model=TeamJudged)
def reinstate_team(
    team_id: RowId, body: ReasonBody, session: SessionDep, user: CurrentUser
) -> TeamJudged:
    """Undo a team's disqualification; audited."""
    team = service.judged_team(session, team_id=team_id, user=user)
    return team_judged(service.reinstate_team(session, team=team, user=user, reason=body.reason))


@router.post("/submissions/{submission_id}/rescore", response_model=RescoreRead, status_code=202)
def rescore_submission(
    submission_id: RowId,
    body: SubmissionRescoreBody,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> RescoreRead:
    """Re-run one submission; the new result is a new version of its score history."""
    report = rescoring.rescore_submission(
        session, settings=settings, submission_id=submission_id, user=user, reason=body.reason
    )
    return rescore_read(report)


@router.post("/competitions/{slug}/rescore", response_model=RescoreRead, status_code=202)
def rescore_competition(
    slug: str, body: RescoreBody, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> RescoreRead:
    """Re-run the listed submissions, or every finished or failed one of the competition."""
    competition = competitions.get_or_raise(session, slug=slug)
    report = rescoring.rescore(
        session,
        settings=settings,
        competition=competition,
        user=user,
        reason=body.reason,
        submission_ids=body.submission_ids,
    )
    return rescore_read(report)


@router.get("/competitions/{slug}/audit", response_model=list[AuditEventRead])
def list_audit_events(slug: str, session: SessionDep, user: CurrentUser) -> list[AuditEventRead]:
    """The competition's audit log, oldest first."""
    competition = competitions.get_or_raise(session, slug=slug)
    staff.require_staff(user, competition)
    events = audit.get_all(session, competition_id=competition.id)
    return [audit_read(session, e) for e in events]


@router.post("/competitions/{slug}/finalize", response_model=FinalizeRead)
def finalize_phase(
    slug: str, body: FinalizeBody, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FinalizeRead:
    """Freeze both boards of a phase, publish the private one and close the phase; audited."""
    competition = competitions.get_or_raise(session, slug=slug)
    finalized = finalization.finalize(
        session,
        settings=settings,
        competition=competition,
        user=user,
        reason=body.reason,
        phase_name=body.phase,
        register_top=body.register_top,
    )
    return finalize_read(finalized)


@router.post("/competitions/{slug}/reproductions", response_model=ReproductionRead, status_code=202)
def create_reproduction(
    slug: str,
    body: ReproductionCreate,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> ReproductionRead:
    """Re-run the top k of a board on fresh simulated test data (in a worker)."""
    competition = competitions.get_or_raise(session, slug=slug)
    created = reproduction.create(
        session,
        settings=settings,
        competition=competition,
        user=user,
        top_k=body.top_k,
        board=body.board,
        phase_name=body.phase,
        seed=body.seed,
        size=body.size,
    )
    return reproduction_read(session, created)


@router.get("/competitions/{slug}/reproductions", response_model=list[ReproductionRead])
def list_reproductions(slug: str, session: SessionDep, user: CurrentUser) -> list[ReproductionRead]:
    """A competition's reproductions, newest first."""
    competition = competitions.get_or_raise(session, slug=slug)
    rows = reproduction.get_all(session, competition=competition, user=user)
    return [reproduction_read(session, r) for r in rows]


@router.get("/reproductions/{reproduction_id}", response_model=ReproductionRead)
def get_reproduction(
    reproduction_id: RowId, session: SessionDep, user: CurrentUser
) -> ReproductionRead:
    """A reproduction: original and reproduced rank and score of each entry, side by side."""
    found = reproduction.get_visible(session, reproduction_id=reproduction_id, user=user)
    return reproduction_read(session, found)


@public_router.get(
    "/submissions/{submission_id}/scores/history", response_model=list[ScoreRecordRead]
)
def get_score_history(
    submission_id: RowId, session: SessionDep, user: CurrentUser
) -> list[ScoreRecordRead]:
    """Every evaluation result of a submission (each re-run adds a version)."""
    records, show_private = rescoring.visible_history(
        session, submission_id=submission_id, user=user
    )
    return [score_record_read(r, show_private=show_private) for r in records]


@public_router.get(
    "/competitions/{slug}/leaderboard/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_leaderboard(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    board: Literal["public", "private"] = "public",
    format: export.ExportFormat = export.ExportFormat.CSV,
    source: export.Source = export.Source.LIVE,
    phase: str | None = Query(default=None, max_length=64),
) -> Response:
    """Download a board (live, or the final snapshot) as CSV or JSON; visibility as the board."""
    exported = export.export(
        session, slug=slug, phase_name=phase, board=board, user=user, source=source, fmt=format
    )
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": attachment(exported.file_name)},
    )

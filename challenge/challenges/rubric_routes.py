"""HTTP routes of judging beyond the metric: rubrics, judges, reports, scores, final standings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from challenge.api.deps import CurrentUser, OptionalUser, RowId, SessionDep, SettingsDep
from challenge.api.forms import form_file, form_text, upload_form
from challenge.challenges import reports, rubrics, standings
from challenge.challenges.models import Rubric
from challenge.challenges.rubric_schemas import (
    JudgeAssign,
    ReportRead,
    RubricRead,
    RubricWrite,
    ScoreRead,
    ScoreWrite,
    StandingsRead,
    report_read,
    rubric_read,
    score_read,
    standings_read,
)
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.errors import Forbidden, ValidationFailed
from challenge.teams.models import Team

router = APIRouter(prefix="/api/v1/competitions/{slug}", tags=["rubric judging"])


def _rubric(session: Session, rubric: Rubric, competition: Competition) -> RubricRead:
    names = [j.user.username for j in rubrics.judges(session, competition=competition)]
    return rubric_read(rubric, judges=names)


@router.get("/rubric", response_model=RubricRead)
def get_rubric(slug: str, session: SessionDep) -> RubricRead:
    """The rubric: criteria, weights, scale, instructions, the metric's weight, the judges."""
    competition = competitions.get_or_raise(session, slug=slug)
    return _rubric(session, rubrics.get_or_raise(session, competition=competition), competition)


@router.put("/rubric", response_model=RubricRead)
def set_rubric(slug: str, body: RubricWrite, session: SessionDep, user: CurrentUser) -> RubricRead:
    """Define or change the rubric (its hosts); audited."""
    competition = competitions.get_or_raise(session, slug=slug)
    rubric = rubrics.set_rubric(
        session,
        competition=competition,
        actor=user,
        criteria=[c.model_dump() for c in body.criteria],
        scale_min=body.scale_min,
        scale_max=body.scale_max,
        instructions=body.instructions,
        metric_weight=body.metric_weight,
    )
    return _rubric(session, rubric, competition)


@router.post("/rubric/judges", response_model=RubricRead, status_code=201)
def assign_judge(
    slug: str, body: JudgeAssign, session: SessionDep, user: CurrentUser
) -> RubricRead:
    """Assign a judge (of any organisation) to score the reports (its hosts); audited."""
    competition = competitions.get_or_raise(session, slug=slug)
    rubric = rubrics.get_or_raise(session, competition=competition)
    rubrics.assign_judge(session, competition=competition, actor=user, username=body.username)
    return _rubric(session, rubric, competition)


@router.post("/rubric/scores", response_model=ScoreRead, status_code=201)
def score_report(slug: str, body: ScoreWrite, session: SessionDep, user: CurrentUser) -> ScoreRead:
    """Score a team's report on every criterion (assigned judges without a conflict); audited."""
    competition = competitions.get_or_raise(session, slug=slug)
    row = rubrics.score(
        session,
        competition=competition,
        judge=user,
        team_id=body.team_id,
        scores=body.scores,
        comment=body.comment,
    )
    return score_read(row)


@router.get("/rubric/scores", response_model=list[ScoreRead])
def list_scores(slug: str, session: SessionDep, user: CurrentUser) -> list[ScoreRead]:
    """Every rubric score (its staff)."""
    competition = competitions.get_or_raise(session, slug=slug)
    return [score_read(r) for r in rubrics.scores_of(session, competition=competition, actor=user)]


@router.post("/report", response_model=ReportRead, status_code=201)
async def upload_report(
    slug: str, request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> ReportRead:
    """Upload the caller's team's report (multipart `file`, a PDF) and `code_url`."""
    competition = await run_in_threadpool(competitions.get_or_raise, session, slug=slug)
    async with upload_form(request, file_field="file") as form:
        upload = form_file(form, "file")
        if upload is None:
            raise ValidationFailed("the multipart field `file` (the report, a PDF) is missing")
        report = await run_in_threadpool(
            reports.upload,
            session,
            settings=settings,
            competition=competition,
            user=user,
            upload=upload.file,
            code_url=form_text(form, "code_url", max_length=500).strip(),
        )
    return report_read(report, slug=slug)


@router.get("/reports", response_model=list[ReportRead])
def list_reports(slug: str, session: SessionDep, user: CurrentUser) -> list[ReportRead]:
    """The reports a caller may read: every one for staff, those without a conflict for judges."""
    competition = competitions.get_or_raise(session, slug=slug)
    visible = []
    for report in reports.get_all(session, competition=competition):
        team = session.get(Team, report.team_id)
        if team is not None and rubrics.may_read_report(
            session, competition=competition, user=user, team=team
        ):
            visible.append(report_read(report, slug=slug))
    return visible


@router.get("/reports/{team_id}/pdf", response_class=FileResponse)
def download_report(
    slug: str, team_id: RowId, session: SessionDep, user: CurrentUser
) -> FileResponse:
    """A team's report PDF (its members, staff, assigned judges without a conflict)."""
    competition = competitions.get_or_raise(session, slug=slug)
    report = reports.get_or_raise(session, competition=competition, team_id=team_id)
    team = session.get(Team, team_id)
    if team is None or not rubrics.may_read_report(
        session, competition=competition, user=user, team=team
    ):
        raise Forbidden("this report is for its team, the staff and judges without a conflict")
    return FileResponse(report.file_path, media_type="application/pdf", filename="report.pdf")


@router.get("/standings", response_model=StandingsRead)
def get_standings(slug: str, session: SessionDep, user: OptionalUser) -> StandingsRead:
    """Final standings: the metric rank and the rubric score with the host's weights, every
    component shown (the private board for staff, or once finalized)."""
    competition = competitions.get_or_raise(session, slug=slug)
    return standings_read(standings.compute(session, competition=competition, user=user))

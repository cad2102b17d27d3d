"""Request and response bodies of the judging API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, Phase
from challenge.judging.finalization import Finalized
from challenge.judging.models import (
    Annotation,
    AuditEvent,
    Reproduction,
    ReproductionStatus,
    ResultStatus,
)
from challenge.judging.rescoring import RescoreReport
from challenge.submissions.models import ScoreRecord, Submission
from challenge.submissions.schemas import team_scores
from challenge.teams.models import Team

SubmissionId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Reason = Field(min_length=1, max_length=1000, description="why: kept in the audit log")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnnotationCreate(_Body):
    """A free-text note."""

    text: str = Field(min_length=1, max_length=5000)


class ReasonBody(_Body):
    """An action that needs a reason."""

    reason: str = Reason


class FlagBody(_Body):
    """Flag a submission for review, or clear the flag."""

    flagged: bool = True
    reason: str = Field(default="", max_length=1000)


class RescoreBody(_Body):
    """Re-run submissions of a competition: the listed ones, or all of them."""

    reason: str = Field(min_length=1, max_length=200, description="kept in each ScoreRecord")
    submission_ids: list[SubmissionId] | None = Field(
        default=None, min_length=1, max_length=10_000, description="default: every submission"
    )


class SubmissionRescoreBody(_Body):
    """Re-run one submission."""

    reason: str = Field(min_length=1, max_length=200, description="kept in the ScoreRecord")


class FinalizeBody(_Body):
    """Finalize a phase."""

    phase: str | None = Field(default=None, max_length=64, description="default: the latest")
    reason: str = Field(default="", max_length=1000)
    register_top: int = Field(
        default=3, ge=0, le=100, description="register the models of this many top entries"
    )


class ReproductionCreate(_Body):
    """Re-run the top k of a board on a fresh test set from the problem's simulator."""

    top_k: int = Field(default=3, ge=1, le=50)
    board: Literal["public", "private"] = "private"
    phase: str | None = Field(default=None, max_length=64, description="default: the latest")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="default: random")
    size: int | None = Field(
        default=None, ge=100, le=1_000_000, description="test rows; default: as the original"
    )


class AnnotationRead(BaseModel):
    """A judge's note."""

    id: int
    team_id: int | None
    submission_id: int | None
    author: str
    text: str
    created_at: datetime


class AuditEventRead(BaseModel):
    """One entry of the audit log."""

    id: int
    action: str
    target: str
    reason: str
    actor: str
    created_at: datetime


class TeamJudged(BaseModel):
    """A team as judges see its standing."""

    id: int
    name: str
    disqualified: bool
    disqualified_reason: str | None


class RescoreRead(BaseModel):
    """The submissions put back in the queue, and those left as they are (with why)."""

    queued: list[int]
    skipped: dict[int, str]


class ScoreRecordRead(BaseModel):
    """One version of a submission's evaluation result."""

    version: int
    reason: str
    status: str
    failure_reason: str | None
    scores: dict[str, Any]
    kpis: dict[str, Any]
    public_score: float | None
    private_score: float | None
    mlflow_run_id: str | None
    data_version: int
    created_at: datetime


class SnapshotRead(BaseModel):
    """A frozen board."""

    id: int
    board: str
    kind: str
    rows: int
    created_at: datetime


class FinalModelRead(BaseModel):
    """A final model sent to the MLflow Model Registry."""

    rank: int
    team: str
    submission_id: int | None
    mlflow_run_id: str


class FinalizeRead(BaseModel):
    """A finalized phase."""

    phase: str
    finalized_at: datetime
    snapshots: list[SnapshotRead]
    registered_models: list[FinalModelRead]


class ReproductionRow(BaseModel):
    """One entry: its original rank and score beside those on the fresh data."""

    position: int
    team: dict[str, Any]
    submission_id: int
    format: str
    original_rank: int | None
    original_score: float | None
    reproduced_rank: int | None
    reproduced_score: float | None
    status: ResultStatus
    message: str
    scores: dict[str, Any]


class ReproductionRead(BaseModel):
    """A reproduction and its side-by-side rows."""

    id: int
    competition: str
    phase: str
    board: str
    top_k: int
    seed: int
    size: int
    status: ReproductionStatus
    error: str
    attempts: int = Field(description="how many times a worker started it")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows: list[ReproductionRow]


def _username(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.username if user is not None else f"user {user_id}"


def annotation_read(session: Session, annotation: Annotation) -> AnnotationRead:
    """An annotation with its author's name."""
    return AnnotationRead(
        id=annotation.id,
        team_id=annotation.team_id,
        submission_id=annotation.submission_id,
        author=_username(session, annotation.author_id),
        text=annotation.text,
        created_at=annotation.created_at,
    )


def audit_read(session: Session, event: AuditEvent) -> AuditEventRead:
    """An audit event with its actor's name."""
    return AuditEventRead(
        id=event.id,
        action=event.action,
        target=event.target,
        reason=event.reason,
        actor=_username(session, event.actor_id),
        created_at=event.created_at,
    )


def team_judged(team: Team) -> TeamJudged:
    """A team's standing."""
    return TeamJudged(
        id=team.id,
        name=team.name,
        disqualified=team.disqualified_reason is not None,
        disqualified_reason=team.disqualified_reason,
    )


def rescore_read(report: RescoreReport) -> RescoreRead:
    """What a re-score request did."""
    return RescoreRead(queued=report.queued, skipped=report.skipped)


def score_record_read(record: ScoreRecord, *, show_private: bool) -> ScoreRecordRead:
    """A score version; private scores only where the viewer may see them."""
    scores = dict(record.scores or {})
    if not show_private:
        scores = team_scores(scores)
    return ScoreRecordRead(
        version=record.version,
        reason=record.reason,
        status=record.status,
        failure_reason=record.failure_reason,
        scores=scores,
        kpis=record.kpis,
        public_score=record.public_score,
        private_score=record.private_score if show_private else None,
        mlflow_run_id=record.mlflow_run_id,
        data_version=record.data_version,
        created_at=record.created_at,
    )


def finalize_read(finalized: Finalized) -> FinalizeRead:
    """A finalized phase, its snapshots and registered models."""
    assert finalized.phase.finalized_at is not None
    return FinalizeRead(
        phase=finalized.phase.name,
        finalized_at=finalized.phase.finalized_at,
        snapshots=[
            SnapshotRead(
                id=s.id,
                board=s.board,
                kind=s.kind,
                rows=len(s.rows.get("rows", [])),
                created_at=s.created_at,
            )
            for s in finalized.snapshots
        ],
        registered_models=[
            FinalModelRead(
                rank=m.rank, team=m.team_name, submission_id=m.submission_id, mlflow_run_id=m.run_id
            )
            for m in finalized.final_models
        ],
    )


def reproduction_read(session: Session, reproduction: Reproduction) -> ReproductionRead:
    """A reproduction with team names and formats."""
    competition = session.get(Competition, reproduction.competition_id)
    phase = session.get(Phase, reproduction.phase_id)
    assert competition is not None and phase is not None
    rows = []
    for result in reproduction.results:
        team = session.get(Team, result.team_id)
        submission = session.get(Submission, result.submission_id)
        assert team is not None and submission is not None
        rows.append(
            ReproductionRow(
                position=result.position,
                team={"id": team.id, "name": team.name},
                submission_id=result.submission_id,
                format=submission.format,
                original_rank=result.original_rank,
                original_score=result.original_score,
                reproduced_rank=result.reproduced_rank,
                reproduced_score=result.reproduced_score,
                status=result.status,
                message=result.message,
                scores=result.scores,
            )
        )
    return ReproductionRead(
        id=reproduction.id,
        competition=competition.slug,
        phase=phase.name,
        board=reproduction.board,
        top_k=reproduction.top_k,
        seed=reproduction.seed,
        size=reproduction.size,
        status=reproduction.status,
        error=reproduction.error,
        attempts=reproduction.attempts,
        created_at=reproduction.created_at,
        started_at=reproduction.started_at,
        finished_at=reproduction.finished_at,
        rows=rows,
    )

"""Response bodies of the submissions API, and a submission as a viewer may see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, Phase
from challenge.errors import ValidationFailed
from challenge.submissions import service
from challenge.submissions.models import FailureReason, Submission, SubmissionStatus
from challenge.teams.models import Team
from mlfo.worker.presence import waiting_note


def team_scores(scores: dict[str, Any]) -> dict[str, Any]:
    """Scores as a team sees them before finalization: no private split, nor its metric errors.

    Metric errors are stored as `{metric: "<split>: <message>"}`; a message about the private
    split can describe its hidden labels, so it goes with the private scores.
    """
    shown = {key: value for key, value in scores.items() if key != "private"}
    errors = shown.get("errors")
    if isinstance(errors, dict):
        public = {k: v for k, v in errors.items() if not str(v).startswith("private:")}
        if public:
            shown["errors"] = public
        else:
            shown.pop("errors")
    return shown


class MethodInfo(BaseModel):
    """How a submission was made (EvalAI style); shown on the board when `public`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)
    url: str = Field(
        default="", max_length=500, pattern=r"^(https?://\S+)?$", description="code or paper"
    )
    public: bool = False


METHOD_FIELDS = {
    "method_name": "name",
    "method_description": "description",
    "method_url": "url",
    "method_public": "public",
}
"""Upload form field -> MethodInfo field."""


def method_info(fields: dict[str, str]) -> dict[str, Any] | None:
    """The MethodInfo of an upload's form fields (None when none is given); ValidationFailed
    names the bad field."""
    given: dict[str, Any] = {
        METHOD_FIELDS[k]: v.strip() for k, v in fields.items() if k in METHOD_FIELDS
    }
    given["public"] = str(given.get("public", "")).lower() in ("1", "true", "yes", "on")
    if not any(given.get(k) for k in ("name", "description", "url")):
        return None
    try:
        return MethodInfo.model_validate(given).model_dump()
    except ValidationError as exc:
        problems = "; ".join(
            f"method_{e['loc'][0]}: "
            + ("a http:// or https:// address" if e["loc"][0] == "url" else str(e["msg"]))
            for e in exc.errors()
        )
        raise ValidationFailed(problems) from exc


class SubmissionRead(BaseModel):
    """A submission as its team, the host and the judges see it."""

    id: int
    competition: str
    phase: str
    team: dict[str, Any]
    format: str
    note: str
    fact_sheet: dict[str, Any] = {}
    file_name: str
    size_bytes: int
    sha256: str
    status: SubmissionStatus
    failure_reason: FailureReason | None
    error: str
    scores: dict[str, Any]
    intervals: dict[str, Any]
    kpis: dict[str, Any]
    valid: bool
    mlflow_run_id: str | None
    is_baseline: bool
    selected_final: bool
    method: MethodInfo | None = None
    flagged: bool
    disqualified_reason: str | None
    attempts: int
    score_version: int
    queue: str
    """The worker queue that evaluates it (the competition's resource class)."""
    waiting: str = ""
    """While queued: why it may wait long (no live worker serves its queue), else empty."""
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SubmissionLogs(BaseModel):
    """The model's captured output (capped)."""

    id: int
    status: SubmissionStatus
    logs: str


class SelectFinal(BaseModel):
    """Select or unselect a submission as final."""

    selected: bool = True


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
        scores = team_scores(scores)
        intervals.pop("private", None)
    return SubmissionRead(
        id=submission.id,
        competition=competition.slug,
        phase=phase.name,
        team={"id": team.id, "name": team.name},
        format=submission.format,
        note=submission.note,
        fact_sheet=dict(submission.fact_sheet or {}),
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
        method=MethodInfo.model_validate(submission.method) if submission.method else None,
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

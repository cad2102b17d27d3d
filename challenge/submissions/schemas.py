"""Response bodies of the submissions API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from challenge.submissions.models import FailureReason, SubmissionStatus


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


class SubmissionRead(BaseModel):
    """A submission as its team, the host and the judges see it."""

    id: int
    competition: str
    phase: str
    team: dict[str, Any]
    format: str
    note: str
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

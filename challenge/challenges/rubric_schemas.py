"""Request and response bodies of rubrics, reports, rubric scores and final standings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

URL_PATTERN = r"^https?://\S+$"


class Criterion(BaseModel):
    """One criterion of a rubric."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    weight: float = Field(gt=0, le=1000)
    description: str = Field(default="", max_length=5000)


class RubricWrite(BaseModel):
    """A problem statement's rubric and how it combines with the metric."""

    model_config = ConfigDict(extra="forbid")

    criteria: list[Criterion] = Field(min_length=1, max_length=50)
    scale_min: int = Field(default=0, ge=-1000, le=1000)
    scale_max: int = Field(default=10, ge=-1000, le=1000)
    instructions: str = Field(default="", max_length=50_000)
    metric_weight: float = Field(
        default=0.5, ge=0, le=1, description="weight of the metric rank; the rubric gets the rest"
    )


class RubricRead(RubricWrite):
    """A rubric as the API shows it."""

    rubric_weight: float
    judges: list[str]


def rubric_read(rubric: Any, *, judges: list[str]) -> RubricRead:
    """The rubric with its assigned judges."""
    return RubricRead(
        criteria=[Criterion(**c) for c in rubric.criteria["items"]],
        scale_min=rubric.scale_min,
        scale_max=rubric.scale_max,
        instructions=rubric.instructions,
        metric_weight=rubric.metric_weight,
        rubric_weight=round(1 - rubric.metric_weight, 6),
        judges=judges,
    )


class JudgeAssign(BaseModel):
    """Assign a judge to score reports."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)


class ScoreWrite(BaseModel):
    """A judge's scores of one team's report."""

    model_config = ConfigDict(extra="forbid")

    team_id: int = Field(ge=1, le=2**31 - 1)
    scores: dict[str, float] = Field(min_length=1, max_length=50)
    comment: str = Field(default="", max_length=10_000)


class ScoreRead(BaseModel):
    """A rubric score."""

    team_id: int
    judge: str
    scores: dict[str, float]
    total: float
    comment: str
    updated_at: datetime


def score_read(row: Any) -> ScoreRead:
    """A rubric score as the API shows it."""
    return ScoreRead(
        team_id=row.team_id,
        judge=row.judge.username,
        scores=row.scores,
        total=row.total,
        comment=row.comment,
        updated_at=row.updated_at,
    )


class ReportRead(BaseModel):
    """A team's report and code link."""

    team_id: int
    code_url: str
    size: int
    sha256: str
    uploaded_at: datetime
    pdf: str
    """the path that downloads the PDF"""


def report_read(report: Any, *, slug: str) -> ReportRead:
    """A report as the API shows it."""
    return ReportRead(
        team_id=report.team_id,
        code_url=report.code_url,
        size=report.size,
        sha256=report.file_sha256,
        uploaded_at=report.uploaded_at,
        pdf=f"/api/v1/competitions/{slug}/reports/{report.team_id}/pdf",
    )


class StandingRead(BaseModel):
    """One team's final standing with every component."""

    rank: int
    team_id: int
    team_name: str
    metric_rank: int | None
    metric_score: float | None
    metric_component: float
    rubric_component: float | None
    rubric_judges: int
    combined: float


class StandingsRead(BaseModel):
    """A problem statement's final standings: metric rank and rubric, weighed."""

    board: str
    phase: str
    metric: str
    metric_weight: float
    rubric_weight: float
    rows: list[StandingRead]


def standings_read(standings: Any) -> StandingsRead:
    """The standings as the API shows them."""
    return StandingsRead(
        board=standings.board,
        phase=standings.phase,
        metric=standings.metric,
        metric_weight=standings.metric_weight,
        rubric_weight=standings.rubric_weight,
        rows=[StandingRead(**vars(row)) for row in standings.rows],
    )

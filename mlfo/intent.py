"""The ML intent: a declarative, versioned description of how a competition evaluates a submission.

An intent is what ITU-T Y.3172 calls the declarative input of the MLFO. It names the data source,
the host's trusted preprocessing, the model slot (formats, limits), policies on the model's outputs,
the metrics and KPIs, the public/private split, the sinks and a placement hint. The MLFO turns it
into a pipeline SRC -> C -> PP -> M -> P -> D -> SINK (see `mlfo.pipeline`).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlfo.programs import EvaluationPrograms
from sandbox import Kpi, SubmissionFormat, TaskKind
from sandbox.contract import REFERENCE_KPIS

INTENT_VERSION = 1


class ResourceClass(StrEnum):
    """Placement hint: the Celery queue a submission's evaluation is routed to."""

    CPU = "cpu"
    GPU = "gpu"
    LARGE_MEMORY = "large-memory"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSource(_Strict):
    """SRC/C: where the test features come from and how the collector reads them."""

    name: str = "test"
    kind: Literal["table"] = "table"
    chunk_rows: int = Field(default=100_000, ge=1_000, le=10_000_000)


class Step(_Strict):
    """A trusted, host-defined step (a preprocessor or a policy), resolved through a registry."""

    kind: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class Limits(_Strict):
    """Resource limits of the model slot; the sandbox enforces them."""

    time_s: float = Field(default=120.0, gt=0, le=86_400)
    train_time_s: float = Field(default=600.0, gt=0, le=86_400)
    memory_mb: int = Field(default=2048, ge=64, le=1_048_576)
    processes: int = Field(default=64, ge=1, le=4096)
    file_size_mb: int = Field(default=256, ge=1, le=1_048_576)
    open_files: int = Field(default=256, ge=16, le=65_536)
    output_mb: int = Field(default=256, ge=1, le=1_048_576)
    log_kb: int = Field(default=256, ge=1, le=65_536)
    tmp_mb: int = Field(default=256, ge=1, le=1_048_576)


class ModelSlot(_Strict):
    """M: which submission formats are accepted and how the model runs."""

    formats: list[str] = Field(default_factory=lambda: ["predictions"], min_length=1)
    limits: Limits = Field(default_factory=Limits)
    allow_training: bool = False
    max_upload_mb: int = Field(default=100, ge=1, le=10_240)

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        known = sorted(str(f) for f in SubmissionFormat)
        unknown = [f for f in value if f not in known]
        if unknown:
            raise ValueError(f"unknown format(s) {unknown}; valid formats: {known}")
        if len(set(value)) != len(value):
            raise ValueError("formats must not repeat")
        return value


class Metric(_Strict):
    """A metric from the scoring registry (`challenge.scoring`), with its parameters."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class Split(_Strict):
    """How the hidden labels are split into a public and a private part."""

    public_fraction: float = Field(default=0.3, gt=0, lt=1)
    seed: int = 0


class Sink(_Strict):
    """SINK: where the distributor routes the outputs (plug-ins registered by name)."""

    kind: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class Placement(_Strict):
    """Where the pipeline runs."""

    resource_class: ResourceClass = ResourceClass.CPU


class CostRanking(_Strict):
    """Rank valid submissions by inference cost: sum of weight * KPI / reference (lower wins)."""

    weights: dict[Kpi, float] = Field(min_length=1)
    reference: dict[Kpi, float] = Field(default_factory=dict)
    repeats: int = Field(default=3, ge=1, le=9)
    """How many times each model is run; the timed KPIs are the medians of the runs."""

    @model_validator(mode="after")
    def _positive(self) -> CostRanking:
        for kpi, weight in self.weights.items():
            if weight <= 0:
                raise ValueError(f"weight of {kpi} must be positive")
        for kpi, ref in self.reference.items():
            if ref <= 0:
                raise ValueError(f"reference of {kpi} must be positive")
        return self


class Ranking(_Strict):
    """What orders the leaderboard: the primary metric (default) or a measured cost."""

    by: Literal["metric", "cost"] = "metric"
    cost: CostRanking | None = None

    @model_validator(mode="after")
    def _cost_needs_weights(self) -> Ranking:
        if self.by == "cost" and self.cost is None:
            raise ValueError("ranking.by is 'cost' but ranking.cost (weights) is missing")
        return self


class Intent(_Strict):
    """The whole ML intent of one competition."""

    version: Literal[1] = 1
    task: TaskKind
    id_column: str = Field(min_length=1)
    target: str = Field(min_length=1)
    classes: list[str | int] | None = None
    source: DataSource = Field(default_factory=DataSource)
    preprocessing: list[Step] = Field(default_factory=list)
    model: ModelSlot = Field(default_factory=ModelSlot)
    policies: list[Step] = Field(default_factory=list)
    metrics: list[Metric] = Field(min_length=1)
    kpis: list[Kpi] = Field(default_factory=lambda: [k for k in Kpi if k not in REFERENCE_KPIS])
    """What the sandbox measures and the platform records (the `model_*` ones when listed)."""
    split: Split = Field(default_factory=Split)
    sinks: list[Sink] = Field(
        default_factory=lambda: [Sink(kind="scorer"), Sink(kind="mlflow"), Sink(kind="leaderboard")]
    )
    placement: Placement = Field(default_factory=Placement)
    ranking: Ranking = Field(default_factory=Ranking)
    programs: EvaluationPrograms | None = None
    """The competition's own scoring (and ingestion) programs, tasks and boards (mlfo/programs.py);
    its `metrics` then name the ranking columns, not registry metrics."""

    @model_validator(mode="after")
    def _consistent(self) -> Intent:
        if self.id_column == self.target:
            raise ValueError("id_column and target must differ")
        if self.task in (TaskKind.BINARY, TaskKind.MULTICLASS) and self.classes is not None:
            if len(self.classes) < 2:
                raise ValueError("classes must list at least two classes")
            if self.task is TaskKind.BINARY and len(self.classes) != 2:
                raise ValueError("a binary task has exactly two classes")
        self._program_formats()
        return self

    def _program_formats(self) -> None:
        program_formats = {str(SubmissionFormat.CODE), str(SubmissionFormat.RESULTS)}
        wanted = set(self.model.formats) & program_formats
        if wanted and self.programs is None:
            raise ValueError(
                f"formats {sorted(wanted)} need a `programs` section (a scoring program)"
            )
        if self.programs is not None:
            if not set(self.model.formats) <= program_formats:
                raise ValueError("a competition scored by programs accepts only code and results")
            no_ingestion = [t.key for t in self.programs.tasks if t.ingestion is None]
            if str(SubmissionFormat.CODE) in self.model.formats and no_ingestion:
                raise ValueError(f"format 'code' needs an ingestion program; tasks {no_ingestion}")

    @property
    def primary_metric(self) -> Metric:
        """The metric that ranks (first in the list)."""
        return self.metrics[0]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the intent, for hosts writing one by hand."""
    return Intent.model_json_schema()


def json_schema_text() -> str:
    """The JSON Schema as indented text."""
    return json.dumps(json_schema(), indent=2, sort_keys=True)

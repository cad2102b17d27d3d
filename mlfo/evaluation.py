"""What one evaluation takes in and gives back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlfo.errors import Outcome
from mlfo.intent import Intent


@dataclass(frozen=True)
class EvaluationInput:
    """Everything a pipeline run needs; paths are local to the worker."""

    submission_id: int
    competition_slug: str
    intent: Intent
    model_path: Path
    format: str
    train_path: Path
    test_path: Path
    labels_path: Path
    """Parquet or CSV with the id column, the target and `split` (public/private)."""
    work_dir: Path
    """Scratch directory of this evaluation (exists; the pipeline writes its artifacts here)."""
    sandbox_backend: str | None = None
    sandbox_warm: bool | None = None
    """Run the model in a warm single-use jail (None: the sandbox's own setting)."""
    sandbox_fork: bool | None = None
    """Run the model through the worker's fork server (None: the sandbox's own setting)."""
    device: str = "cpu"
    should_cancel: Callable[[], bool] | None = None
    mlflow_tracking_uri: str | None = None
    """None: the mlflow sink is skipped."""
    team_name: str = ""
    phase: str = ""
    cache_dir: Path | None = None
    """Where collected feature tables are kept between evaluations (mlfo/tables.py); None: not."""
    defer_diagnostics: bool = False
    """The worker draws the diagnostics plot in a later, low-priority task (see mlfo/sinks.py)."""


@dataclass
class EvaluationResult:
    """The outcome of one evaluation: scores per split, KPIs, validity, artifacts, provenance."""

    outcome: str = Outcome.OK
    message: str = ""
    logs: str = ""
    kpis: dict[str, float] = field(default_factory=dict)
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)
    metric_errors: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    ranking_score: dict[str, float | None] = field(default_factory=dict)
    valid: bool = True
    invalid_reason: str = ""
    artifacts: dict[str, Path] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (collect, the sandbox's phases, policies, score, report, log)."""
    sandbox_kill: str | None = None
    """Why the sandbox killed the model, when it did."""
    deferred: dict[str, Path] = field(default_factory=dict)
    """Work left for after the result is recorded, by name, with its input file."""

    @property
    def ok(self) -> bool:
        """Whether the evaluation finished (scores may still be marked not valid)."""
        return self.outcome == Outcome.OK

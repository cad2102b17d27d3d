"""The public types of the sandbox: outcomes, limits, requests and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pandas as pd

from .jail.protocol import SubmissionFormat


class Kpi(StrEnum):
    """KPIs the sandbox measures from outside the jail (evaluation plug-ins in the sense of Y.3181).

    The `model_*` figures are the model's latency, CPU time and memory above its format's empty
    model; the sandbox measures them when the intent lists one of them (docs/sandbox.md#kpis).
    """

    WALL_TIME_S = "wall_time_s"
    CPU_TIME_S = "cpu_time_s"
    PEAK_MEMORY_MB = "peak_memory_mb"
    MODEL_SIZE_MB = "model_size_mb"
    LATENCY_MS_PER_1K = "latency_ms_per_1k"
    MODEL_LATENCY_MS_PER_1K = "model_latency_ms_per_1k"
    MODEL_CPU_MS_PER_1K = "model_cpu_ms_per_1k"
    MODEL_MEMORY_MB = "model_memory_mb"


REFERENCE_KPIS = frozenset(
    {Kpi.MODEL_LATENCY_MS_PER_1K, Kpi.MODEL_CPU_MS_PER_1K, Kpi.MODEL_MEMORY_MB}
)
"""KPIs that need the format's empty model measured as a reference."""

KPI_KEYS = tuple(str(kpi) for kpi in Kpi if kpi not in REFERENCE_KPIS)
"""The KPIs every run reports (a run without a reference has no `model_*` figures, never 0)."""


class Outcome(StrEnum):
    """How a run or an evaluation ended: `ok`, or why it did not (the platform's one list of
    failure reasons: the orchestrator and the submissions' `failure_reason` use this enum)."""

    OK = "ok"
    INVALID_SUBMISSION = "invalid_submission"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    MEMORY_EXCEEDED = "memory_exceeded"
    INVALID_OUTPUT = "invalid_output"
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run."""

    time_s: float = 120
    train_time_s: float = 600
    memory_mb: int = 2048
    processes: int = 64
    file_size_mb: int = 256
    open_files: int = 256
    output_mb: int = 256
    log_kb: int = 256
    tmp_mb: int = 256


@dataclass(frozen=True)
class RunRequest:
    """One model to run on one features file."""

    model_path: Path
    format: SubmissionFormat
    features_path: Path
    id_column: str
    target: str
    task: str
    classes: list[str | int] | None = None
    train_path: Path | None = None
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    timing_runs: int = 1
    """How many times a code model is run; the timed KPIs are the medians (predictions: once)."""
    reference: bool = False
    """Also measure the format's empty model and report the model's figures above it:
    `model_latency_ms_per_1k`, `model_cpu_ms_per_1k` and `model_memory_mb` (reference.py)."""


@dataclass(frozen=True)
class RunResult:
    """What happened, the validated predictions and the measured KPIs."""

    outcome: Outcome
    message: str
    predictions: pd.DataFrame | None
    logs: str
    kpis: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase, on the host's clock: stage, jail_start, load, fit, predict, validate."""
    kill_reason: str | None = None
    """Why the run was killed, when it was (see `outcome.kill_reason`)."""


def empty_kpis(model_size_mb: float = 0.0) -> dict[str, float]:
    """KPIs with every key present."""
    kpis = dict.fromkeys(KPI_KEYS, 0.0)
    kpis["model_size_mb"] = model_size_mb
    return kpis


class InfrastructureError(Exception):
    """A fault of the platform, not of the submission: no bwrap, no free slot, no runtime."""


class SubmissionRejected(Exception):
    """The upload itself is unusable (bad archive, wrong extension)."""

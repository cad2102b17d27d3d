"""The public types of the sandbox: outcomes, limits, requests and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pandas as pd

from .jail.protocol import SubmissionFormat

KPI_KEYS = ("wall_time_s", "cpu_time_s", "peak_memory_mb", "model_size_mb", "latency_ms_per_1k")


class Outcome(StrEnum):
    """How a run ended; every value except `ok` and `cancelled` is a failure reason."""

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

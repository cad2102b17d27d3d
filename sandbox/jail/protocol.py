"""The contract between the host and the in-jail runner: formats, tasks, job spec, phases.

The lowest layer of the platform: the runner imports it inside the jail, the host side of the
sandbox, the scorer and the orchestrator import its enums."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class SubmissionFormat(StrEnum):
    """What a team uploads."""

    PREDICTIONS = "predictions"
    SKLEARN = "sklearn"
    ONNX = "onnx"
    TORCHSCRIPT = "torchscript"
    MLFLOW = "mlflow"
    PYTHON = "python"
    CODE = "code"
    """A zip run by the competition's ingestion program (Codabench's code submissions)."""
    RESULTS = "results"
    """A file or zip handed as is to the competition's scoring program."""


class TaskKind(StrEnum):
    """What the model predicts (the job spec's `task`; the scorer and the intent use it too)."""

    REGRESSION = "regression"
    BINARY = "binary"
    MULTICLASS = "multiclass"
    FORECAST = "forecast"

    @property
    def is_classification(self) -> bool:
        """Binary and multiclass tasks predict classes (and may give probabilities)."""
        return self in (TaskKind.BINARY, TaskKind.MULTICLASS)


class JailStatus(StrEnum):
    """How the runner says a job ended (untrusted: the host re-checks everything)."""

    OK = "ok"
    INVALID_SUBMISSION = "invalid_submission"
    RUNTIME_ERROR = "runtime_error"
    MEMORY_EXCEEDED = "memory_exceeded"
    INVALID_OUTPUT = "invalid_output"


class Phase(StrEnum):
    """Markers the runner writes to the status pipe so the host can time each phase."""

    STARTED = "started"
    DEVICE = "device"
    """The requested device works; written before any submitted code is loaded."""
    FIT = "fit"
    PREDICT = "predict"


PREDICTIONS_FILE = "predictions.parquet"
RESULT_FILE = "result.json"
PROBA_PREFIX = "proba_"


@dataclass(frozen=True)
class JobSpec:
    """Everything the runner needs, written by the host as JSON into the read-only job folder."""

    format: str
    model_path: str
    features_path: str
    output_dir: str
    id_column: str
    target: str
    task: str
    classes: list[str | int] | None
    train_path: str | None
    device: str
    status_fd: int
    threads: int

    def dumps(self) -> str:
        """Serialise to JSON."""
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> JobSpec:
        """Parse the JSON written by `dumps`."""
        return cls(**json.loads(text))

"""What a model costs above its format's bare runtime: the empty model of each format, measured.

Most of what a small model "costs" is the runtime it shares with every model of its format: the
interpreter, pandas, the format's library (scikit-learn, onnxruntime, torch, mlflow), reading the
features and writing the predictions. To rank models on their own cost, the sandbox runs the
format's empty model (it predicts 0 for every row) in the same jail, on the same features and
limits, several times, and reports the model's host-measured figures above the median of those
runs: `model_latency_ms_per_1k`, `model_cpu_ms_per_1k` and `model_memory_mb`. References are kept
per worker process,
keyed by the content of the features file, the format, the limits, the device and the backend.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .contract import InfrastructureError, Outcome, RunRequest, RunResult
from .formats import SAMPLES_DIR
from .jail.protocol import SubmissionFormat

EMPTY_DIR = SAMPLES_DIR / "empty"
EMPTY_MODELS: dict[SubmissionFormat, str] = {
    SubmissionFormat.SKLEARN: "sklearn.joblib",
    SubmissionFormat.ONNX: "model.onnx",
    SubmissionFormat.TORCHSCRIPT: "torchscript.pt",
    SubmissionFormat.MLFLOW: "mlflow.zip",
    SubmissionFormat.PYTHON: "model.py",
}
"""Written by `python -m sandbox.samples.generate`."""
REFERENCE_RUNS = 3
TIMED_KPIS = ("wall_time_s", "cpu_time_s", "peak_memory_mb", "latency_ms_per_1k")
"""The figures that vary from run to run: repeated runs report their median."""
MODEL_KPIS = ("model_latency_ms_per_1k", "model_cpu_ms_per_1k", "model_memory_mb")
"""The figures above the reference; present only when a reference was measured."""


@dataclass(frozen=True)
class Reference:
    """Median figures of the empty model of one format."""

    latency_ms_per_1k: float
    cpu_time_s: float
    peak_memory_mb: float
    runs: int


_CACHE: dict[tuple[object, ...], Reference] = {}
_LOCK = threading.Lock()


def empty_model(fmt: SubmissionFormat) -> Path:
    """The empty model of a code format."""
    try:
        return EMPTY_DIR / EMPTY_MODELS[fmt]
    except KeyError:
        raise InfrastructureError(f"the {fmt} format has no empty model to measure") from None


def _digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _key(request: RunRequest, backend: str) -> tuple[object, ...]:
    classes = len(request.classes) if request.classes is not None else None
    return (
        request.format,
        _digest(request.features_path),
        request.task,
        classes,
        request.limits,
        request.device,
        backend,
    )


def median_kpis(results: list[RunResult]) -> dict[str, float]:
    """The first result's KPIs with every timed figure replaced by its median over the results."""
    kpis = dict(results[0].kpis)
    for name in TIMED_KPIS:
        kpis[name] = round(statistics.median(r.kpis[name] for r in results), 4)
    return kpis


def measure(
    request: RunRequest, backend: str, run_once: Callable[[RunRequest], RunResult]
) -> Reference:
    """The reference of the request's format: measured once per worker process, then reused."""
    key = _key(request, backend)
    with _LOCK:
        known = _CACHE.get(key)
    if known is not None:
        return known
    empty = replace(
        request,
        model_path=empty_model(request.format),
        train_path=None,
        timing_runs=1,
        reference=False,
    )
    results = [run_once(empty) for _ in range(REFERENCE_RUNS)]
    for result in results:
        # its zeros may not be labels of the task: only the run itself has to complete
        if result.outcome not in (Outcome.OK, Outcome.INVALID_OUTPUT) or not result.kpis.get(
            "latency_ms_per_1k"
        ):
            raise InfrastructureError(
                f"the empty {request.format} model did not run in the sandbox "
                f"({result.outcome}): {result.message}"
            )
    kpis = median_kpis(results)
    reference = Reference(
        kpis["latency_ms_per_1k"], kpis["cpu_time_s"], kpis["peak_memory_mb"], len(results)
    )
    with _LOCK:
        _CACHE[key] = reference
    return reference


def above(kpis: dict[str, float], reference: Reference, n_rows: int) -> dict[str, float]:
    """The model's own share of its latency, CPU time and memory: its figures minus the reference's
    (never below 0); time per 1,000 test rows."""
    cpu_s = max(kpis["cpu_time_s"] - reference.cpu_time_s, 0.0)
    return {
        "model_latency_ms_per_1k": round(
            max(kpis["latency_ms_per_1k"] - reference.latency_ms_per_1k, 0.0), 4
        ),
        "model_cpu_ms_per_1k": round(cpu_s * 1e6 / max(n_rows, 1), 4),
        "model_memory_mb": round(max(kpis["peak_memory_mb"] - reference.peak_memory_mb, 0.0), 2),
    }

"""M: the participant's model, run only inside the sandbox on the collected features."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from mlfo.errors import NodeFailure, Outcome
from mlfo.intent import Intent
from mlfo.registry import NodeKind, Registry
from sandbox.contract import REFERENCE_KPIS


@dataclass(frozen=True)
class ModelJob:
    """One run of a submitted model."""

    model_path: Path
    format: str
    features_path: Path
    intent: Intent
    train_path: Path | None = None
    device: str = "cpu"
    backend: str | None = None
    warm: bool | None = None
    """A warm single-use jail (None: the sandbox's `MLCHALLENGE_SANDBOX_WARM` setting)."""
    fork: bool | None = None
    """The fork server (None: the sandbox's `MLCHALLENGE_SANDBOX_FORK_SERVER` setting)."""
    should_cancel: Callable[[], bool] | None = None
    work_dir: Path | None = None


@dataclass(frozen=True)
class ModelOutput:
    """The model's predictions, its logs and the KPIs the sandbox measured."""

    predictions: pd.DataFrame
    logs: str = ""
    kpis: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per sandbox phase (for operators' metrics, never shown to teams)."""


class ModelRunner(Protocol):
    """An M implementation: raises NodeFailure when the run did not produce predictions."""

    def __call__(self, job: ModelJob) -> ModelOutput: ...


MODEL_RUNNERS: Registry[ModelRunner] = Registry(NodeKind.M)


def sandbox_runner(job: ModelJob) -> ModelOutput:
    """Run the model through `sandbox.run` with the intent's limits."""
    import sandbox
    from sandbox.contract import InfrastructureError, SubmissionRejected

    if job.format not in job.intent.model.formats:
        raise NodeFailure(
            Outcome.INVALID_SUBMISSION,
            f"format {job.format!r} is not accepted here; accepted formats: "
            f"{', '.join(job.intent.model.formats)}",
        )
    limits = job.intent.model.limits
    cost = job.intent.ranking.cost if job.intent.ranking.by == "cost" else None
    request = sandbox.RunRequest(
        model_path=job.model_path,
        format=sandbox.SubmissionFormat(job.format),
        features_path=job.features_path,
        id_column=job.intent.id_column,
        target=job.intent.target,
        task=str(job.intent.task),
        classes=list(job.intent.classes) if job.intent.classes is not None else None,
        train_path=job.train_path,
        limits=sandbox.Limits(**limits.model_dump()),
        device=job.device,
        timing_runs=cost.repeats if cost is not None else 1,
        reference=any(kpi in REFERENCE_KPIS for kpi in job.intent.kpis),
    )
    try:
        result = sandbox.run(
            request,
            backend=job.backend,
            should_cancel=job.should_cancel,
            work_dir=job.work_dir,
            warm=job.warm,
            fork=job.fork,
        )
    except InfrastructureError as exc:
        raise NodeFailure(Outcome.INFRASTRUCTURE_ERROR, f"sandbox: {exc}") from None
    except SubmissionRejected as exc:
        raise NodeFailure(Outcome.INVALID_SUBMISSION, str(exc)) from None
    kpis = {k: float(v) for k, v in result.kpis.items()}
    try:
        outcome = Outcome(str(result.outcome))
    except ValueError:
        raise NodeFailure(
            Outcome.INFRASTRUCTURE_ERROR,
            f"the sandbox returned an unknown outcome {result.outcome!r}",
        ) from None
    if outcome is not Outcome.OK or result.predictions is None:
        message = result.message or "the model produced no predictions"
        failure = outcome if outcome is not Outcome.OK else Outcome.INVALID_OUTPUT
        raise NodeFailure(
            failure,
            message,
            logs=result.logs,
            kpis=kpis,
            timings=result.timings,
            kill_reason=result.kill_reason,
        )
    return ModelOutput(result.predictions, result.logs, kpis, result.timings)


MODEL_RUNNERS.register("sandbox", sandbox_runner)

"""SINK: plug-ins that receive a finished evaluation, registered by name.

`scorer` writes the score report (scores.json, the diagnostics plot) and `mlflow` logs the run.
When the input defers the plot (the worker does), `scorer` only saves what the plot needs and the
plot is drawn after the score is recorded, by a low-priority task (mlfo/plots.py).
`leaderboard` is provided by `leaderboards/`, which registers it with `register_sink`; mlfo knows
only its name, so intents can list it before that package is loaded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.registry import Implementation, NodeKind, NoParams, Registry

log = logging.getLogger(__name__)

EXTERNAL_SINKS = frozenset({"leaderboard"})
"""Sinks whose implementation lives outside mlfo; a run skips them while unregistered."""


@dataclass
class SinkContext:
    """What a sink receives: the input, the (mutable) result, the scored predictions and labels."""

    input: EvaluationInput
    result: EvaluationResult
    predictions: pd.DataFrame | None
    labels: pd.DataFrame | None
    params: Any


SinkFunction = Callable[[SinkContext], None]

SINKS: Registry[SinkFunction] = Registry(NodeKind.SINK)


def register_sink(
    name: str, fn: SinkFunction, *, params: type[BaseModel] = NoParams, summary: str = ""
) -> Implementation[SinkFunction]:
    """Register a sink plug-in under `name` (validated now; a duplicate name is refused)."""
    return SINKS.register(name, fn, params=params, summary=summary)


class ScorerSinkParams(BaseModel):
    """Options of the score report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    diagnostics: bool = True
    horizon_column: str | None = Field(default=None, min_length=1)
    """Forecast: the column (in the labels or the test features) with each row's step ahead."""


def scorer_sink(ctx: SinkContext) -> None:
    """Write the score report (scores.json) and the diagnostics plot into the work dir."""
    result, inp = ctx.result, ctx.input
    if not result.ok:
        return
    report = {
        "submission_id": inp.submission_id,
        "scores": result.scores,
        "metric_errors": result.metric_errors,
        "intervals": {k: list(v) if v else None for k, v in result.intervals.items()},
        "ranking_score": result.ranking_score,
        "valid": result.valid,
        "invalid_reason": result.invalid_reason,
        "kpis": result.kpis,
    }
    path = inp.work_dir / "scores.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True), encoding="utf-8")
    result.artifacts["scores.json"] = path
    if ctx.params.diagnostics and ctx.predictions is not None and ctx.labels is not None:
        if inp.defer_diagnostics:
            result.deferred[DIAGNOSTICS] = _plot_input(ctx, inp.work_dir / PLOT_INPUT)
            return
        plot = draw_diagnostics(ctx)
        if plot is not None:
            result.artifacts[DIAGNOSTICS] = plot


DIAGNOSTICS = "diagnostics.png"
PLOT_INPUT = "plot_input.parquet"
"""The predictions' id and target columns, kept for a deferred plot (removed once drawn)."""


def _plot_input(ctx: SinkContext, path: Path) -> Path:
    intent = ctx.input.intent
    assert ctx.predictions is not None
    columns = ctx.predictions[[intent.id_column, intent.target]]
    columns.to_parquet(path, index=False, compression=None)  # read once, then removed
    return path


def draw_diagnostics(ctx: SinkContext) -> Path | None:
    """Draw the diagnostics plot into the work dir; None (logged) when it cannot be drawn."""
    try:
        return _diagnostics(ctx, ctx.input.work_dir / DIAGNOSTICS)
    except (ValueError, KeyError, TypeError) as exc:  # a plot never costs a score
        log.warning("no diagnostics plot for submission %s: %s", ctx.input.submission_id, exc)
        return None


def _diagnostics(ctx: SinkContext, out_path: Path) -> Path | None:
    from challenge import scoring

    intent = ctx.input.intent
    assert ctx.predictions is not None and ctx.labels is not None
    labels = ctx.labels.set_index(intent.id_column)
    columns = {"true": labels[intent.target]}
    horizon_column = ctx.params.horizon_column
    if horizon_column is not None:
        columns["horizon"] = _horizon(ctx, labels, horizon_column)
    columns["pred"] = ctx.predictions.set_index(intent.id_column)[intent.target]
    joined = pd.concat(columns, axis=1, join="inner")
    if joined.empty:
        return None
    scoring.diagnostics_plot(
        str(intent.task),
        joined["true"].to_numpy(),
        joined["pred"].to_numpy(),
        out_path,
        classes=intent.classes,
        horizon=joined["horizon"].to_numpy() if "horizon" in joined else None,
    )
    return out_path if out_path.is_file() else None


def _horizon(ctx: SinkContext, labels: pd.DataFrame, column: str) -> pd.Series:
    from mlfo.collector import read_table, table_columns

    if column in labels.columns:
        return labels[column]
    id_column, test_path = ctx.input.intent.id_column, ctx.input.test_path
    if column not in table_columns(test_path):
        raise ValueError(
            f"horizon_column {column!r} is in neither the labels nor the test features"
        )
    return read_table(test_path, [id_column, column]).set_index(id_column)[column]


def mlflow_sink(ctx: SinkContext) -> None:
    """Log the evaluation as an MLflow run (skipped when the input has no tracking URI)."""
    from mlfo import tracking

    inp = ctx.input
    if inp.mlflow_tracking_uri is None:
        return
    ctx.result.mlflow_run_id = tracking.log_evaluation(inp.mlflow_tracking_uri, inp, ctx.result)


register_sink("scorer", scorer_sink, params=ScorerSinkParams)
register_sink("mlflow", mlflow_sink)

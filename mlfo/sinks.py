"""SINK: plug-ins that receive an evaluation, registered by name; the intent's `sinks` list says
which run, in which order.

A sink runs at one of two stages:
- in the pipeline, after scoring (`SINKS`, `register_sink`): it gets a `SinkContext`. Built in:
  `scorer` writes the score report (scores.json, a diagnostics plot per split), `mlflow` logs
  the run.
- in the transaction that records the result (`COMMIT_SINKS`, `register_commit_sink`): it gets
  the database session and the submission row, so its writes commit with the result or not at
  all. The worker runs them (`mlfo.worker.commit_sinks`). `leaderboard` is one, provided by
  `leaderboards/` through the `mlchallenge.commit_sinks` entry-point group: an intent that does
  not list it keeps its results off the boards.

Entry points are read by name without being imported, so an intent can be validated where the
platform is not installed; a commit sink is loaded when the worker runs it.

When the input defers the plots (the worker does), `scorer` only saves what they need and they
are drawn after the score is recorded, by a low-priority task (`mlfo/worker/plots.py`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.registry import Implementation, NodeKind, NoParams, RegistrationError, Registry

log = logging.getLogger(__name__)


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
"""Sinks that run in the pipeline."""

CommitSink = Callable[..., None]
"""(session, submission) -> None, called by the worker in the transaction that records a result."""
COMMIT_SINKS: Registry[CommitSink] = Registry(NodeKind.SINK)
"""Sinks that run when the result is recorded (plug-ins of the entry-point group are loaded on the
first lookup of a name that is not registered)."""
COMMIT_SINK_GROUP = "mlchallenge.commit_sinks"


def register_sink(
    name: str, fn: SinkFunction, *, params: type[BaseModel] = NoParams, summary: str = ""
) -> Implementation[SinkFunction]:
    """Register a pipeline sink under `name` (validated now; a duplicate name is refused)."""
    if name in COMMIT_SINKS:
        raise RegistrationError(f"SINK implementation {name!r} is already registered")
    return SINKS.register(name, fn, params=params, summary=summary)


class ScorerSinkParams(BaseModel):
    """Options of the score report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    diagnostics: bool = True
    horizon_column: str | None = Field(default=None, min_length=1)
    """Forecast: the column (in the labels or the test features) with each row's step ahead."""


DIAGNOSTICS = {"public": "diagnostics_public.png", "private": "diagnostics_private.png"}
"""The plot of each split. Each is drawn from its own rows only: a plot of every test row next to
the public score would give away the private score (a confusion matrix, exactly)."""


def scorer_sink(ctx: SinkContext) -> None:
    """Write the score report (scores.json) and the diagnostics plots into the work dir."""
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
            result.deferred[DEFERRED_PLOTS] = _plot_input(ctx, inp.work_dir / PLOT_INPUT)
            return
        for plot in draw_diagnostics(ctx):
            result.artifacts[plot.name] = plot


DEFERRED_PLOTS = "diagnostics"
"""The name of the deferred plots in `EvaluationResult.deferred`."""
PLOT_INPUT = "plot_input.parquet"
"""The predictions' id and target columns, kept for deferred plots (removed once drawn)."""


def _plot_input(ctx: SinkContext, path: Path) -> Path:
    intent = ctx.input.intent
    assert ctx.predictions is not None
    columns = ctx.predictions[[intent.id_column, intent.target]]
    columns.to_parquet(path, index=False, compression=None)  # read once, then removed
    return path


def draw_diagnostics(ctx: SinkContext) -> list[Path]:
    """Draw the diagnostics plots (one per split) into the work dir; none (logged) when they
    cannot be drawn."""
    try:
        return _diagnostics(ctx, ctx.input.work_dir)
    except (ValueError, KeyError, TypeError) as exc:  # a plot never costs a score
        log.warning("no diagnostics plot for submission %s: %s", ctx.input.submission_id, exc)
        return []


def _diagnostics(ctx: SinkContext, work_dir: Path) -> list[Path]:
    """One plot per split, from that split's rows (labels without a split: all rows are public)."""
    intent = ctx.input.intent
    assert ctx.predictions is not None and ctx.labels is not None
    labels = ctx.labels.set_index(intent.id_column)
    columns = {"true": labels[intent.target]}
    horizon_column = ctx.params.horizon_column
    if horizon_column is not None:
        columns["horizon"] = _horizon(ctx, labels, horizon_column)
    columns["pred"] = ctx.predictions.set_index(intent.id_column)[intent.target]
    joined = pd.concat(columns, axis=1, join="inner")
    if "split" in labels.columns:
        split = labels["split"].astype(str).str.strip().str.lower().reindex(joined.index)
    else:
        split = pd.Series("public", index=joined.index)
    plots = []
    for name, file_name in DIAGNOSTICS.items():
        rows = joined[(split == name).to_numpy()]
        if not rows.empty:
            plot = _plot(ctx, rows, work_dir / file_name)
            if plot is not None:
                plots.append(plot)
    return plots


def _plot(ctx: SinkContext, joined: pd.DataFrame, out_path: Path) -> Path | None:
    from challenge import scoring

    intent = ctx.input.intent
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


def register_commit_sink(
    name: str, fn: CommitSink, *, params: type[BaseModel] = NoParams, summary: str = ""
) -> Implementation[CommitSink]:
    """Register a sink run in the transaction that records a result (a duplicate is refused)."""
    if name in SINKS:
        raise RegistrationError(f"SINK implementation {name!r} is already registered")
    return COMMIT_SINKS.register(name, fn, params=params, summary=summary)


@lru_cache(maxsize=1)
def declared_commit_sinks() -> frozenset[str]:
    """Names of the commit sinks installed as plug-ins (read from metadata, nothing imported).

    Read once per process: scanning every installed distribution's entry points cost about a
    tenth of a small evaluation's host CPU; a plug-in installed later is seen after a restart."""
    from importlib.metadata import entry_points

    return frozenset(entry.name for entry in entry_points(group=COMMIT_SINK_GROUP))


def is_commit_sink(name: str) -> bool:
    """Whether `name` is a commit sink (registered, or installed as a plug-in)."""
    return name in COMMIT_SINKS or name in declared_commit_sinks()


def sink_names() -> list[str]:
    """Every sink an intent may list, sorted."""
    return sorted({*SINKS.names(), *COMMIT_SINKS.names(), *declared_commit_sinks()})


def commit_sink(name: str) -> Implementation[CommitSink]:
    """The commit sink `name`, loading its plug-in on first use."""
    if name not in COMMIT_SINKS:
        from importlib.metadata import entry_points

        for entry in entry_points(group=COMMIT_SINK_GROUP, name=name):
            register_commit_sink(entry.name, entry.load())
    return COMMIT_SINKS.get(name)


register_sink("scorer", scorer_sink, params=ScorerSinkParams)
register_sink("mlflow", mlflow_sink)

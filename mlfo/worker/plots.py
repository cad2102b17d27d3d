"""The diagnostics plot of an evaluation, drawn after its score is recorded, at low priority.

Drawing the plot costs more CPU on the host than the rest of a small evaluation (matplotlib's
layout and PNG encoding). The worker's pipeline therefore defers it (`EvaluationInput.
defer_diagnostics`): the scorer sink keeps the predictions' id and target in the attempt folder,
and once the result is committed the worker sends `mlfo.draw_diagnostics` to the competition's
queue with the lowest priority (Redis serves it after every waiting evaluation; the embedded
broker, first in first out, after the evaluations already queued). The task draws the same plot,
from the same hidden labels, into the same attempt folder and adds it to the MLflow run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from challenge.config import Settings
from challenge.db.session import transaction
from challenge.files import objects, storage
from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.intent import Sink
from mlfo.sinks import PLOT_INPUT, SINKS, ScorerSinkParams, SinkContext
from mlfo.sinks import draw_diagnostics as draw_into

log = logging.getLogger(__name__)

TASK_NAME = "mlfo.draw_diagnostics"
PRIORITY = 9
"""The lowest priority on Redis (0 is served first); FIFO brokers ignore it."""
_ATTEMPT = re.compile(r"^attempt-\d+$")


def send(
    settings: Settings,
    *,
    submission_id: int,
    attempt: str,
    queue: str,
    run_id: str | None,
    labels_sha256: str,
) -> None:
    """Ask for the plot of a recorded evaluation (best effort: a lost message costs a plot)."""
    from mlfo.worker.celery_app import celery_for

    try:
        celery_for(settings).send_task(
            TASK_NAME,
            args=[submission_id, attempt, run_id, labels_sha256],
            queue=queue,
            priority=PRIORITY,
        )
    except Exception:
        log.warning("could not send the plot of submission %s", submission_id, exc_info=True)


def draw(
    settings: Settings, submission_id: int, attempt: str, run_id: str | None, labels_sha256: str
) -> str:
    """Draw a deferred plot; returns what happened (for logs and tests). Safe to run twice."""
    from mlfo import tables
    from mlfo.provenance import sha256_of
    from mlfo.worker.execution import plan

    if not _ATTEMPT.match(attempt):
        return "refused"
    work_dir = storage.runs_dir(settings.storage, submission_id) / attempt
    plot_input = work_dir / PLOT_INPUT
    store = objects.store_for(settings)
    if not plot_input.is_file() and store.remote and store.exists(plot_input):
        store.restore(plot_input)  # another worker ran the evaluation
    if not plot_input.is_file():  # drawn already (its input is removed once drawn), or never
        return "nothing to draw"
    with transaction(settings.database_url) as session:
        evaluation = plan(session, settings=settings, submission_id=submission_id)
    if store.remote:  # only the labels: the plot needs no model and no features
        labels_path = store.fetch(evaluation.labels_path, sha256=evaluation.labels_sha256)
        evaluation = replace(evaluation, labels_path=labels_path)
    if sha256_of(evaluation.labels_path) != labels_sha256:
        _done(store, plot_input)  # the labels changed since: a re-score draws anew
        return "labels changed"
    intent = evaluation.intent
    labels = tables.hidden_labels(evaluation.labels_path, labels_sha256, intent).frame
    inp = EvaluationInput(
        submission_id=submission_id,
        competition_slug=evaluation.competition_slug,
        intent=intent,
        model_path=evaluation.model_path,
        format=evaluation.format,
        train_path=evaluation.train_path,
        test_path=evaluation.test_path,
        labels_path=evaluation.labels_path,
        work_dir=work_dir,
    )
    params = _scorer_params(intent.sinks)
    ctx = SinkContext(inp, EvaluationResult(), pd.read_parquet(plot_input), labels, params)
    drawn = draw_into(ctx)
    for plot in drawn:
        store.publish(plot)
    _done(store, plot_input)
    if not drawn:
        return "not drawn"
    if run_id and settings.mlflow_tracking_uri:
        try:
            from mlfo.tracking import log_files

            log_files(settings.mlflow_tracking_uri, run_id, drawn)
        except Exception:  # tracking is best effort once the score is committed
            log.warning("could not add the plot to MLflow run %s", run_id, exc_info=True)
    return "drawn"


def _done(store: objects.ObjectStore, plot_input: Path) -> None:
    """Remove a plot's input, here and at the storage URL: the plot is drawn, or never will be."""
    plot_input.unlink(missing_ok=True)
    store.remove(plot_input)


def _scorer_params(sinks: list[Sink]) -> ScorerSinkParams:
    for sink in sinks:
        if sink.kind == "scorer":
            params = SINKS.get("scorer").parse_params(sink.params)
            assert isinstance(params, ScorerSinkParams)
            return params
    return ScorerSinkParams()

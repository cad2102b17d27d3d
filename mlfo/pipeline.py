"""The Y.3172 pipeline SRC -> C -> PP -> M -> P -> D -> SINK built from an intent, and its run.

`build_pipeline` resolves every node through its registry (an unknown kind fails at build time);
`Pipeline.run` evaluates one submission and never raises for a failure of the submission or of a
node: the outcome and message say what happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from mlfo import tables
from mlfo.collector import (
    COLLECTORS,
    SOURCES,
    Collected,
    collect_features,
    read_table,
    table_columns,
)
from mlfo.distributor import DISTRIBUTORS, Distribution
from mlfo.errors import NodeFailure, Outcome
from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.intent import Intent
from mlfo.model import MODEL_RUNNERS, ModelJob, ModelOutput
from mlfo.placement import placement_note
from mlfo.policies import POLICIES, OutputRule, PolicyContext, ScoreRule
from mlfo.preprocessing import PREPROCESSORS, FrameContext, Transform, fit_chain
from mlfo.provenance import provenance_of, sha256_of
from mlfo.registry import NodeKind
from mlfo.sinks import SINKS, SinkContext, is_commit_sink
from mlfo.validation import validate_intent
from sandbox import get_format

log = logging.getLogger(__name__)

SAMPLE_ROWS = 100
"""Rows of the predictions kept as the `predictions_sample.csv` artifact."""
SINK_PHASES = {"scorer": "report", "mlflow": "log"}
"""The phase name a sink's time is reported under (others: `sink_<name>`)."""


@dataclass(frozen=True)
class Node:
    """One node of a pipeline: its kind, the implementation's name and its validated params."""

    kind: NodeKind
    name: str
    params: BaseModel

    @property
    def label(self) -> str:
        """`KIND:name`, e.g. `PP:standard_scale`."""
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Pipeline:
    """An intent resolved into nodes, in execution order."""

    intent: Intent
    nodes: tuple[Node, ...]

    def of_kind(self, kind: NodeKind) -> list[Node]:
        """The nodes of one kind, in order."""
        return [n for n in self.nodes if n.kind is kind]

    def describe(self) -> str:
        """The pipeline as `SRC:table -> C:chunked -> ...`."""
        return " -> ".join(n.label for n in self.nodes)

    def run(self, inp: EvaluationInput) -> EvaluationResult:
        """Evaluate one submission; failures become the result's outcome and message."""
        return _Run(self, inp).execute()


def build_pipeline(intent: Intent | Mapping[str, Any]) -> Pipeline:
    """Validate an intent and resolve each of its nodes through the registries."""
    intent = validate_intent(intent)
    nodes: list[Node] = [
        Node(NodeKind.SRC, intent.source.kind, SOURCES.get(intent.source.kind).parse_params({})),
        Node(
            NodeKind.C,
            "chunked",
            COLLECTORS.get("chunked").parse_params({"chunk_rows": intent.source.chunk_rows}),
        ),
    ]
    nodes += [
        Node(NodeKind.PP, s.kind, PREPROCESSORS.get(s.kind).parse_params(s.params))
        for s in intent.preprocessing
    ]
    nodes.append(Node(NodeKind.M, "sandbox", MODEL_RUNNERS.get("sandbox").parse_params({})))
    nodes += [
        Node(NodeKind.P, s.kind, POLICIES.get(s.kind).parse_params(s.params))
        for s in intent.policies
    ]
    nodes.append(Node(NodeKind.D, "scoring", DISTRIBUTORS.get("scoring").parse_params({})))
    for sink in intent.sinks:
        params: BaseModel = _Raw(values=dict(sink.params))
        if sink.kind in SINKS:
            params = SINKS.get(sink.kind).parse_params(sink.params)
        nodes.append(Node(NodeKind.SINK, sink.kind, params))
    return Pipeline(intent, tuple(nodes))


class _Raw(BaseModel):
    """Parameters of a commit sink, validated by the worker when it loads the sink."""

    values: dict[str, Any]


class _Run:
    """The state of one pipeline run."""

    def __init__(self, pipeline: Pipeline, inp: EvaluationInput) -> None:
        self.pipeline = pipeline
        self.intent = pipeline.intent
        self.inp = inp
        self.result = EvaluationResult()
        self.ctx = FrameContext(self.intent.id_column, self.intent.target)
        self.predictions: pd.DataFrame | None = None
        self.labels: pd.DataFrame | None = None

    def execute(self) -> EvaluationResult:
        """Run every node; map failures to the result."""
        node = "provenance"
        try:
            self.result.provenance = provenance_of(self.inp)
            node = "collector"
            with self._timed("collect"):
                features, train = self._collect()
            node = "model"
            output = self._model(features, train)
            node = "policies"
            with self._timed("policies"):
                predictions = self._policies(output.predictions)
            node = "distributor"
            with self._timed("score"):
                self._distribute(predictions)
        except NodeFailure as failure:
            self._fail(failure.outcome, failure.message, failure.logs, failure.kpis)
            self.result.timings.update(failure.timings)
            self.result.sandbox_kill = failure.kill_reason
        except Exception as exc:
            log.exception("pipeline node %s failed for submission %s", node, self.inp.submission_id)
            message = f"internal error in the {node} node ({type(exc).__name__}: {exc})"
            self._fail(Outcome.INFRASTRUCTURE_ERROR, message)
        if self.result.outcome != Outcome.CANCELLED:
            self._sinks()
        return self.result

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        """Add the block's duration to the result's timings under `phase`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.result.timings[phase] = self.result.timings.get(phase, 0.0) + spent

    def _fail(
        self, outcome: Outcome, message: str, logs: str = "", kpis: dict[str, float] | None = None
    ) -> None:
        self.result.outcome = outcome
        self.result.message = message
        self.result.valid = False
        self.result.invalid_reason = f"{outcome}: {message}"
        if logs:
            self.result.logs = logs
            self._write_logs()
        if kpis:
            self.result.kpis = self._measured(kpis)

    def _check_cancel(self) -> None:
        if self.inp.should_cancel is not None and self.inp.should_cancel():
            raise NodeFailure(Outcome.CANCELLED, "the evaluation was cancelled")

    def _collect(self) -> tuple[Collected, Path | None]:
        inp, intent = self.inp, self.intent
        steps = [
            (PREPROCESSORS.get(n.name).impl, n.params) for n in self.pipeline.of_kind(NodeKind.PP)
        ]
        fitted: list[Transform] = []

        def transform() -> Transform:  # fitted on the training data only when collecting
            if not fitted:
                fitted.append(fit_chain(steps, self._train_features, self.ctx))
                self._check_cancel()
            return fitted[0]

        chunk_rows = intent.source.chunk_rows
        source = SOURCES.get(intent.source.kind).impl
        collector = COLLECTORS.get("chunked").impl

        def collect(path: Path, out: Path, with_target: bool = False) -> Collected:
            return collect_features(
                path,
                out,
                transform=transform(),
                ctx=self.ctx,
                chunk_rows=chunk_rows,
                source=source,
                collector=collector,
                with_target=with_target,
                check_cancel=self._check_cancel,
            )

        self._check_cancel()
        cache_dir, key = self._features_cache()
        features = tables.cached_collect(
            cache_dir,
            f"features-{key}",
            inp.work_dir / "features.parquet",
            lambda out: collect(inp.test_path, out),
        )
        train: Path | None = None
        if intent.model.allow_training and get_format(inp.format).trainable:
            train = tables.cached_collect(
                cache_dir,
                f"train-{key}",
                inp.work_dir / "train.parquet",
                lambda out: collect(inp.train_path, out, with_target=True),
            ).path
        return features, train

    def _features_cache(self) -> tuple[Path | None, str]:
        """The cache folder (None when a step is not built in) and the key of these tables."""
        inp, intent = self.inp, self.intent
        nodes = self.pipeline.of_kind(NodeKind.PP)
        implementations: list[object] = [PREPROCESSORS.get(n.name).impl for n in nodes]
        implementations.append(SOURCES.get(intent.source.kind).impl)
        built_in = all(
            getattr(impl, "__module__", "") in ("mlfo.preprocessing", "mlfo.collector")
            for impl in implementations
        )
        if inp.cache_dir is None or not built_in:
            return None, ""
        key = tables.features_key(
            {
                "test": self.result.provenance["mlchallenge.test_data_sha256"],
                "train": sha256_of(inp.train_path) if inp.train_path.is_file() else None,
                "steps": [(n.name, n.params.model_dump(mode="json")) for n in nodes],
                "source": intent.source.kind,
                "chunk_rows": intent.source.chunk_rows,
                "columns": [intent.id_column, intent.target],
            }
        )
        return inp.cache_dir, key

    def _train_features(self) -> pd.DataFrame:
        columns = [c for c in table_columns(self.inp.train_path) if c != self.intent.target]
        return read_table(self.inp.train_path, columns)

    def _model(self, features: Collected, train: Path | None) -> ModelOutput:
        self._check_cancel()
        inp = self.inp
        job = ModelJob(
            model_path=inp.model_path,
            format=inp.format,
            features_path=features.path,
            intent=self.intent,
            train_path=train,
            device=inp.device,
            backend=inp.sandbox_backend,
            warm=inp.sandbox_warm,
            fork=inp.sandbox_fork,
            should_cancel=inp.should_cancel,
        )
        note = placement_note(self.intent, inp.device)
        try:
            output = MODEL_RUNNERS.get("sandbox").impl(job)
        except NodeFailure as failure:
            failure.logs = note + failure.logs
            raise
        self.result.logs = note + output.logs
        self.result.kpis = self._measured(output.kpis)
        self.result.timings.update(output.timings)
        self._write_logs()
        return output

    def _measured(self, kpis: Mapping[str, float]) -> dict[str, float]:
        """The KPIs the intent asks for."""
        wanted = {str(kpi) for kpi in self.intent.kpis}
        return {k: float(v) for k, v in kpis.items() if k in wanted}

    def _write_logs(self) -> None:
        path = self.inp.work_dir / "logs.txt"
        path.write_text(self.result.logs, encoding="utf-8")
        self.result.artifacts["logs.txt"] = path

    def _policy_context(self) -> PolicyContext:
        intent = self.intent
        return PolicyContext(str(intent.task), intent.id_column, intent.target, intent.classes)

    def _policies(self, predictions: pd.DataFrame) -> pd.DataFrame:
        ctx = self._policy_context()
        for node in self.pipeline.of_kind(NodeKind.P):
            rule = POLICIES.get(node.name).impl
            if isinstance(rule, OutputRule):
                predictions = rule(predictions, node.params, ctx)
        return predictions

    def _distribute(self, predictions: pd.DataFrame) -> None:
        self._check_cancel()
        from challenge.scoring import LabelsError

        sha256 = self.result.provenance["mlchallenge.labels_sha256"]
        try:
            hidden = tables.hidden_labels(self.inp.labels_path, sha256, self.intent)
        except LabelsError as exc:  # the host's labels: a platform fault, never the team's
            raise NodeFailure(Outcome.INFRASTRUCTURE_ERROR, str(exc)) from None
        self.labels = hidden.frame
        rules = [
            (rule, node.params)
            for node in self.pipeline.of_kind(NodeKind.P)
            if isinstance(rule := POLICIES.get(node.name).impl, ScoreRule)
        ]
        distributor = DISTRIBUTORS.get("scoring").impl
        dist: Distribution = distributor(predictions, hidden, self.intent, self.result.kpis, rules)
        r = self.result
        r.scores, r.metric_errors, r.intervals = dist.scores, dist.metric_errors, dist.intervals
        r.ranking_score, r.valid, r.invalid_reason = (
            dist.ranking_score,
            dist.valid,
            dist.invalid_reason,
        )
        self.predictions = dist.aligned if dist.aligned is not None else predictions
        sample = self.inp.work_dir / "predictions_sample.csv"
        self.predictions.head(SAMPLE_ROWS).to_csv(sample, index=False)
        r.artifacts["predictions_sample.csv"] = sample

    def _sinks(self) -> None:
        """Run the pipeline's sinks in order (commit sinks run when the worker records it)."""
        nodes = self.pipeline.of_kind(NodeKind.SINK)
        at_commit = [n.name for n in nodes if n.name not in SINKS and is_commit_sink(n.name)]
        self.result.provenance["mlchallenge.sinks"] = ",".join(
            n.name for n in nodes if n.name not in at_commit
        )
        if at_commit:
            self.result.provenance["mlchallenge.commit_sinks"] = ",".join(at_commit)
        for node in nodes:
            if node.name in at_commit:
                continue
            if node.name not in SINKS:
                self._fail(Outcome.INFRASTRUCTURE_ERROR, f"sink {node.name!r} is not registered")
                return
            entry = SINKS.get(node.name)
            params = node.params
            ctx = SinkContext(self.inp, self.result, self.predictions, self.labels, params)
            try:
                with self._timed(SINK_PHASES.get(node.name, f"sink_{node.name}")):
                    entry.impl(ctx)
            except Exception as exc:
                log.exception("sink %s failed for submission %s", node.name, self.inp.submission_id)
                self._fail(
                    Outcome.INFRASTRUCTURE_ERROR,
                    f"sink {node.name!r} failed ({type(exc).__name__}: {exc})",
                )
                return


__all__ = ["EvaluationInput", "EvaluationResult", "Node", "Pipeline", "build_pipeline"]

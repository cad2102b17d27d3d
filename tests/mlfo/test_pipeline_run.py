"""Pipelines built from intents, and whole evaluations on tiny datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict
from sklearn.linear_model import LinearRegression

from challenge.problems import list_problems
from mlfo.errors import IntentError, Outcome
from mlfo.pipeline import build_pipeline
from mlfo.provenance import sha256_of
from mlfo.registry import NodeKind
from mlfo.sinks import SINKS, SinkContext, register_sink
from mlfo.validation import intent_for_bundle
from tests.mlfo.mlfo_data import Dataset, evaluation_input, intent_data

ORDER = [NodeKind.SRC, NodeKind.C, NodeKind.PP, NodeKind.M, NodeKind.P, NodeKind.D, NodeKind.SINK]


def test_every_built_in_problem_intent_builds_a_pipeline() -> None:
    problems = list_problems()
    assert problems, "no built-in problem is available"
    for problem in problems:
        settings = problem.settings()
        try:
            pipeline = build_pipeline(settings["intent"])
            assert intent_for_bundle(settings) == pipeline.intent
        except IntentError as exc:
            pytest.fail(f"{problem.id}: {exc}")
        kinds = [n.kind for n in pipeline.nodes]
        assert kinds == sorted(kinds, key=ORDER.index), problem.id
        assert pipeline.of_kind(NodeKind.M)[0].name == "sandbox"
        assert len(pipeline.of_kind(NodeKind.SINK)) == len(pipeline.intent.sinks)


def test_nodes_follow_the_intent_in_y3172_order() -> None:
    intent = intent_data(
        "regression",
        preprocessing=[{"kind": "fill_missing", "params": {"value": 0}}, {"kind": "log1p"}],
        policies=[{"kind": "clip", "params": {"min": 0}}, {"kind": "round"}],
    )
    pipeline = build_pipeline(intent)
    assert pipeline.describe() == (
        "SRC:table -> C:chunked -> PP:fill_missing -> PP:log1p -> M:sandbox -> P:clip -> "
        "P:round -> D:scoring -> SINK:scorer -> SINK:mlflow"
    )
    assert pipeline.of_kind(NodeKind.C)[0].params.model_dump() == {"chunk_rows": 1000}


def test_a_bad_intent_does_not_build() -> None:
    with pytest.raises(IntentError, match=r"intent\.preprocessing\[0\]\.kind: unknown PP step"):
        build_pipeline(intent_data("regression", preprocessing=[{"kind": "pca"}]))


def _predictions(data: Dataset, root: Path, values: Any, **columns: Any) -> Path:
    path = root / "predictions.csv"
    pd.DataFrame({"id": data.test["id"], "y": values, **columns}).to_csv(path, index=False)
    return path


def test_a_regression_predictions_submission_is_scored(regression: Dataset, tmp_path: Path) -> None:
    test = regression.test
    model = _predictions(regression, tmp_path, 3 * test.x1 + test.x2)
    intent = intent_data("regression")
    result = build_pipeline(intent).run(
        evaluation_input(regression, intent, model, tmp_path / "work")
    )
    assert result.outcome == Outcome.OK, result.message
    assert set(result.scores) == {"public", "private"}
    for split, values in result.scores.items():
        assert values["mae"] is not None and values["mae"] < 0.2
        assert result.ranking_score[split] == values["mae"]
        low, high = result.intervals[split] or (np.nan, np.nan)
        assert low <= values["mae"] <= high
    assert result.valid and not result.metric_errors
    plots = {"diagnostics_public.png", "diagnostics_private.png"}
    assert {"logs.txt", "predictions_sample.csv", "scores.json", *plots} <= set(result.artifacts)
    assert "diagnostics.png" not in result.artifacts
    assert all(path.is_file() for path in result.artifacts.values())
    assert result.provenance["mlchallenge.submission_sha256"] == sha256_of(model)
    assert result.provenance["mlchallenge.labels_sha256"] == sha256_of(regression.labels_path)
    assert result.provenance["mlchallenge.sandbox_backend"] == "none"
    assert result.mlflow_run_id is None


def test_each_diagnostics_plot_is_drawn_from_its_own_split(
    binary: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plot of every row next to the public score would give the private score away."""
    from challenge import scoring

    drawn: dict[str, np.ndarray] = {}
    real_plot = scoring.diagnostics_plot

    def spy(task: str, y_true: Any, y_pred: Any, out_path: Any, **kwargs: Any) -> Path:
        drawn[Path(out_path).name] = np.asarray(y_true)
        return real_plot(task, y_true, y_pred, out_path, **kwargs)

    monkeypatch.setattr(scoring, "diagnostics_plot", spy)
    test = binary.test
    model = _predictions(binary, tmp_path, (test.x1 > 0).astype(int))
    intent = intent_data("binary")
    result = build_pipeline(intent).run(evaluation_input(binary, intent, model, tmp_path / "w"))
    assert result.outcome == Outcome.OK, result.message
    labels = binary.labels
    for split in ("public", "private"):
        rows = labels[labels["split"] == split]
        truth = drawn[f"diagnostics_{split}.png"]
        assert len(truth) == len(rows) and sorted(truth) == sorted(rows["y"])
        assert result.artifacts[f"diagnostics_{split}.png"].is_file()


def test_a_binary_submission_is_thresholded_and_judged_by_its_floor(
    binary: Dataset, tmp_path: Path
) -> None:
    test = binary.test
    probability = 1 / (1 + np.exp(-4 * (test.x1 + 0.2 * test.x2 - 1)))
    model = _predictions(binary, tmp_path, 0, proba_0=1 - probability, proba_1=probability)
    floor = {"kind": "validity_floor", "params": {"metric": "accuracy", "min": 0.95}}
    results = {}
    for cut in (0.5, 0.99):
        intent = intent_data(
            "binary", policies=[{"kind": "threshold", "params": {"threshold": cut}}, floor]
        )
        inp = evaluation_input(binary, intent, model, tmp_path / f"w{cut}")
        results[cut] = build_pipeline(intent).run(inp)
        assert results[cut].outcome == Outcome.OK, results[cut].message
    good, strict = results[0.5], results[0.99]
    assert good.valid and good.scores["public"]["accuracy"] == 1.0
    sample = pd.read_csv(good.artifacts["predictions_sample.csv"])
    assert set(sample["y"]) == {0, 1}
    assert not strict.valid
    assert "accuracy" in strict.invalid_reason and "below the floor 0.95" in strict.invalid_reason


def test_predictions_with_missing_ids_are_invalid_output(
    regression: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "short.csv"
    pd.DataFrame({"id": regression.test["id"][:-3], "y": 1.0}).to_csv(path, index=False)
    intent = intent_data("regression")
    result = build_pipeline(intent).run(evaluation_input(regression, intent, path, tmp_path / "w"))
    assert result.outcome == Outcome.INVALID_OUTPUT
    assert "117 rows" in result.message or "3 ids of the test set are missing" in result.message
    assert not result.valid and not result.scores


def test_a_format_the_intent_does_not_accept_is_an_invalid_submission(
    regression: Dataset, tmp_path: Path
) -> None:
    path = _predictions(regression, tmp_path, 0.0)
    intent = intent_data("regression")
    inp = evaluation_input(regression, intent, path, tmp_path / "w", fmt="onnx")
    result = build_pipeline(intent).run(inp)
    assert result.outcome == Outcome.INVALID_SUBMISSION
    assert "format 'onnx' is not accepted here; accepted formats: predictions" in result.message


def test_a_cancelled_evaluation_stops_before_the_sinks(regression: Dataset, tmp_path: Path) -> None:
    path = _predictions(regression, tmp_path, 0.0)
    intent = intent_data("regression")
    inp = evaluation_input(regression, intent, path, tmp_path / "w")
    cancelled = type(inp)(**{**inp.__dict__, "should_cancel": lambda: True})
    result = build_pipeline(intent).run(cancelled)
    assert result.outcome == Outcome.CANCELLED
    assert "scores.json" not in result.artifacts and not result.scores


def test_ranking_by_cost_returns_the_measured_cost(regression: Dataset, tmp_path: Path) -> None:
    path = _predictions(regression, tmp_path, 3 * regression.test.x1 + regression.test.x2)
    ranking = {
        "by": "cost",
        "cost": {"weights": {"model_size_mb": 2.0}, "reference": {"model_size_mb": 0.5}},
    }
    intent = intent_data("regression", ranking=ranking)
    result = build_pipeline(intent).run(evaluation_input(regression, intent, path, tmp_path / "w"))
    assert result.outcome == Outcome.OK, result.message
    expected = 2.0 * result.kpis["model_size_mb"] / 0.5
    assert expected > 0
    assert result.ranking_score == {"public": expected, "private": expected}
    assert result.intervals == {"public": None, "private": None}


def test_labels_without_a_split_column_are_split_by_the_intent(
    regression: Dataset, tmp_path: Path
) -> None:
    labels = regression.labels.drop(columns=["split"])
    labels.to_parquet(tmp_path / "labels.parquet", index=False)
    data = Dataset(**{**regression.__dict__, "labels_path": tmp_path / "labels.parquet"})
    path = _predictions(regression, tmp_path, 0.0)
    intent = intent_data("regression", split={"public_fraction": 0.25, "seed": 1})
    result = build_pipeline(intent).run(evaluation_input(data, intent, path, tmp_path / "w"))
    assert result.outcome == Outcome.OK, result.message
    assert set(result.scores) == {"public", "private"}


def test_a_commit_sink_is_left_to_the_worker_and_recorded(
    regression: Dataset, tmp_path: Path
) -> None:
    path = _predictions(regression, tmp_path, 0.0)
    intent = intent_data("regression", sinks=[{"kind": "scorer"}, {"kind": "leaderboard"}])
    result = build_pipeline(intent).run(evaluation_input(regression, intent, path, tmp_path / "w"))
    assert result.outcome == Outcome.OK, result.message
    assert result.provenance["mlchallenge.sinks"] == "scorer"
    assert result.provenance["mlchallenge.commit_sinks"] == "leaderboard"


def test_an_sklearn_model_runs_in_the_sandbox_on_preprocessed_features(
    regression: Dataset, tmp_path: Path
) -> None:
    train = regression.train
    model = LinearRegression().fit(np.log1p(train[["x2"]]), train["y"] - 3 * train["x1"])
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    tmp_path.chmod(0o755)
    intent = intent_data(
        "regression",
        model={"formats": ["predictions", "sklearn"], "limits": {"time_s": 60}},
        preprocessing=[
            {"kind": "select_columns", "params": {"columns": ["x2"]}},
            {"kind": "log1p"},
        ],
    )
    inp = evaluation_input(regression, intent, path, tmp_path / "work", fmt="sklearn")
    result = build_pipeline(intent).run(inp)
    assert result.outcome == Outcome.OK, f"{result.message}\n{result.logs}"
    features = pd.read_parquet(tmp_path / "work" / "features.parquet")
    assert list(features.columns) == ["id", "x2"]
    assert np.allclose(features["x2"], np.log1p(regression.test["x2"]))
    assert result.kpis["peak_memory_mb"] > 0 and result.kpis["wall_time_s"] > 0
    assert result.provenance["mlchallenge.sandbox_backend"] != "none"
    assert all(value is not None for value in result.scores["public"].values())


PYTHON_MODEL = """
import numpy as np


class Model:
    def fit(self, train):
        x = np.column_stack([train[["x1", "x2"]].to_numpy(), np.ones(len(train))])
        self.w = np.linalg.lstsq(x, train["y"].to_numpy(), rcond=None)[0]

    def predict(self, features):
        x = np.column_stack([features[["x1", "x2"]].to_numpy(), np.ones(len(features))])
        return x @ self.w
"""


def test_a_python_model_trains_in_the_sandbox_on_the_preprocessed_training_data(
    regression: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "model.py"
    path.write_text(PYTHON_MODEL, encoding="utf-8")
    tmp_path.chmod(0o755)
    intent = intent_data(
        "regression",
        model={"formats": ["python"], "allow_training": True, "limits": {"time_s": 60}},
        preprocessing=[{"kind": "standard_scale"}],
    )
    inp = evaluation_input(regression, intent, path, tmp_path / "work", fmt="python")
    result = build_pipeline(intent).run(inp)
    assert result.outcome == Outcome.OK, f"{result.message}\n{result.logs}"
    train = pd.read_parquet(tmp_path / "work" / "train.parquet")
    assert list(train.columns) == ["id", "x1", "x2", "y"]
    assert train["x2"].mean() == pytest.approx(0.0, abs=1e-9)
    assert train["y"].tolist() == regression.train["y"].tolist()
    assert all((v or 1.0) < 0.2 for v in result.scores["public"].values())


class ProbeParams(BaseModel):
    """Parameters of the test sink."""

    model_config = ConfigDict(extra="forbid")

    fail: bool = False


def test_a_registered_sink_plug_in_receives_the_scored_result(
    regression: Dataset, tmp_path: Path
) -> None:
    seen: list[SinkContext] = []

    def probe(ctx: SinkContext) -> None:
        if ctx.params.fail:
            raise RuntimeError("the probe is down")
        seen.append(ctx)

    register_sink("test_probe", probe, params=ProbeParams)
    try:
        path = _predictions(regression, tmp_path, 1.0)
        intent = intent_data("regression", sinks=[{"kind": "scorer"}, {"kind": "test_probe"}])
        result = build_pipeline(intent).run(
            evaluation_input(regression, intent, path, tmp_path / "a")
        )
        assert result.outcome == Outcome.OK
        (ctx,) = seen
        assert ctx.result is result and ctx.params == ProbeParams()
        assert ctx.predictions is not None and len(ctx.predictions) == len(regression.test)
        failing = intent_data(
            "regression", sinks=[{"kind": "test_probe", "params": {"fail": True}}]
        )
        broken = build_pipeline(failing).run(
            evaluation_input(regression, failing, path, tmp_path / "b")
        )
        assert broken.outcome == Outcome.INFRASTRUCTURE_ERROR
        assert broken.message == "sink 'test_probe' failed (RuntimeError: the probe is down)"
    finally:
        SINKS.unregister("test_probe")

"""score_submission: both splits, every metric, failures recorded, the primary's interval."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from challenge.scoring import (
    InvalidPredictionsError,
    LabelsError,
    MetricResult,
    score_aligned,
    score_submission,
    validate_predictions,
)
from challenge.scoring.submission import MetricSpec
from tests.scoring.scoring_data import TASK_CLASSES, labels_table, with_probabilities


def test_regression_scores_each_split_with_every_metric() -> None:
    labels = labels_table(300, "regression")
    rng = np.random.default_rng(1)
    predictions = labels[["id", "y"]].assign(y=labels["y"] + rng.normal(0, 0.5, len(labels)))
    predictions = predictions.sample(frac=1.0, random_state=0)
    results = score_submission(
        predictions,
        labels,
        id_column="id",
        target="y",
        task="regression",
        metrics=["mae", ("rmse", {}), "mre"],
        intervals_for="mae",
    )
    assert list(results) == ["public", "private"]
    for split in ("public", "private"):
        mask = (labels["split"] == split).to_numpy()
        truth = labels["y"].to_numpy()[mask]
        pred = predictions.set_index("id").loc[labels["id"][mask], "y"].to_numpy()
        mae = results[split]["mae"]
        assert mae.value == pytest.approx(skm.mean_absolute_error(truth, pred), abs=1e-12)
        assert mae.value is not None and mae.interval is not None
        assert mae.interval[0] < mae.value < mae.interval[1]
        assert results[split]["rmse"].interval is None
        assert results[split]["mre"].ok


def test_a_metric_that_needs_probabilities_is_recorded_not_raised() -> None:
    labels = labels_table(200, "multiclass")
    predictions = labels[["id", "y"]]
    results = score_submission(
        predictions,
        labels,
        id_column="id",
        target="y",
        task="multiclass",
        classes=TASK_CLASSES["multiclass"],
        metrics=["accuracy", ("top_k_accuracy", {"k": 5}), "mae", "no_such_metric"],
    )
    public = results["public"]
    assert public["accuracy"] == MetricResult(value=1.0)
    top_k = public["top_k_accuracy"]
    assert top_k.value is None and top_k.error is not None
    assert "needs class probabilities: add the columns proba_10, proba_20" in top_k.error
    assert "does not apply to task 'multiclass'" in (public["mae"].error or "")
    assert "unknown metric 'no_such_metric'" in (public["no_such_metric"].error or "")
    assert public["mae"].as_dict()["value"] is None


def test_probabilities_feed_the_probability_metrics() -> None:
    labels = labels_table(240, "multiclass")
    classes = TASK_CLASSES["multiclass"]
    predictions = with_probabilities(labels[["id", "y"]], classes)
    results = score_submission(
        predictions,
        labels,
        id_column="id",
        target="y",
        task="multiclass",
        classes=classes,
        metrics=[("top_k_accuracy", {"k": 1}), ("top_k_accuracy", {"k": 3}), "log_loss", "roc_auc"],
        intervals_for="top_k_accuracy(k=3)",
        n_resamples=200,
    )
    public = results["public"]
    assert set(public) == {"top_k_accuracy(k=1)", "top_k_accuracy(k=3)", "log_loss", "roc_auc"}
    assert public["top_k_accuracy(k=1)"].value == 1.0
    assert public["top_k_accuracy(k=3)"].interval == (1.0, 1.0)
    assert all(r.ok for r in public.values())


def test_binary_scores_use_the_positive_class() -> None:
    labels = labels_table(200, "binary")
    classes = TASK_CLASSES["binary"]
    predictions = with_probabilities(labels[["id", "y"]], classes)
    flipped = predictions.assign(y=np.where(predictions["y"] == "yes", "no", "yes"))
    results = score_submission(
        flipped,
        labels,
        id_column="id",
        target="y",
        task="binary",
        classes=classes,
        metrics=["f1", "roc_auc", "recall"],
    )
    assert results["private"]["f1"].value == 0.0
    assert results["private"]["roc_auc"].value == 1.0


def test_labels_without_a_split_column_are_scored_as_one_split() -> None:
    labels = labels_table(50, "regression").drop(columns="split")
    results = score_submission(
        labels, labels, id_column="id", target="y", task="regression", metrics=["mae"]
    )
    assert results == {"all": {"mae": MetricResult(value=0.0)}}


def test_invalid_predictions_raise_and_bad_settings_are_named() -> None:
    labels = labels_table(20, "regression")
    with pytest.raises(InvalidPredictionsError, match="missing"):
        score_submission(
            labels.iloc[:10], labels, id_column="id", target="y", task="regression", metrics=["mae"]
        )
    with pytest.raises(ValueError, match="intervals_for='rmse' is not one of the metrics: mae"):
        score_submission(
            labels,
            labels,
            id_column="id",
            target="y",
            task="regression",
            metrics=["mae"],
            intervals_for="rmse",
        )
    with pytest.raises(ValueError, match="listed twice"):
        score_submission(
            labels, labels, id_column="id", target="y", task="regression", metrics=["mae", "mae"]
        )
    odd = labels.assign(split=["public", "test"] * 10)
    with pytest.raises(LabelsError, match="'split' has value"):
        score_submission(
            labels, odd, id_column="id", target="y", task="regression", metrics=["mae"]
        )
    bad_classes = labels_table(20, "binary")
    with pytest.raises(LabelsError, match="not among the classes"):
        score_submission(
            bad_classes,
            bad_classes,
            id_column="id",
            target="y",
            task="binary",
            classes=["no", "maybe"],
            metrics=["f1"],
        )


def test_results_are_json_ready() -> None:
    labels = labels_table(40, "regression")
    results = score_submission(
        labels,
        labels,
        id_column="id",
        target="y",
        task="regression",
        metrics=["mae"],
        intervals_for="mae",
        n_resamples=50,
    )
    assert results["public"]["mae"].as_dict() == {
        "value": 0.0,
        "error": None,
        "interval": [0.0, 0.0],
    }
    frame = pd.DataFrame(results["public"]["mae"].as_dict())
    assert len(frame) == 2


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_scoring_validated_predictions_equals_scoring_raw_ones(task: str) -> None:
    labels = labels_table(240, task)
    classes = TASK_CLASSES.get(task)
    predictions = labels[["id", "y"]].sample(frac=1.0, random_state=3)
    if classes is not None:
        predictions = with_probabilities(predictions, classes)
        metrics: list[MetricSpec] = ["accuracy", "log_loss"]
    else:
        predictions = predictions.assign(y=predictions["y"] + 0.25)
        metrics = ["mae", "rmse"]
    common: dict[str, Any] = {"target": "y", "task": task, "classes": classes}
    primary = str(metrics[0])
    raw = score_submission(
        predictions, labels, id_column="id", metrics=metrics, intervals_for=primary, **common
    )
    aligned = validate_predictions(predictions, labels, id_column="id", **common)
    once = score_aligned(aligned, labels, metrics=metrics, intervals_for=primary, **common)
    assert {s: {k: r.as_dict() for k, r in m.items()} for s, m in raw.items()} == {
        s: {k: r.as_dict() for k, r in m.items()} for s, m in once.items()
    }
    with pytest.raises(ValueError, match="validate_predictions"):
        score_aligned(aligned.head(10), labels, metrics=metrics, **common)

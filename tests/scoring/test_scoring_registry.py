"""The registry: every registered scorer behaves, bad names and bad registrations are refused."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from challenge.scoring import (
    MetricNotApplicableError,
    MetricParamsError,
    Response,
    ScorerRegistrationError,
    UnknownMetricError,
    check_metrics,
    get_scorer,
    register_scorer,
    scorer_names,
    unregister_scorer,
)
from tests.scoring.scoring_data import perfect_and_bad, scorer_tasks

REQUIRED = {
    "mae", "rmse", "mse", "r2", "mape", "smape", "wmape", "mre", "accuracy", "balanced_accuracy",
    "f1", "f1_macro", "f1_micro", "precision", "recall", "roc_auc", "log_loss", "top_k_accuracy",
}  # fmt: skip


def _custom(y_true: np.ndarray, y_pred: np.ndarray, *, scale: float = 1.0) -> float:
    return float(np.max(np.abs(y_true - y_pred))) * scale


@pytest.fixture
def custom_metric() -> Iterator[str]:
    register_scorer(
        "max_error_scaled",
        _custom,
        greater_is_better=False,
        response="labels",
        tasks=["regression", "forecast"],
        description="largest absolute error",
    )
    yield "max_error_scaled"
    unregister_scorer("max_error_scaled")


def test_the_required_metrics_are_registered() -> None:
    assert set(scorer_names()) >= REQUIRED


@pytest.mark.parametrize(("name", "task"), scorer_tasks())
def test_every_registered_scorer_prefers_a_perfect_prediction(name: str, task: str) -> None:
    scorer = get_scorer(name)
    assert isinstance(scorer.greater_is_better, bool)
    assert scorer.response in set(Response)
    assert scorer.tasks and scorer.description
    y, perfect, bad, classes = perfect_and_bad(scorer, task)
    good_value = scorer(y, perfect, classes=classes)
    bad_value = scorer(y, bad, classes=classes)
    assert math.isfinite(good_value) and math.isfinite(bad_value)
    assert scorer.sign * good_value > scorer.sign * bad_value


def test_a_custom_scorer_is_listed_and_scores(custom_metric: str) -> None:
    assert custom_metric in scorer_names()
    assert custom_metric in scorer_names("forecast")
    assert custom_metric not in scorer_names("binary")
    scorer = get_scorer(custom_metric, scale=2.0)
    assert scorer(np.array([1.0, 2.0]), np.array([1.5, 4.0])) == pytest.approx(4.0)
    assert not scorer.greater_is_better and scorer.response is Response.LABELS
    assert len({scorer, get_scorer(custom_metric, scale=2.0)}) == 1


def test_unknown_metric_lists_the_valid_names() -> None:
    with pytest.raises(UnknownMetricError) as caught:
        get_scorer("maee")
    message = str(caught.value)
    assert "'maee'" in message and "Did you mean 'mae'?" in message
    for name in ("mae", "f1_macro", "top_k_accuracy"):
        assert name in message


def test_duplicate_names_are_refused(custom_metric: str) -> None:
    with pytest.raises(ScorerRegistrationError, match="already registered"):
        register_scorer("mae", _custom, greater_is_better=False, response="labels")
    with pytest.raises(ScorerRegistrationError, match="already registered"):
        register_scorer(custom_metric, _custom, greater_is_better=False, response="labels")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "invalid metric name"),
        ({"name": ""}, "invalid metric name"),
        ({"fn": "not callable"}, "must be callable"),
        ({"fn": lambda y_true: 0.0}, r"two positional arguments \(y_true, y_pred\)"),
        ({"greater_is_better": 1}, "True or False"),
        ({"response": "probas"}, "valid responses: labels, scores, probabilities"),
        ({"tasks": ["regression", "ranking"]}, "unknown task 'ranking'"),
        ({"tasks": []}, "at least one"),
    ],
)
def test_registration_is_validated(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "name": "fine_name",
        "fn": _custom,
        "greater_is_better": False,
        "response": "labels",
    }
    args.update(kwargs)
    with pytest.raises(ScorerRegistrationError, match=message):
        register_scorer(**args)  # type: ignore[arg-type]
    assert "fine_name" not in scorer_names()


def test_builtin_metrics_cannot_be_unregistered() -> None:
    with pytest.raises(ScorerRegistrationError, match="built-in"):
        unregister_scorer("mae")


def test_params_are_checked_when_the_scorer_is_made() -> None:
    assert get_scorer("top_k_accuracy", k=3).params == {"k": 3}
    with pytest.raises(MetricParamsError, match="positive integer"):
        get_scorer("top_k_accuracy", k=0)
    with pytest.raises(MetricParamsError, match="positive integer"):
        get_scorer("top_k_accuracy", k="5")
    with pytest.raises(MetricParamsError, match=r"does not accept parameter\(s\) kk; accepted"):
        get_scorer("top_k_accuracy", kk=3)
    with pytest.raises(MetricParamsError, match="accepted parameters: none"):
        get_scorer("mae", squared=True)


def test_check_metrics_refuses_a_metric_of_another_task() -> None:
    scorers = check_metrics("multiclass", [("top_k_accuracy", {"k": 5}), "accuracy"])
    assert [s.name for s in scorers] == ["top_k_accuracy", "accuracy"]
    with pytest.raises(MetricNotApplicableError, match=r"metrics for regression: .*mae"):
        check_metrics("regression", ["accuracy"])
    with pytest.raises(UnknownMetricError):
        check_metrics("regression", ["nope"])

"""Every metric against scikit-learn (or an independent formula) on random inputs."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from challenge.scoring import get_scorer

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = 1e-9
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")

CLASS_SETS: list[list[Any]] = [[0, 1], ["neg", "pos"], [1, 0], [3, 1, 7], ["b", "a", "c", "d"]]


@st.composite
def regression_data(draw: st.DrawFn, nonzero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=2, max_value=40))
    value = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)
    true = np.array(draw(st.lists(value, min_size=n, max_size=n)))
    pred = np.array(draw(st.lists(value, min_size=n, max_size=n)))
    if nonzero:
        true = np.where(np.abs(true) < 1e-3, 1.0, true)
    return true, pred


@st.composite
def label_data(
    draw: st.DrawFn, sets: list[list[Any]] = CLASS_SETS
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    classes = draw(st.sampled_from(sets))
    k = len(classes)
    n = draw(st.integers(min_value=2, max_value=40))
    codes = st.integers(min_value=0, max_value=k - 1)
    true = draw(st.lists(codes, min_size=n, max_size=n))
    pred = draw(st.lists(codes, min_size=n, max_size=n))
    return np.array([classes[i] for i in true]), np.array([classes[i] for i in pred]), classes


@st.composite
def probability_data(
    draw: st.DrawFn, min_classes: int = 2
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    classes = draw(st.sampled_from([c for c in CLASS_SETS if len(c) >= min_classes]))
    k = len(classes)
    n = draw(st.integers(min_value=k, max_value=40))
    extra = draw(st.lists(st.integers(0, k - 1), min_size=n - k, max_size=n - k))
    codes = np.array(list(range(k)) + extra)
    seed = draw(st.integers(0, 2**16))
    matrix = np.random.default_rng(seed).dirichlet(np.ones(k), n)
    return np.array([classes[i] for i in codes]), matrix, classes


def _sorted_columns(classes: list[Any], matrix: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """scikit-learn reads probability columns in sorted label order."""
    order = sorted(range(len(classes)), key=lambda j: classes[j])
    return [classes[j] for j in order], matrix[:, order]


REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": skm.mean_absolute_error,
    "mse": skm.mean_squared_error,
    "rmse": skm.root_mean_squared_error,
    "r2": skm.r2_score,
    "mape": skm.mean_absolute_percentage_error,
}


@pytest.mark.parametrize("name", sorted(REGRESSION))
@PROPERTY
@given(data=regression_data())
def test_regression_metrics_equal_scikit_learn(
    name: str, data: tuple[np.ndarray, np.ndarray]
) -> None:
    true, pred = data
    expected = REGRESSION[name](true, pred)
    if not np.isfinite(expected):
        return
    assert get_scorer(name)(true, pred) == pytest.approx(expected, rel=TOLERANCE, abs=TOLERANCE)


def _smape_reference(true: np.ndarray, pred: np.ndarray) -> float:
    terms = []
    for t, p in zip(true.tolist(), pred.tolist(), strict=True):
        denominator = abs(t) + abs(p)
        terms.append(0.0 if denominator == 0 else 2 * abs(t - p) / denominator)
    return sum(terms) / len(terms)


@PROPERTY
@given(data=regression_data())
def test_smape_follows_its_formula(data: tuple[np.ndarray, np.ndarray]) -> None:
    true, pred = data
    value = get_scorer("smape")(true, pred)
    assert value == pytest.approx(_smape_reference(true, pred), rel=TOLERANCE, abs=TOLERANCE)
    assert 0.0 <= value <= 2.0


@PROPERTY
@given(data=regression_data(nonzero=True))
def test_wmape_and_mre_follow_their_formulas(data: tuple[np.ndarray, np.ndarray]) -> None:
    true, pred = data
    wmape = sum(abs(t - p) for t, p in zip(true, pred, strict=True)) / sum(abs(t) for t in true)
    mre = sum(abs(t - p) / abs(t) for t, p in zip(true, pred, strict=True)) / len(true)
    assert get_scorer("wmape")(true, pred) == pytest.approx(wmape, rel=TOLERANCE)
    assert get_scorer("mre")(true, pred) == pytest.approx(mre, rel=TOLERANCE)
    assert get_scorer("mre")(true, pred) == pytest.approx(
        skm.mean_absolute_percentage_error(true, pred), rel=1e-6
    )


def test_the_custom_formulas_on_edge_cases() -> None:
    assert get_scorer("smape")(np.array([0.0, 2.0]), np.array([0.0, 1.0])) == pytest.approx(1 / 3)
    assert get_scorer("wmape")(np.array([2.0, -2.0]), np.array([1.0, -2.0])) == 0.25
    with pytest.raises(ValueError, match="every true value is 0"):
        get_scorer("wmape")(np.zeros(3), np.ones(3))
    with pytest.raises(
        ValueError, match=r"mre is undefined when a true value is 0 \(1 such rows\)"
    ):
        get_scorer("mre")(np.array([0.0, 1.0]), np.ones(2))


def _sk_prf(
    function: Callable[..., float], average: str
) -> Callable[[np.ndarray, np.ndarray, list[Any]], float]:
    def reference(true: np.ndarray, pred: np.ndarray, classes: list[Any]) -> float:
        if average == "binary":
            return function(true, pred, pos_label=classes[1], average="binary", zero_division=0.0)
        return function(true, pred, labels=classes, average=average, zero_division=0.0)

    return reference


LABEL_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, list[Any]], float]] = {
    "accuracy": lambda t, p, c: skm.accuracy_score(t, p),
    "f1_macro": _sk_prf(skm.f1_score, "macro"),
    "f1_micro": _sk_prf(skm.f1_score, "micro"),
    "precision_macro": _sk_prf(skm.precision_score, "macro"),
    "recall_macro": _sk_prf(skm.recall_score, "macro"),
}
BINARY_METRICS = {
    "f1": _sk_prf(skm.f1_score, "binary"),
    "precision": _sk_prf(skm.precision_score, "binary"),
    "recall": _sk_prf(skm.recall_score, "binary"),
}


@pytest.mark.parametrize("name", sorted(LABEL_METRICS))
@PROPERTY
@given(data=label_data())
def test_label_metrics_equal_scikit_learn(
    name: str, data: tuple[np.ndarray, np.ndarray, list[Any]]
) -> None:
    true, pred, classes = data
    expected = LABEL_METRICS[name](true, pred, classes)
    assert get_scorer(name)(true, pred, classes=classes) == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("name", sorted(BINARY_METRICS))
@PROPERTY
@given(data=label_data([c for c in CLASS_SETS if len(c) == 2]))
def test_binary_metrics_use_the_second_class_as_positive(
    name: str, data: tuple[np.ndarray, np.ndarray, list[Any]]
) -> None:
    true, pred, classes = data
    expected = BINARY_METRICS[name](true, pred, classes)
    assert get_scorer(name)(true, pred, classes=classes) == pytest.approx(expected, abs=TOLERANCE)


@PROPERTY
@given(data=label_data())
def test_balanced_accuracy_equals_scikit_learn(
    data: tuple[np.ndarray, np.ndarray, list[Any]],
) -> None:
    true, pred, classes = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = skm.balanced_accuracy_score(true, pred)
        value = get_scorer("balanced_accuracy")(true, pred, classes=classes)
    assert value == pytest.approx(expected, abs=TOLERANCE)


def test_binary_metrics_without_classes_use_label_one() -> None:
    true, pred = np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 1, 1])
    assert get_scorer("f1")(true, pred) == pytest.approx(skm.f1_score(true, pred))
    assert get_scorer("recall")(true, pred) == pytest.approx(skm.recall_score(true, pred))


@PROPERTY
@given(data=probability_data())
def test_log_loss_equals_scikit_learn(data: tuple[np.ndarray, np.ndarray, list[Any]]) -> None:
    true, matrix, classes = data
    labels, columns = _sorted_columns(classes, matrix)
    expected = skm.log_loss(true, y_proba=columns, labels=labels)
    value = get_scorer("log_loss")(true, matrix, classes=classes)
    assert value == pytest.approx(expected, rel=TOLERANCE)


@PROPERTY
@given(data=probability_data(), k=st.integers(1, 3))
def test_roc_auc_and_top_k_equal_scikit_learn(
    data: tuple[np.ndarray, np.ndarray, list[Any]], k: int
) -> None:
    true, matrix, classes = data
    labels, columns = _sorted_columns(classes, matrix)
    if len(classes) == 2:
        positive = (true == classes[1]).astype(int)
        expected_auc = skm.roc_auc_score(positive, matrix[:, 1])
        scores = matrix[:, 1]
    else:
        expected_auc = skm.roc_auc_score(true, columns, multi_class="ovr", labels=labels)
        scores = matrix
        expected_top = skm.top_k_accuracy_score(true, columns, k=k, labels=labels)
        top = get_scorer("top_k_accuracy", k=k)(true, matrix, classes=classes)
        assert top == pytest.approx(expected_top, abs=TOLERANCE)
    value = get_scorer("roc_auc")(true, scores, classes=classes)
    assert value == pytest.approx(expected_auc, abs=TOLERANCE)


def test_probability_columns_follow_the_order_of_the_classes() -> None:
    true = np.array([7, 3, 1])
    confident = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    scorer = get_scorer("log_loss")
    assert scorer(true, confident, classes=[7, 3, 1]) == pytest.approx(-np.log(0.9))
    assert get_scorer("top_k_accuracy", k=1)(true, confident, classes=[7, 3, 1]) == 1.0


def test_a_nan_value_is_reported_as_undefined() -> None:
    with pytest.raises(ValueError, match="undefined"):
        get_scorer("r2")(np.array([1.0]), np.array([2.0]))

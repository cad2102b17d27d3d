"""Bootstrap intervals: exact vectorised kernels, determinism, coverage, budgets."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from challenge.scoring import bootstrap_distribution, bootstrap_interval, get_scorer
from challenge.scoring.bootstrap import (
    FALLBACK_ROW_BUDGET,
    MIN_RESAMPLES,
    effective_resamples,
    resample_plan,
)
from challenge.scoring.scorer import Scorer
from tests.scoring.scoring_data import perfect_and_bad, scorer_tasks


def _noisy(
    scorer: Scorer, task: str, seed: int
) -> tuple[np.ndarray, np.ndarray, list[object] | None]:
    """A prediction between perfect and poor, so that every metric varies across resamples."""
    y, good, bad, classes = perfect_and_bad(scorer, task, n=120, seed=seed)
    pick = np.random.default_rng(seed).random(len(y)) < 0.4
    mixed = np.where(pick.reshape(-1, *([1] * (good.ndim - 1))), bad, good)
    return y, mixed, classes


@pytest.mark.parametrize(("name", "task"), scorer_tasks())
def test_every_builtin_scorer_has_an_exact_vectorised_kernel(name: str, task: str) -> None:
    scorer = get_scorer(name)
    y, pred, classes = _noisy(scorer, task, seed=3)
    plan = resample_plan(scorer, y, pred, classes)
    assert plan.vectorised
    idx = np.random.default_rng(5).integers(0, len(y), size=(6, len(y)))
    idx[0] = np.arange(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = plan.statistic(idx)
        slow = [scorer(y[row], pred[row], classes=classes) for row in idx]
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12)
    assert len(set(slow)) > 1


def test_host_metrics_are_bootstrapped_per_resample() -> None:
    scorer = Scorer(
        name="median_abs",
        fn=lambda t, p: float(np.median(np.abs(t - p))),
        greater_is_better=False,
        response=get_scorer("mae").response,
    )
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    pred = y + rng.normal(size=300)
    plan = resample_plan(scorer, y, pred, None)
    assert not plan.vectorised and plan.row_budget == FALLBACK_ROW_BUDGET
    low, high = bootstrap_interval(y, pred, scorer, n_resamples=100)
    assert low < scorer(y, pred) < high


def test_the_interval_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    pred = y + rng.normal(size=500)
    mae = get_scorer("mae")
    first = bootstrap_interval(y, pred, mae, seed=7)
    assert bootstrap_interval(y, pred, mae, seed=7) == first
    assert bootstrap_interval(y, pred, mae, seed=8) != first
    assert len(bootstrap_distribution(y, pred, mae, n_resamples=321)) == 321


def test_the_interval_covers_the_true_value_about_as_often_as_it_says() -> None:
    rng = np.random.default_rng(2)
    truth = np.sqrt(2 / np.pi)
    covered = 0
    trials = 200
    for trial in range(trials):
        y = rng.normal(size=100)
        pred = y + rng.normal(size=100)
        low, high = bootstrap_interval(y, pred, get_scorer("mae"), n_resamples=200, seed=trial)
        covered += low <= truth <= high
    assert 0.86 <= covered / trials <= 0.99


def test_wider_confidence_gives_a_wider_interval() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, y, 1 - y)
    f1 = get_scorer("f1")
    narrow = bootstrap_interval(y, pred, f1, confidence=0.5, classes=[0, 1])
    wide = bootstrap_interval(y, pred, f1, confidence=0.99, classes=[0, 1])
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_budgets_cut_resamples_only_for_per_resample_metrics() -> None:
    assert effective_resamples(1_000_000, 1000, None) == 1000
    assert effective_resamples(1_000, 1000, FALLBACK_ROW_BUDGET) == 1000
    assert effective_resamples(1_000_000, 1000, FALLBACK_ROW_BUDGET) == max(MIN_RESAMPLES, 20)


def test_bad_arguments_are_refused() -> None:
    y = np.arange(10.0)
    mae = get_scorer("mae")
    with pytest.raises(ValueError, match="n_resamples must be a positive integer"):
        bootstrap_interval(y, y, mae, n_resamples=0)
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        bootstrap_interval(y, y, mae, confidence=95)
    with pytest.raises(ValueError, match="at least 2 rows"):
        bootstrap_interval(y[:1], y[:1], mae)
    with pytest.raises(ValueError, match="undefined on"):
        bootstrap_interval(np.zeros(10), np.ones(10), get_scorer("wmape"))


def test_a_hundred_thousand_rows_of_mae_are_fast() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=100_000)
    pred = y + rng.normal(size=100_000)
    start = time.perf_counter()
    bootstrap_interval(y, pred, get_scorer("mae"), n_resamples=1000)
    assert time.perf_counter() - start < 10.0


@pytest.mark.parametrize(
    "name", ["f1_macro", "precision_macro", "recall_macro", "f1_micro", "balanced_accuracy"]
)
def test_kernels_follow_scikit_learn_on_absent_and_never_predicted_classes(name: str) -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 60)
    pred = np.where(rng.random(60) < 0.5, y, 0)
    pred[y == 2] = 1
    classes = [0, 1, 2, 3]
    scorer = get_scorer(name)
    plan = resample_plan(scorer, y, pred, classes)
    idx = rng.integers(0, 60, size=(8, 60))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = [scorer(y[row], pred[row], classes=classes) for row in idx]
    assert plan.statistic(idx) == pytest.approx(slow, rel=1e-9, abs=1e-12)


def test_binary_kernels_handle_resamples_without_positives() -> None:
    y = np.array([0] * 18 + [1, 1])
    pred = np.array([0] * 17 + [1, 1, 0])
    idx = np.vstack([np.arange(20), np.zeros(20, dtype=int), np.full(20, 17)])
    for name in ("f1", "precision", "recall"):
        scorer = get_scorer(name)
        slow = [scorer(y[row], pred[row], classes=[0, 1]) for row in idx]
        fast = resample_plan(scorer, y, pred, [0, 1]).statistic(idx)
        assert fast == pytest.approx(slow, abs=1e-12)

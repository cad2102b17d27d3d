"""Bootstrap intervals: exact vectorised kernels, determinism, coverage, budgets, and the
cheaper ways to draw resamples (counts, strata) checked against resampled rows."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from challenge.scoring import bootstrap_distribution, bootstrap_interval, get_scorer
from challenge.scoring.bootstrap import (
    DEFAULT_RESAMPLES,
    EXACT_ROW_BUDGET,
    FALLBACK_ROW_BUDGET,
    MIN_RESAMPLES,
    Method,
    ResamplePlan,
    effective_resamples,
    resample_method,
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


def _quantiles(values: np.ndarray) -> np.ndarray:
    return np.quantile(values[np.isfinite(values)], [0.025, 0.5, 0.975])


def _rows_distribution(plan: ResamplePlan, n: int, resamples: int, seed: int) -> np.ndarray:
    """The exact bootstrap: n resampled row indices per resample."""
    rng = np.random.default_rng(seed)
    blocks = [plan.statistic(rng.integers(0, n, size=(50, n))) for _ in range(resamples // 50)]
    return np.concatenate(blocks)


def _large_cases(n: int) -> list[tuple[str, np.ndarray, np.ndarray, list[int] | None]]:
    """Metrics at a moderate n, with heavy tails where the metric allows them."""
    rng = np.random.default_rng(11)
    y = rng.normal(size=n)
    heavy = y + rng.lognormal(0.0, 2.5, n) * rng.choice([-1, 1], n)
    near_zero = rng.normal(size=n) * rng.choice([1.0, 1e-3], n, p=[0.99, 0.01])
    labels = rng.integers(0, 4, n)
    proba = rng.dirichlet(np.ones(4), n)
    proba[np.arange(n), labels] += rng.exponential(1.0, n)
    proba /= proba.sum(axis=1, keepdims=True)
    binary = (y > 0).astype(int)
    return [
        ("mae", y, heavy, None),
        ("rmse", y, heavy, None),
        ("r2", y, y + rng.standard_t(3, n), None),
        ("mape", near_zero, near_zero + rng.normal(size=n), None),
        ("wmape", np.abs(y) + 0.1, np.abs(heavy), None),
        ("log_loss", labels, proba, [0, 1, 2, 3]),
        ("roc_auc", binary, 1 / (1 + np.exp(-2 * y + rng.normal(size=n))), [0, 1]),
        ("roc_auc", labels, proba, [0, 1, 2, 3]),
    ]


@pytest.mark.parametrize("case", range(8))
def test_strata_agree_with_resampled_rows_on_moderate_n(case: int) -> None:
    n, resamples = 24_000, 1000
    name, y, pred, classes = _large_cases(n)[case]
    scorer = get_scorer(name)
    plan = resample_plan(scorer, y, pred, classes, n_resamples=resamples)
    assert resample_method(plan, n, resamples) is Method.STRATA
    assert plan.means is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = _quantiles(_rows_distribution(plan, n, resamples, seed=1))
        drawn = _quantiles(plan.means.draw(resamples, np.random.default_rng(2)))
    width = exact[2] - exact[0]
    assert np.abs(drawn - exact).max() < 0.12 * width, (name, exact, drawn)


@pytest.mark.parametrize(("name", "classes"), [("accuracy", [0, 1, 2]), ("f1_macro", [0, 1, 2])])
def test_counts_follow_the_distribution_of_resampled_rows(name: str, classes: list[int]) -> None:
    n, resamples = 5_000, 2000
    rng = np.random.default_rng(12)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, 3, n))
    plan = resample_plan(get_scorer(name), y, pred, classes)
    assert resample_method(plan, n, resamples) is Method.COUNTS
    assert plan.categories is not None
    exact = _quantiles(_rows_distribution(plan, n, resamples, seed=3))
    drawn = _quantiles(plan.categories.draw(resamples, np.random.default_rng(4)))
    assert np.abs(drawn - exact).max() < 0.08 * (exact[2] - exact[0])


def test_large_n_intervals_cover_the_true_value_about_as_often_as_they_say() -> None:
    rng = np.random.default_rng(13)
    n, trials, covered = 30_000, 100, 0
    truth = np.exp(0.5)  # E|error| of a lognormal(0, 1) error with a random sign
    for trial in range(trials):
        y = rng.normal(size=n)
        pred = y + rng.lognormal(0.0, 1.0, n) * rng.choice([-1, 1], n)
        low, high = bootstrap_interval(y, pred, get_scorer("mae"), seed=trial)
        covered += low <= truth <= high
    assert 0.86 <= covered / trials <= 1.0


def test_methods_follow_the_size_and_the_metric() -> None:
    rng = np.random.default_rng(14)
    small, large = 500, 40_000
    for n, expected in ((small, Method.ROWS), (large, Method.STRATA)):
        y = rng.normal(size=n)
        plan = resample_plan(get_scorer("mae"), y, y + 1, None)
        assert resample_method(plan, n, DEFAULT_RESAMPLES) is expected
    labels = rng.integers(0, 2, large)
    plan = resample_plan(get_scorer("f1"), labels, 1 - labels, [0, 1])
    assert resample_method(plan, large, DEFAULT_RESAMPLES) is Method.COUNTS
    host = Scorer(
        name="median_abs",
        fn=lambda t, p: float(np.median(np.abs(t - p))),
        greater_is_better=False,
        response=get_scorer("mae").response,
    )
    y = rng.normal(size=large)
    assert resample_method(resample_plan(host, y, y, None), large, 1000) is Method.ROWS
    assert large * DEFAULT_RESAMPLES > EXACT_ROW_BUDGET >= small * DEFAULT_RESAMPLES


def test_large_n_intervals_are_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(15)
    y = rng.normal(size=50_000)
    pred = y + rng.normal(size=50_000)
    for name in ("mae", "r2", "accuracy"):
        args = (y, pred) if name != "accuracy" else (y > 0, pred > 0)
        classes = [False, True] if name == "accuracy" else None
        first = bootstrap_interval(*args, get_scorer(name), seed=7, classes=classes)
        assert bootstrap_interval(*args, get_scorer(name), seed=7, classes=classes) == first
        assert bootstrap_interval(*args, get_scorer(name), seed=8, classes=classes) != first


def test_rows_with_an_undefined_term_are_drawn_exactly_at_large_n() -> None:
    rng = np.random.default_rng(16)
    n = 40_000
    y = rng.uniform(1, 2, n)
    y[123] = 0.0  # mre divides by the truth: one row makes every resample that draws it infinite
    values = bootstrap_distribution(y, y + 0.1, get_scorer("mre"), n_resamples=2000)
    undefined = float(np.mean(~np.isfinite(values)))
    assert undefined == pytest.approx(1 - np.exp(-1), abs=0.04)
    with pytest.raises(ValueError, match="undefined on"):
        bootstrap_interval(y, y + 0.1, get_scorer("mre"))

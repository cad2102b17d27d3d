"""Percentile bootstrap confidence intervals of a metric, vectorised with numpy.

Three ways to draw the resamples, all with the row bootstrap's distribution (see docs/metrics.md):
`rows` draws n row indices per resample; `counts` draws a resample's counts per category from
the exact multinomial (confusion-matrix metrics, accuracy); `strata` draws the resampled means of
per-row components by strata (regression metrics, log loss, ROC AUC at large n).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from challenge.scoring import metrics as m
from challenge.scoring.labels import encode_labels
from challenge.scoring.registry import is_builtin
from challenge.scoring.resampling import Categories, Combine, Means, auc_influence
from challenge.scoring.scorer import Scorer

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
CHUNK_ELEMENTS = 500_000
"""Resampled rows per block (resamples x rows): small enough to stay in the processor cache."""
EXACT_ROW_BUDGET = 20_000_000
"""Rows drawn one by one (rows x resamples; ROC AUC: x one-vs-rest classes) before a metric that
can be drawn by strata is: 1000 resamples of up to 20,000 rows are always drawn row by row."""
ROWS_PER_CATEGORY = 4
"""Counts per category are drawn instead of rows when there are at least this many rows each."""
FALLBACK_ROW_BUDGET = 20_000_000
"""Metrics without a vectorised kernel call the scorer per resample: at most this many rows..."""
MIN_RESAMPLES = 200
"""...but a budget never cuts the number of resamples below this."""
AUC_CHUNK_ELEMENTS = 200_000
"""ROC AUC works on small blocks that stay in the processor's cache."""
MAX_UNDEFINED_FRACTION = 0.1
"""Resamples where the metric is undefined (e.g. a class absent) are dropped, up to this share."""

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps a (c, n) block of resample indices to the metric on each of the c resamples."""


class Method(StrEnum):
    """How the resamples of a bootstrap are drawn."""

    ROWS = "rows"
    """n row indices per resample (exact)."""
    COUNTS = "counts"
    """Each resample's counts per category, from the multinomial (exact)."""
    STRATA = "strata"
    """Each resample's means of per-row components, by strata (large n; see resampling.py)."""


@dataclass(frozen=True)
class ResamplePlan:
    """How to bootstrap one metric: the exact statistic on row indices, block size, budgets, and
    the cheaper shapes the metric also has."""

    statistic: Statistic
    vectorised: bool
    chunk_elements: int = CHUNK_ELEMENTS
    row_budget: int | None = None
    categories: Categories | None = None
    means: Means | None = None
    exact_rows: int = EXACT_ROW_BUDGET


def resample_method(plan: ResamplePlan, n_rows: int, n_resamples: int) -> Method:
    """The cheapest way to draw this plan's resamples that keeps the bootstrap honest."""
    if plan.categories is not None and plan.categories.k * ROWS_PER_CATEGORY <= n_rows:
        return Method.COUNTS
    if plan.means is not None and n_rows * n_resamples > plan.exact_rows:
        return Method.STRATA
    return Method.ROWS


def _first(parts: list[np.ndarray]) -> np.ndarray:
    """The first (only) component's resample means."""
    return parts[0]


def _means(components: Sequence[np.ndarray], combine: Combine) -> Means:
    """A statistic computed from the resampled means of per-row components."""
    return Means([np.asarray(c, dtype=np.float64) for c in components], combine)


def _share_of_hits(hit: np.ndarray) -> Categories:
    """The share of rows that are hits (accuracy, top-k accuracy), from counts of hits."""
    return Categories(hit.astype(np.int64), 2, lambda counts: counts[:, 1] / counts.sum(axis=1))


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _confusion(
    true: np.ndarray, pred: np.ndarray, k: int, combine: Callable[[np.ndarray], np.ndarray]
) -> Categories:
    """A statistic computed from each resample's k x k confusion matrix (rows true, cols pred)."""
    return Categories(
        true * k + pred, k * k, lambda counts: combine(counts.reshape(len(counts), k, k))
    )


def _prf_combine(kind: str, average: str) -> Callable[[np.ndarray], np.ndarray]:
    """Precision, recall or F1 from confusion matrices, as scikit-learn computes them."""

    def combine(cm: np.ndarray) -> np.ndarray:
        tp = np.diagonal(cm, axis1=1, axis2=2)
        predicted = cm.sum(axis=1)
        actual = cm.sum(axis=2)
        if average == "micro":
            tp, predicted, actual = (a.sum(axis=1, keepdims=True) for a in (tp, predicted, actual))
        elif average == "binary":
            tp, predicted, actual = (a[:, 1:2] for a in (tp, predicted, actual))
        if kind == "precision":
            per_class = _safe_ratio(tp, predicted)
        elif kind == "recall":
            per_class = _safe_ratio(tp, actual)
        else:
            per_class = _safe_ratio(2 * tp, predicted + actual)
        return per_class.mean(axis=1)

    return combine


def _balanced_combine(cm: np.ndarray) -> np.ndarray:
    """Mean recall over the classes present in each resample's truth."""
    actual = cm.sum(axis=2)
    recall = np.diagonal(cm, axis1=1, axis2=2) / np.where(actual == 0, 1.0, actual)
    present = actual > 0
    return np.where(present, recall, 0.0).sum(axis=1) / present.sum(axis=1)


def _auc_statistic(tasks: Sequence[tuple[np.ndarray, np.ndarray]]) -> Statistic:
    """Mean ROC AUC over (score group, is_positive) tasks, from each resample's counts per group.

    Each row is coded once as (rank of its distinct score, positive or not); a resample counts
    its rows per code, and the AUC is the share of (positive, negative) pairs ranked correctly,
    ties counting 1/2, exactly as the Mann-Whitney statistic that scikit-learn's AUC equals.
    """
    prepared = [
        (2 * group + positive.astype(np.int64), int(group.max()) + 1) for group, positive in tasks
    ]

    def statistic(idx: np.ndarray) -> np.ndarray:
        c = idx.shape[0]
        aucs = []
        for codes, n_groups in prepared:
            offsets = (np.arange(c, dtype=np.int64) * 2 * n_groups)[:, None]
            flat = np.bincount((np.take(codes, idx) + offsets).ravel(), minlength=c * 2 * n_groups)
            counts = flat.reshape(c, n_groups, 2).astype(np.float64)
            w_neg, w_pos = counts[:, :, 0], counts[:, :, 1]
            below = np.cumsum(w_neg, axis=1) - w_neg
            pairs = (w_pos * (below + 0.5 * w_neg)).sum(axis=1)
            total = w_pos.sum(axis=1) * w_neg.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                aucs.append(np.where(total > 0, pairs / np.where(total > 0, total, 1.0), np.nan))
        return np.mean(aucs, axis=0)

    return statistic


def _label_indices(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any] | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Both label arrays as indices into the classes (inferred from the data when not given)."""
    if classes is None:
        classes = np.unique(np.concatenate([y_true, y_pred])).tolist()
    return encode_labels(y_true, classes), encode_labels(y_pred, classes), len(classes)


def _regression_means(fn: Callable[..., float], true: np.ndarray, pred: np.ndarray) -> Means:
    """A built-in regression metric as a function of the means of per-row terms."""
    err = true - pred
    abs_err = np.abs(err)
    sq_err = err * err
    if fn is m.mae:
        return _means([abs_err], _first)
    if fn is m.mse:
        return _means([sq_err], _first)
    if fn is m.rmse:
        return _means([sq_err], lambda parts: np.sqrt(parts[0]))
    if fn is m.mape:
        floor = np.finfo(np.float64).eps
        return _means([abs_err / np.maximum(np.abs(true), floor)], _first)
    if fn is m.smape:
        return _means([m.smape_terms(true, pred)], _first)
    if fn is m.mre:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _means([abs_err / np.abs(true)], _first)
    if fn is m.wmape:
        return _means(
            [abs_err, np.abs(true)],
            lambda parts: np.where(
                parts[1] == 0, np.nan, parts[0] / np.where(parts[1] == 0, 1, parts[1])
            ),
        )
    centred = true - true.mean()
    spread = max(float(np.mean(centred * centred)), 1e-300)

    def r2(parts: list[np.ndarray]) -> np.ndarray:
        sse, mean, mean_sq = parts
        variance = mean_sq - mean * mean
        constant = variance <= 1e-12 * spread
        safe = np.where(constant, 1.0, variance)
        return np.where(constant, np.where(sse == 0, 1.0, 0.0), 1.0 - sse / safe)

    return _means([sq_err, centred, centred * centred], r2)


def resample_plan(
    scorer: Scorer,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: Sequence[Any] | None,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> ResamplePlan:
    """How to bootstrap a metric: a vectorised kernel when there is one, else per resample."""
    if is_builtin(scorer):
        if scorer.fn is m.roc_auc and classes is not None:
            return _auc_plan(y_true, y_pred, classes, n_resamples)
        kernel = _kernel(scorer, y_true, y_pred, classes)
        if isinstance(kernel, Categories):
            return ResamplePlan(kernel.on_indices, vectorised=True, categories=kernel)
        if isinstance(kernel, Means):
            return ResamplePlan(kernel.on_indices, vectorised=True, means=kernel)
    fallback = _fallback(scorer, y_true, y_pred, classes)
    return ResamplePlan(fallback, vectorised=False, row_budget=FALLBACK_ROW_BUDGET)


def _auc_plan(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any], n_resamples: int
) -> ResamplePlan:
    """ROC AUC: binary on the positive class, else one-vs-rest averaged over the classes.

    Exact Mann-Whitney counts on resampled rows; at large n, the mean over the classes of each
    row's influence value drawn by strata (DeLong's normal limit, skewness kept).
    """
    true = encode_labels(y_true, classes)
    matrix = np.asarray(y_pred, dtype=np.float64)
    if matrix.ndim == 2 and matrix.shape[1] == 2:
        matrix = matrix[:, 1]
    columns = [matrix] if matrix.ndim == 1 else [matrix[:, j] for j in range(matrix.shape[1])]
    positives = [true == 1] if matrix.ndim == 1 else [true == j for j in range(len(columns))]
    tasks = [
        (_score_groups(scores), positive)
        for scores, positive in zip(columns, positives, strict=True)
    ]
    if len(true) * n_resamples * len(tasks) > EXACT_ROW_BUDGET:
        pieces = [auc_influence(group, positive) for group, positive in tasks]
        auc = float(np.mean([a for a, _ in pieces]))
        influence = np.mean([i for _, i in pieces], axis=0)
        means: Means | None = _means([influence], lambda parts: auc + parts[0])
    else:
        means = None  # only drawn row by row: the influence values are not worth computing
    return ResamplePlan(
        _auc_statistic(tasks),
        vectorised=True,
        chunk_elements=AUC_CHUNK_ELEMENTS,
        means=means,
        exact_rows=EXACT_ROW_BUDGET // len(tasks),
    )


def _score_groups(scores: np.ndarray) -> np.ndarray:
    """Each row's rank among the distinct scores (ties share a rank)."""
    _, group = np.unique(scores, return_inverse=True)
    return np.asarray(group.reshape(-1), dtype=np.int64)


def _kernel(
    scorer: Scorer, y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any] | None
) -> Categories | Means | None:
    """A vectorised shape of a built-in metric, or None to call the scorer per resample."""
    fn = scorer.fn
    if fn in (m.mae, m.mse, m.rmse, m.r2, m.mape, m.smape, m.wmape, m.mre):
        true = np.asarray(y_true, dtype=np.float64)
        pred = np.asarray(y_pred, dtype=np.float64)
        return _regression_means(fn, true, pred)
    if fn is m.accuracy:
        true, pred, _ = _label_indices(y_true, y_pred, classes)
        return _share_of_hits(true == pred)
    prf = {
        m.f1: ("f1", "binary"),
        m.f1_macro: ("f1", "macro"),
        m.f1_micro: ("f1", "micro"),
        m.precision: ("precision", "binary"),
        m.precision_macro: ("precision", "macro"),
        m.recall: ("recall", "binary"),
        m.recall_macro: ("recall", "macro"),
    }
    if fn in prf:
        true, pred, k = _label_indices(y_true, y_pred, classes)
        if prf[fn][1] == "binary" and (classes is None or k != 2):
            return None
        return _confusion(true, pred, k, _prf_combine(*prf[fn]))
    if fn is m.balanced_accuracy:
        true, pred, k = _label_indices(y_true, y_pred, classes)
        return _confusion(true, pred, k, _balanced_combine)
    if classes is None:
        return None
    true = encode_labels(y_true, classes)
    matrix = np.asarray(y_pred, dtype=np.float64)
    if fn is m.log_loss:
        matrix = m.probability_matrix(matrix, classes)
        eps = np.finfo(np.float64).eps
        picked = np.clip(matrix[np.arange(len(true)), true], eps, 1 - eps)
        return _means([-np.log(picked)], _first)
    if fn is m.top_k_accuracy and matrix.ndim == 2 and matrix.shape[1] > 2:
        k = int(scorer.params.get("k", 5))
        ranked = np.argsort(matrix, axis=1, kind="mergesort")[:, ::-1][:, :k]
        return _share_of_hits((ranked == true[:, None]).any(axis=1))
    return None


def _fallback(
    scorer: Scorer, y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[Any] | None
) -> Statistic:
    """Call the scorer on each resample (for host metrics and the rare built-in without kernel)."""

    def statistic(idx: np.ndarray) -> np.ndarray:
        values = []
        for row in idx:
            try:
                values.append(scorer(y_true[row], y_pred[row], classes=classes))
            except (ValueError, ZeroDivisionError, FloatingPointError):
                values.append(math.nan)
        return np.asarray(values, dtype=np.float64)

    return statistic


def effective_resamples(n_rows: int, n_resamples: int, row_budget: int | None) -> int:
    """Resamples drawn: all of them, unless that would exceed the metric's row budget."""
    if row_budget is None:
        return n_resamples
    affordable = max(MIN_RESAMPLES, row_budget // max(n_rows, 1))
    return min(n_resamples, affordable)


def bootstrap_distribution(
    y_true: Any,
    y_pred: Any,
    scorer: Scorer,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    classes: Sequence[Any] | None = None,
) -> np.ndarray:
    """The metric on each bootstrap resample of the rows (undefined resamples are NaN)."""
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(true)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if n < 2 or len(pred) != n:
        raise ValueError(
            f"the bootstrap needs at least 2 rows with one prediction each (got {n}, {len(pred)})"
        )
    plan = resample_plan(scorer, true, pred, classes, n_resamples)
    method = resample_method(plan, n, n_resamples)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method is Method.COUNTS and plan.categories is not None:
            return plan.categories.draw(n_resamples, rng)
        if method is Method.STRATA and plan.means is not None:
            return plan.means.draw(n_resamples, rng)
        return _rows(plan, n, n_resamples, rng)


def _rows(plan: ResamplePlan, n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The statistic on resamples of n row indices each, in blocks of `chunk_elements`."""
    total = effective_resamples(n, n_resamples, plan.row_budget)
    chunk = max(1, min(total, plan.chunk_elements // n))
    index_type = np.int32 if n < 2**31 else np.int64
    results = []
    for start in range(0, total, chunk):
        size = min(chunk, total - start)
        results.append(plan.statistic(rng.integers(0, n, size=(size, n), dtype=index_type)))
    return np.concatenate(results)


def bootstrap_interval(
    y_true: Any,
    y_pred: Any,
    scorer: Scorer,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    classes: Sequence[Any] | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap interval (low, high) of the metric, deterministic for a seed."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    values = bootstrap_distribution(
        y_true, y_pred, scorer, n_resamples=n_resamples, seed=seed, classes=classes
    )
    defined = values[np.isfinite(values)]
    if len(defined) < (1 - MAX_UNDEFINED_FRACTION) * len(values):
        raise ValueError(
            f"metric {scorer.name!r} is undefined on {len(values) - len(defined)} of "
            f"{len(values)} bootstrap resamples (too few rows or a rare class); no interval"
        )
    alpha = 1 - confidence
    low, high = np.quantile(defined, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)

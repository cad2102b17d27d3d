"""Confidence intervals for a host program's score from its per-row scores.

A scoring program may write, next to `scores.json`, `rows.json`: `{key: [one number per row]}`
for keys whose score is the mean of those rows (accuracy, MAE, a per-sample loss...). Such a
score is decomposable, so the board shows a percentile bootstrap interval of the mean; any other
score gets "no interval". `decomposes` checks that the rows really average to the score.
"""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 1000
EXACT_ROWS = 20_000
"""Above this many rows the bootstrap of the mean is replaced by its normal limit."""


def decomposes(score: float, rows: np.ndarray) -> bool:
    """Whether `score` is the mean of `rows` (to a relative 1e-6)."""
    if rows.size == 0:
        return False
    return math.isclose(float(rows.mean()), score, rel_tol=1e-6, abs_tol=1e-9)


def mean_interval(
    rows: np.ndarray, *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """A percentile bootstrap interval of the mean of `rows` (normal limit for many rows)."""
    values = np.asarray(rows, dtype=float)
    n = values.size
    alpha = (1 - level) / 2
    if n > EXACT_ROWS:
        half = 1.959963984540054 * float(values.std(ddof=1)) / math.sqrt(n)
        centre = float(values.mean())
        return centre - half, centre + half
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 100):
        block = min(100, resamples - start)
        means[start : start + block] = values[rng.integers(0, n, size=(block, n))].mean(axis=1)
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)

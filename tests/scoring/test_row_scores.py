"""Intervals of decomposable program scores from their per-row values."""

from __future__ import annotations

import numpy as np

from challenge.scoring.row_scores import EXACT_ROWS, decomposes, mean_interval


def test_an_interval_brackets_the_mean_and_narrows_with_rows() -> None:
    rng = np.random.default_rng(0)
    small = (rng.random(100) < 0.7).astype(float)
    large = (rng.random(EXACT_ROWS + 1) < 0.7).astype(float)
    low, high = mean_interval(small)
    assert low < small.mean() < high
    big_low, big_high = mean_interval(large)
    assert big_low < large.mean() < big_high and big_high - big_low < high - low
    assert mean_interval(small) == (low, high)  # seeded: the same board every time


def test_only_rows_that_average_to_the_score_decompose_it() -> None:
    rows = np.array([1.0, 0.0, 1.0, 1.0])
    assert decomposes(0.75, rows)
    assert not decomposes(0.5, rows)
    assert not decomposes(0.0, np.array([]))

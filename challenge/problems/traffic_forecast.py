"""traffic-forecast: forecast the next 24 hours of traffic per cell (ITU AI/ML in 5G, 2023)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from challenge.problems.base import (
    LISTED_KPIS,
    PUBLIC_FRACTION,
    GeneratedData,
    Problem,
    competition_settings,
    markdown_page,
    save_joblib_baseline,
    split_column,
)

PROBLEM_ID = "traffic-forecast"
ID, TARGET = "id", "traffic_gb"
HORIZON_H = 24
WARMUP_DAYS, TRAIN_DAYS, TEST_DAYS = 7, 35, 7
TRAIN_ORIGINS_PER_CELL = 4
"""Training forecasts per cell, one in each of four spans of the training weeks, at random hours."""
TEST_ROWS_PER_CELL = HORIZON_H
"""One test forecast per cell: no test row's history can hold another test row's target."""
CELLS_PER_CHUNK = 2_000
"""Cells simulated together (memory stays flat up to a million test rows and more)."""
HOURS = (WARMUP_DAYS + TRAIN_DAYS + TEST_DAYS + 1) * 24
NOISE_SIGMA = 0.15
LAG_FEATURES = ["last_value", "lag_24h", "lag_168h", "same_hour_mean_7d", "mean_24h", "mean_168h"]
FEATURES = ["cell", "horizon", "hour", "day_of_week", "holiday", *LAG_FEATURES]


def _bump(hour: np.ndarray, peak: np.ndarray, width: np.ndarray) -> np.ndarray:
    """A daily peak: a Gaussian in circular hour distance."""
    distance = np.abs((hour - peak + 12.0) % 24.0 - 12.0)
    return np.asarray(np.exp(-0.5 * (distance / width) ** 2))


def _holidays(rng: np.random.Generator) -> np.ndarray:
    """A flag per day: two public holidays in training, one in the test week."""
    days = np.zeros(HOURS // 24, dtype=bool)
    train = rng.choice(np.arange(WARMUP_DAYS, WARMUP_DAYS + TRAIN_DAYS), size=2, replace=False)
    days[train] = True
    days[WARMUP_DAYS + TRAIN_DAYS + rng.integers(1, TEST_DAYS)] = True
    return days


def _events(
    rng: np.random.Generator, n_cells: int, per_day: float, max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random events per cell: (cell, start hour, length in hours), Poisson in number."""
    counts = rng.poisson(per_day * HOURS / 24, size=n_cells)
    cells = np.repeat(np.arange(n_cells), counts)
    starts = rng.integers(0, HOURS, size=cells.size)
    lengths = rng.integers(1, max_len + 1, size=cells.size)
    return cells, starts, lengths


def _burst_factor(rng: np.random.Generator, n_cells: int) -> np.ndarray:
    """Multiplicative traffic bursts (events, gatherings): 1 outside a burst."""
    factor = np.ones((n_cells, HOURS))
    cells, starts, lengths = _events(rng, n_cells, per_day=0.1, max_len=5)
    gains = rng.uniform(1.5, 3.5, size=cells.size)
    for step in range(5):
        on = (lengths > step) & (starts + step < HOURS)
        np.maximum.at(factor, (cells[on], starts[on] + step), gains[on])
    return factor


def _missing_mask(rng: np.random.Generator, n_cells: int) -> np.ndarray:
    """Samples lost by the collector: isolated drops and multi-hour outages."""
    missing = rng.random((n_cells, HOURS)) < 0.02
    cells, starts, lengths = _events(rng, n_cells, per_day=1 / 14, max_len=12)
    for step in range(12):
        on = (lengths > step) & (starts + step < HOURS)
        missing[cells[on], starts[on] + step] = True
    return missing


def _series(
    rng: np.random.Generator, n_cells: int, holidays: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell and hour: expected and realised traffic, and the history with gaps (NaN)."""
    hours = np.arange(HOURS, dtype=float)
    hour_of_day, day = hours % 24, (hours // 24).astype(int)
    weekend = (day % 7 >= 5) | holidays[day]
    col = (n_cells, 1)
    level = rng.lognormal(np.log(2.0), 0.6, size=col)
    business = rng.uniform(0.0, 1.0, size=col)
    office_peak, home_peak = rng.normal(11.5, 1.0, size=col), rng.normal(20.5, 1.0, size=col)
    office = _bump(hour_of_day, office_peak, np.full(col, 3.0))
    home = _bump(hour_of_day, home_peak, np.full(col, 2.5))
    workday = 0.25 + business * office + (1 - business) * 0.8 * home
    rest = 0.25 + 0.3 * business * office + (1 - business) * 1.1 * home
    profile = np.where(weekend, rest, workday)
    trend = np.exp(rng.normal(0.004, 0.004, size=col) * hours / 24)
    expected = level * profile * trend * _burst_factor(rng, n_cells)
    noise = np.exp(rng.normal(0.0, NOISE_SIGMA, size=expected.shape))
    realised = expected * noise
    history = np.where(_missing_mask(rng, n_cells), np.nan, realised)
    return expected, realised, history


def _window_mean(history: np.ndarray, width: int) -> np.ndarray:
    """Mean of the observed samples in the `width` hours ending at each hour (NaN if none)."""
    observed = ~np.isnan(history)
    sums = np.cumsum(np.where(observed, history, 0.0), axis=1)
    counts = np.cumsum(observed, axis=1)
    pad = np.zeros((history.shape[0], width))
    sums = sums - np.concatenate([pad, sums[:, :-width]], axis=1)
    counts = counts - np.concatenate([pad, counts[:, :-width]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _forward_fill(history: np.ndarray) -> np.ndarray:
    """The last observed value at or before each hour."""
    index = np.where(np.isnan(history), 0, np.arange(history.shape[1]))
    np.maximum.accumulate(index, axis=1, out=index)
    return np.take_along_axis(history, index, axis=1)


def _rows(
    cells: np.ndarray, origins: np.ndarray, series: dict[str, np.ndarray], holidays: np.ndarray
) -> pd.DataFrame:
    """One row per (cell, origin, step): the features known at the origin for that target hour."""
    cell = np.repeat(cells, HORIZON_H)
    origin = np.repeat(origins, HORIZON_H)
    step = np.tile(np.arange(1, HORIZON_H + 1), cells.size)
    target = origin + step
    history = series["history"]
    same_hour = np.stack([history[cell, target - 24 * k] for k in range(1, 8)], axis=1)
    seen = ~np.isnan(same_hour)
    with np.errstate(invalid="ignore", divide="ignore"):
        same_hour_mean = np.where(
            seen.any(axis=1), np.nansum(same_hour, axis=1) / seen.sum(1), np.nan
        )
    lags = {
        "last_value": series["last"][cell, origin],
        "lag_24h": history[cell, target - 24],
        "lag_168h": history[cell, target - 168],
        "same_hour_mean_7d": same_hour_mean,
        "mean_24h": series["mean_24h"][cell, origin],
        "mean_168h": series["mean_168h"][cell, origin],
    }
    frame = pd.DataFrame(
        {
            "cell": cell.astype(np.int32),
            "horizon": step.astype(np.int8),
            "hour": (target % 24).astype(np.int8),
            "day_of_week": (target // 24 % 7).astype(np.int8),
            "holiday": holidays[target // 24].astype(np.int8),
            **{name: np.round(values, 4).astype(np.float32) for name, values in lags.items()},
        }
    )
    frame[TARGET] = np.round(series["realised"][cell, target], 4)
    frame["expected"] = series["expected"][cell, target]
    return frame


def _origins(
    rng: np.random.Generator, n_cells: int, first: int, span: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """(cell, origin) pairs: `count` origins per cell, one at a random hour in each of `count`
    equal parts of the `span` hours (less a horizon) that start at `first`."""
    part = (span - HORIZON_H) // count
    origins = first + part * np.arange(count) + rng.integers(0, part, size=(n_cells, count))
    return np.repeat(np.arange(n_cells), count), origins.ravel()


def _cut(
    rng: np.random.Generator, n_cells: int, holidays: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate `n_cells` cells and cut their training and test rows (cells numbered from 0)."""
    expected, realised, history = _series(rng, n_cells, holidays)
    series = {
        "expected": expected,
        "realised": realised,
        "history": history,
        "last": _forward_fill(history),
        "mean_24h": _window_mean(history, 24),
        "mean_168h": _window_mean(history, 168),
    }
    del expected, realised, history
    train_cut = _origins(rng, n_cells, WARMUP_DAYS * 24, TRAIN_DAYS * 24, TRAIN_ORIGINS_PER_CELL)
    test_cut = _origins(rng, n_cells, (WARMUP_DAYS + TRAIN_DAYS) * 24, TEST_DAYS * 24, 1)
    return (
        _rows(train_cut[0], train_cut[1], series, holidays),
        _rows(test_cut[0], test_cut[1], series, holidays),
    )


def simulate(seed: int, size: int) -> GeneratedData:
    """Simulate hourly cell traffic and cut it into (origin, step) rows; `size` test rows."""
    rng = np.random.default_rng([seed, 2023])
    n_cells = -(-size // TEST_ROWS_PER_CELL)
    holidays = _holidays(rng)
    trains, tests = [], []
    for chunk, first in enumerate(range(0, n_cells, CELLS_PER_CHUNK)):
        cells = min(CELLS_PER_CHUNK, n_cells - first)
        train_part, test_part = _cut(np.random.default_rng([seed, 2023, 2, chunk]), cells, holidays)
        for part in (train_part, test_part):
            part["cell"] += first
        trains.append(train_part)
        tests.append(test_part)
    train = pd.concat(trains, ignore_index=True)
    test = pd.concat(tests, ignore_index=True).iloc[:size]
    del trains, tests
    # in random order: neighbouring rows are not neighbouring hours of one cell
    test = test.iloc[rng.permutation(len(test))].reset_index(drop=True)
    train.insert(0, ID, np.arange(len(train), dtype=np.int64))
    test.insert(0, ID, np.arange(len(train), len(train) + len(test), dtype=np.int64))
    labels = test[[ID, TARGET]].copy()
    labels["split"] = split_column(
        len(test), PUBLIC_FRACTION, np.random.default_rng([seed, 2023, 1])
    )
    truth = test[[ID, "expected"]].copy()
    return GeneratedData(
        train=train.drop(columns="expected"),
        test=test[[ID, *FEATURES]],
        labels=labels,
        extras={"expected": truth},
    )


def settings() -> dict[str, Any]:
    """competition.yaml of traffic-forecast, with its ML intent."""
    horizon = {"kind": "forecast_horizon", "params": {"column": "horizon", "steps": HORIZON_H}}
    return competition_settings(
        PROBLEM,
        id_column=ID,
        target=TARGET,
        metrics=["mae", "smape"],
        time_s=300,
        preprocessing=[horizon],
        kpis=LISTED_KPIS,
        ranking={"by": "metric"},
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """Fit a linear model on the lag features (missing lags imputed, with indicators)."""
    model = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), LinearRegression())
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="Cell traffic forecasting (24 h ahead)",
    summary="Forecast each cell's hourly traffic over the next 24 hours from its recent history.",
    task="forecast",
    default_size=48_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L3",
    data_handling={
        "source": "simulated by the built-in simulator challenge/problems/traffic_forecast.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)

"""kpi-anomaly: detect faults of 5G core network functions from KPI windows (KDDI, 2021-2022)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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

PROBLEM_ID = "kpi-anomaly"
ID, TARGET = "id", "fault"
WINDOW_MIN = 15
DAY_MIN = 1440
WINDOWS_PER_WEEK = 7 * DAY_MIN // WINDOW_MIN
MINUTES = 7 * DAY_MIN
"""One week of minutes per network function."""
PAST_WINDOWS = 4
"""Each row also summarises the hour before its window (its past only, never what follows)."""
WINDOWS_PER_NODE = WINDOWS_PER_WEEK - PAST_WINDOWS
"""Windows of a week that have a whole past hour: a training function gives all of them."""
TEST_SPACING = 6
"""A test function gives one window in six (90 minutes apart): no test window lies in another test
row's window or past hour, so no row can read what follows another."""
NODES_PER_CHUNK = 32
KPIS = ["cpu", "memory", "registrations", "packet_loss", "latency"]
STATS = ["mean", "std", "min", "max", "slope"]
PAST_STATS = ["past_mean", "past_std"]
FEATURES = [
    "hour",
    "day_of_week",
    *[f"{k}_{s}" for k in KPIS for s in STATS],
    *[f"{k}_{s}" for k in KPIS for s in PAST_STATS],
]
FAULT_TYPES = ["none", "interface_down", "memory_leak", "packet_loss_ramp"]
# per fault type: (faults per node per day, shortest and longest duration in minutes)
FAULT_PLAN = {1: (1.3, 5, 30), 2: (0.5, 60, 300), 3: (0.9, 20, 120)}


def _lagged(signal: np.ndarray, minutes: int) -> np.ndarray:
    """The signal delayed by `minutes` (zero before it starts)."""
    out = np.zeros_like(signal)
    out[:, minutes:] = signal[:, :-minutes]
    return out


def _events(
    rng: np.random.Generator, n_nodes: int, per_day: float, shortest: int, longest: int
) -> list[tuple[int, int, int]]:
    """(node, start minute, duration) of Poisson-distributed events."""
    counts = rng.poisson(per_day * MINUTES / DAY_MIN, size=n_nodes)
    nodes = np.repeat(np.arange(n_nodes), counts)
    starts = rng.integers(0, MINUTES, size=nodes.size)
    lengths = rng.integers(shortest, longest + 1, size=nodes.size)
    return list(zip(nodes.tolist(), starts.tolist(), lengths.tolist(), strict=True))


def _faults(rng: np.random.Generator, n_nodes: int) -> dict[str, np.ndarray]:
    """Fault signals per node and minute: interface down, leaked memory, ramped packet loss."""
    shape = (n_nodes, MINUTES)
    kind = np.zeros(shape, dtype=np.int8)
    down, leak, ramp = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for code, (per_day, shortest, longest) in FAULT_PLAN.items():
        for node, start, length in _events(rng, n_nodes, per_day, shortest, longest):
            span = slice(start, min(start + length, MINUTES))
            progress = np.arange(1, span.stop - span.start + 1) / length
            kind[node, span] = code
            if code == 1:
                down[node, span] = 1.0
            elif code == 2:
                leak[node, span] = np.maximum(leak[node, span], rng.uniform(8, 35) * progress)
            else:
                ramp[node, span] = np.maximum(ramp[node, span], rng.uniform(1.5, 8) * progress)
    # after an interface comes back, the UEs re-register at once: a storm that is not a fault
    storm = np.clip(_lagged(down, 1) - down, 0, 1)
    storm = lfilter([0.15], [1, -0.85], storm, axis=1)
    return {"kind": kind, "down": down, "leak": leak, "ramp": ramp, "storm": storm}


def _load(rng: np.random.Generator, n_nodes: int) -> np.ndarray:
    """Offered load in [0, 1.3]: diurnal and weekly cycles, slow drift, benign surges."""
    minutes = np.arange(MINUTES)
    phase = rng.uniform(-60, 60, size=(n_nodes, 1))
    diurnal = 0.5 - 0.35 * np.cos(2 * np.pi * (minutes - 240 - phase) / DAY_MIN)
    weekend = np.where((minutes // DAY_MIN) % 7 >= 5, 0.85, 1.0)
    drift = lfilter([0.02], [1, -0.98], rng.normal(0, 1, size=(n_nodes, MINUTES)), axis=1)
    surge = np.zeros((n_nodes, MINUTES))
    for node, start, length in _events(rng, n_nodes, 1.5, 10, 45):
        surge[node, start : start + length] = rng.uniform(0.2, 0.5)
    return np.clip(diurnal * weekend * (1 + 0.3 * drift) + surge, 0.02, 1.3)


def _kpis(rng: np.random.Generator, n_nodes: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Minute KPIs of `n_nodes` network functions, and the fault type per minute."""
    shape, col = (n_nodes, MINUTES), (n_nodes, 1)
    load, f = _load(rng, n_nodes), _faults(rng, n_nodes)
    gc_pressure = _lagged(f["leak"], 10)
    lagged_ramp = _lagged(f["ramp"], 5)
    cpu = 12 + 55 * load + 0.4 * gc_pressure + 25 * f["storm"] - 8 * f["down"]
    memory = rng.uniform(30, 50, size=col) + 6 * load + f["leak"]
    reg_rate = rng.uniform(50, 200, size=col) * load
    reg_rate = reg_rate * (1 - 0.85 * f["down"]) * (1 + 1.5 * f["storm"])
    reg_rate = reg_rate * (1 - 0.05 * _lagged(f["ramp"], 10))
    loss = 0.05 * np.exp(rng.normal(0, 0.6, size=shape)) + 0.3 * np.maximum(load - 1, 0)
    loss = loss + 12 * f["down"] + f["ramp"]
    latency = rng.uniform(8, 20, size=col) * (1 + 0.6 * load**2)
    latency = latency + 35 * _lagged(f["down"], 2) + 6 * lagged_ramp
    latency = latency + 0.6 * np.maximum(gc_pressure - 10, 0)
    kpis = {
        "cpu": np.clip(cpu + rng.normal(0, 2.5, size=shape), 0, 100),
        "memory": np.clip(memory + rng.normal(0, 0.8, size=shape), 0, 100),
        "registrations": np.maximum(reg_rate + rng.normal(0, 1, size=shape) * np.sqrt(reg_rate), 0),
        "packet_loss": np.clip(loss, 0, 100),
        "latency": latency * np.exp(rng.normal(0, 0.08, size=shape)),
    }
    return kpis, f["kind"]


def _windows(kpis: dict[str, np.ndarray], kind: np.ndarray) -> pd.DataFrame:
    """Window statistics per KPI and of the hour before, one row per (function, window) that has
    a whole past hour, in time order; `node` numbers the functions of the chunk."""
    n_nodes = kind.shape[0]
    n_windows = MINUTES // WINDOW_MIN
    start = np.arange(n_windows) * WINDOW_MIN
    keep = np.tile(np.arange(n_windows) >= PAST_WINDOWS, n_nodes)
    columns: dict[str, np.ndarray] = {
        "node": np.repeat(np.arange(n_nodes), n_windows).astype(np.int32),
        "window": np.tile(np.arange(n_windows), n_nodes).astype(np.int32),
        "hour": np.tile(start % DAY_MIN // 60, n_nodes).astype(np.int8),
        "day_of_week": np.tile(start // DAY_MIN % 7, n_nodes).astype(np.int8),
    }
    centred = np.arange(WINDOW_MIN) - (WINDOW_MIN - 1) / 2
    for name, values in kpis.items():
        win = values.reshape(n_nodes * n_windows, WINDOW_MIN)
        stats = {
            "mean": win.mean(axis=1),
            "std": win.std(axis=1),
            "min": win.min(axis=1),
            "max": win.max(axis=1),
            "slope": win @ centred / (centred @ centred),
        }
        # the PAST_WINDOWS windows before each window: sums of samples and of their squares
        per_window = values.reshape(n_nodes, n_windows, WINDOW_MIN)
        sums = np.cumsum(np.stack([per_window.sum(2), (per_window**2).sum(2)]), axis=2)
        before = np.zeros_like(sums)
        before[..., PAST_WINDOWS:] = sums[..., PAST_WINDOWS - 1 : -1]
        before[..., PAST_WINDOWS + 1 :] -= sums[..., : -PAST_WINDOWS - 1]
        count = PAST_WINDOWS * WINDOW_MIN
        mean = before[0] / count
        stats["past_mean"] = mean.ravel()
        stats["past_std"] = np.sqrt(np.maximum(before[1] / count - mean**2, 0.0)).ravel()
        for stat, column in stats.items():
            columns[f"{name}_{stat}"] = np.round(column, 4).astype(np.float32)
    kind_win = kind.reshape(n_nodes * n_windows, WINDOW_MIN).max(axis=1)
    frame = pd.DataFrame(columns)
    frame["fault_type"] = kind_win
    frame[TARGET] = (kind_win > 0).astype(np.int8)
    return frame[keep].reset_index(drop=True)


def _functions(seed: int, stream: int, n_nodes: int) -> list[pd.DataFrame]:
    """The windows of `n_nodes` network functions simulated for a week, chunk by chunk."""
    parts = []
    for chunk, first in enumerate(range(0, n_nodes, NODES_PER_CHUNK)):
        rng = np.random.default_rng([seed, 2021, stream, chunk])
        kpis, kind = _kpis(rng, min(NODES_PER_CHUNK, n_nodes - first))
        windows = _windows(kpis, kind)
        windows["node"] += first
        if stream == 1:  # one window in TEST_SPACING per function, from a random offset
            offset = rng.integers(0, TEST_SPACING, size=int(windows["node"].max()) + 1 - first)
            phase = (windows["window"] - PAST_WINDOWS) % TEST_SPACING
            windows = windows[phase.to_numpy() == offset[windows["node"].to_numpy() - first]]
        parts.append(windows)
        del kpis, kind
    return parts


def simulate(seed: int, size: int) -> GeneratedData:
    """A week of minute KPIs per network function: the windows of some functions train, windows of
    other functions (90 minutes apart, in random order) test."""
    test_nodes = -(-size * TEST_SPACING // WINDOWS_PER_NODE)
    train = pd.concat(_functions(seed, 0, -(-size // WINDOWS_PER_NODE)), ignore_index=True)
    test = pd.concat(_functions(seed, 1, test_nodes), ignore_index=True)
    rng = np.random.default_rng([seed, 2022])
    test = test.iloc[rng.permutation(len(test))[:size]].reset_index(drop=True)
    train.insert(0, ID, np.arange(len(train), dtype=np.int64))
    test.insert(0, ID, np.arange(len(train), len(train) + len(test), dtype=np.int64))
    labels = test[[ID, TARGET]].copy()
    labels["split"] = split_column(len(test), PUBLIC_FRACTION, rng)
    truth = pd.DataFrame(
        {ID: test[ID], "fault_type": np.asarray(FAULT_TYPES)[test["fault_type"].to_numpy()]}
    )
    return GeneratedData(
        train=train[[ID, *FEATURES, TARGET]],
        test=test[[ID, *FEATURES]],
        labels=labels,
        extras={"faults": truth},
    )


def settings() -> dict[str, Any]:
    """competition.yaml of kpi-anomaly, with its ML intent."""
    return competition_settings(
        PROBLEM,
        id_column=ID,
        target=TARGET,
        classes=[0, 1],
        metrics=["f1", "precision", "recall"],
        time_s=300,
        kpis=LISTED_KPIS,
        ranking={"by": "metric"},
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """Fit a scaled logistic regression on the window's own statistics (the past hour unused)."""
    window = [f"{k}_{s}" for k in KPIS for s in STATS]
    scale = ColumnTransformer([("window", StandardScaler(), window)])
    model = make_pipeline(scale, LogisticRegression(max_iter=500))
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="5G core fault detection from KPIs",
    summary="Flag the 15-minute windows in which a network function is faulty, from its KPIs.",
    task="binary",
    default_size=30_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L2",
    data_handling={
        "source": "simulated by the built-in simulator challenge/problems/kpi_anomaly.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)

"""Throughput prediction: per-station throughput of a WLAN deployment with channel bonding."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from challenge.problems.base import (
    GeneratedData,
    Problem,
    competition_settings,
    markdown_page,
    save_joblib_baseline,
)
from challenge.problems.measurement import Measurement, simulate_measured

PROBLEM_ID = "throughput-prediction"
ID_COLUMN = "id"
TARGET = "throughput_mbps"
FEATURES = [
    "deployment",
    "ap",
    "aps_in_deployment",
    "station_x_m",
    "station_y_m",
    "ap_x_m",
    "ap_y_m",
    "channel",
    "channel_width_mhz",
    "distance_m",
    "walls",
    "rssi_dbm",
    "snr_db",
    "stations_in_deployment",
    "overlapping_aps",
]
"""What the planner and the station know: the deployment's layout and channel plan, and the
station's own link. How many stations share an AP, who contends with whom (who hears whom above the
carrier-sense threshold, through walls and unseen shadowing), who is hidden, and the SINR are left
to the model; the rows of a deployment give every station with its AP, position and channel."""
TRAIN_RATIO = 2
CHUNK = 1500  # deployments per vectorised chunk
NOISE_SIGMA = 0.05  # log-normal measurement noise of the throughput
MEASUREMENT = Measurement(ID_COLUMN, TARGET, FEATURES, NOISE_SIGMA, TRAIN_RATIO, group="deployment")

ROOMS, ROOM_M = 4, 10.0  # a 4 x 4 grid of 10 m rooms
MAX_APS, MAX_STATIONS, SLOTS = 12, 48, 8  # SLOTS: 20 MHz channels available
TX_DBM, CCA_DBM, WALL_DB, SHADOW_DB = 20.0, -82.0, 5.0, 5.0
NOISE_DBM_20MHZ = -94.0
"""Receiver noise floor in 20 MHz (thermal -101 dBm, 7 dB noise figure); +3 dB per doubling."""
MAC_EFFICIENCY, PATTERNS = 0.7, 16
# 802.11ax, one spatial stream, 20 MHz: minimum SINR (dB) and PHY rate (Mbps) of MCS 0-11.
MCS_SINR_DB = np.array([2.0, 5.0, 9.0, 11.0, 15.0, 18.0, 20.0, 25.0, 29.0, 31.0, 34.0, 37.0])
MCS_RATE = np.array([8.6, 17.2, 25.8, 34.4, 51.6, 68.8, 77.4, 86.0, 103.2, 114.7, 129.0, 143.4])
WIDTH_GAIN = {1: 1.0, 2: 2.0, 4: 4.19}  # rate multiplier of a 20/40/80 MHz channel


def path_loss_db(distance: np.ndarray, walls: np.ndarray) -> np.ndarray:
    """IEEE 802.11ax (TGax) residential path loss at 5.25 GHz: free space up to a 5 m breakpoint,
    exponent 3.5 beyond it, and a loss per wall crossed."""
    d = np.maximum(distance, 1.0)
    return (
        46.9 + 20 * np.log10(np.minimum(d, 5.0)) + 35 * np.log10(np.maximum(d / 5.0, 1.0))
    ) + WALL_DB * walls


def mcs_rate(sinr_db: np.ndarray) -> np.ndarray:
    """20 MHz PHY rate of the highest MCS the SINR supports (0 below MCS 0)."""
    index = np.searchsorted(MCS_SINR_DB, sinr_db, side="right")
    return np.concatenate([[0.0], MCS_RATE])[index]


def _walls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Room walls crossed on the straight line between points (last axis x, y)."""
    ra, rb = np.floor(a / ROOM_M), np.floor(b / ROOM_M)
    return np.abs(ra - rb).sum(axis=-1)


def _chunk(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Simulate CHUNK deployments; return the per-station columns and noiseless throughput."""
    b, a_max, s_max = CHUNK, MAX_APS, MAX_STATIONS
    n_aps = rng.integers(4, a_max + 1, b)
    n_sta = rng.integers(8, s_max + 1, b)
    ap_on = np.arange(a_max)[None, :] < n_aps[:, None]
    sta_on = np.arange(s_max)[None, :] < n_sta[:, None]
    rooms = np.argsort(rng.random((b, ROOMS * ROOMS)), axis=1)[:, :a_max]
    corner = np.stack([rooms % ROOMS, rooms // ROOMS], axis=-1) * ROOM_M
    ap_xy = corner + rng.uniform(1.0, ROOM_M - 1.0, (b, a_max, 2))
    sta_xy = rng.uniform(0.0, ROOMS * ROOM_M, (b, s_max, 2))
    width = rng.choice(np.array([1, 2, 4]), size=(b, a_max), p=[0.4, 0.35, 0.25])
    start = width * (rng.integers(0, 8, (b, a_max)) % (SLOTS // width))

    # Station-to-AP and AP-to-AP received power with log-normal shadowing (symmetric between APs).
    d_sa = np.linalg.norm(sta_xy[:, :, None] - ap_xy[:, None], axis=-1)
    walls_sa = _walls(sta_xy[:, :, None], ap_xy[:, None])
    rssi_sa = TX_DBM - path_loss_db(d_sa, walls_sa) - rng.normal(0, SHADOW_DB, d_sa.shape)
    rssi_sa = np.where(ap_on[:, None], rssi_sa, -np.inf)
    shadow = rng.normal(0, SHADOW_DB, (b, a_max, a_max))
    shadow = np.triu(shadow, 1) + np.triu(shadow, 1).transpose(0, 2, 1)
    d_aa = np.linalg.norm(ap_xy[:, :, None] - ap_xy[:, None], axis=-1)
    rssi_aa = TX_DBM - path_loss_db(d_aa, _walls(ap_xy[:, :, None], ap_xy[:, None])) - shadow

    # Association to the strongest AP; APs without stations stay silent.
    ap_of = np.argmax(rssi_sa, axis=2)
    load = np.zeros((b, a_max))
    np.add.at(load, (np.repeat(np.arange(b), s_max)[sta_on.ravel()], ap_of[sta_on]), 1.0)
    busy = load > 0
    lo, hi = start, start + width
    overlap = np.clip(
        np.minimum(hi[:, :, None], hi[:, None]) - np.maximum(lo[:, :, None], lo[:, None]), 0, None
    )
    pair = busy[:, :, None] & busy[:, None] & (overlap > 0) & ~np.eye(a_max, dtype=bool)
    contend = pair & (rssi_aa > CCA_DBM)
    overlapping = pair.sum(axis=2)
    hidden = pair & ~contend
    share = 1.0 / (1.0 + contend.sum(axis=2))

    # Interference at each station from the hidden APs of its own AP, each active with its share.
    take = np.arange(b)[:, None]
    own = (take, ap_of)
    w_own = width[own]
    in_band = overlap[own] / width[:, None, :]  # fraction of each AP's power in the station's band
    hidden_s = hidden[own]
    interferer_mw = np.where(hidden_s, 10 ** (rssi_sa / 10) * in_band, 0.0)
    noise_mw = 10 ** ((NOISE_DBM_20MHZ + 10 * np.log10(w_own)) / 10)
    signal_dbm = np.take_along_axis(rssi_sa, ap_of[:, :, None], axis=2)[:, :, 0]
    active = rng.random((b, PATTERNS, a_max)) < share[:, None, :]
    interference = np.einsum("bsa,bta->bts", interferer_mw, active.astype(np.float64))
    sinr = signal_dbm[:, None] - 10 * np.log10(noise_mw[:, None] + interference)
    gain = np.select([w_own == 1, w_own == 2], [WIDTH_GAIN[1], WIDTH_GAIN[2]], WIDTH_GAIN[4])
    rate = mcs_rate(sinr).mean(axis=1) * gain
    throughput = MAC_EFFICIENCY * share[own] / np.maximum(load[own], 1.0) * rate

    own_xy = np.take_along_axis(ap_xy, ap_of[:, :, None], axis=1)
    columns = {
        "deployment": np.broadcast_to(np.arange(b)[:, None], (b, s_max)),
        "ap": ap_of,
        "aps_in_deployment": np.broadcast_to(n_aps[:, None], (b, s_max)),
        "station_x_m": sta_xy[..., 0],
        "station_y_m": sta_xy[..., 1],
        "ap_x_m": own_xy[..., 0],
        "ap_y_m": own_xy[..., 1],
        "channel": start[own],
        "channel_width_mhz": 20.0 * w_own,
        "distance_m": np.take_along_axis(d_sa, ap_of[:, :, None], axis=2)[:, :, 0],
        "walls": np.take_along_axis(walls_sa, ap_of[:, :, None], axis=2)[:, :, 0],
        "rssi_dbm": signal_dbm,
        "snr_db": signal_dbm - 10 * np.log10(noise_mw),
        "stations_in_deployment": np.broadcast_to(n_sta[:, None], (b, s_max)),
        "overlapping_aps": overlapping[own],
    }
    return {k: v[sta_on] for k, v in columns.items()}, throughput[sta_on]


def simulate(seed: int, size: int) -> GeneratedData:
    """Stations of random deployments: `size` test rows, TRAIN_RATIO times as many to train."""
    return simulate_measured(seed, size, MEASUREMENT, train=_chunk, test=_chunk)


def settings() -> dict[str, Any]:
    """competition.yaml for this problem, with its full ML intent."""
    return competition_settings(
        PROBLEM, id_column=ID_COLUMN, target=TARGET, metrics=[("mae", {}), ("rmse", {})]
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """A ridge regression of log(1 + throughput) on the station's own link and the deployment's
    counts (it does not group the rows of a deployment)."""
    own_link = ["distance_m", "walls", "rssi_dbm", "snr_db", "channel_width_mhz"]
    counts = ["stations_in_deployment", "overlapping_aps", "aps_in_deployment"]
    scale = ColumnTransformer([("link", StandardScaler(), [*own_link, *counts])])
    model = TransformedTargetRegressor(
        regressor=make_pipeline(scale, Ridge(alpha=1.0)), func=np.log1p, inverse_func=np.expm1
    )
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir, compress=3)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="WLAN throughput prediction",
    summary="Predict each station's throughput in a Wi-Fi deployment with channel bonding.",
    task="regression",
    default_size=20_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L2",
    data_handling={
        "source": "simulated by the built-in simulator challenge/problems/throughput_prediction.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)

"""Beam selection: the best mmWave beam pair from a vehicle's position and an occupancy grid."""

from __future__ import annotations

from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from challenge.problems.base import (
    PUBLIC_FRACTION,
    GeneratedData,
    Problem,
    competition_settings,
    markdown_page,
    save_joblib_baseline,
    split_column,
)
from challenge.problems.chunks import PARALLEL_ROWS, ordered_chunks

PROBLEM_ID = "beam-selection"
ID_COLUMN = "id"
TARGET = "beam_pair"
TRAIN_RATIO = 2
CHUNK = 2000  # scenes per vectorised chunk

STREET_M, LANES, LANE_M = 100.0, 4, 5.0  # road: x in [0, 100] m, y in [0, 20] m
NORTH_FACADE_Y = 24.0  # a building front along the far side of the street
BS, BS_HEIGHT_M = np.array([50.0, -4.0]), 6.0  # on the south facade, facing the street
RX_HEIGHT_M = 1.6  # the receiver's antenna, on the roof of a car
GPS_SIGMA_M = 2.0  # error of the reported receiver position, per axis
GRID_ROWS, GRID_COLS = 10, 20  # 2 m x 5 m cells over the road
SLOTS = 6  # vehicle slots per lane
# Vehicle types (car, van, truck): length, width, height (m), reflection coefficient, share.
VEHICLES = np.array(
    [
        [4.5, 1.8, 1.5, 0.3, 0.6],
        [5.5, 2.0, 2.4, 0.4, 0.2],
        [12.0, 2.6, 3.8, 0.6, 0.2],
    ]
)
WALL_REFLECTION = 0.5
WAVELENGTH_M = 3e8 / 28e9
N_TX, N_RX = 8, 4
N_BEAMS = N_TX * N_RX
GRID_FEATURES = [f"grid_r{r}_c{c}" for r in range(GRID_ROWS) for c in range(GRID_COLS)]
FEATURES = ["rx_x_m", "rx_y_m", *GRID_FEATURES]


def codebook(n: int) -> np.ndarray:
    """DFT codebook of an n-element half-wavelength ULA: (n beams, n elements), unit norm."""
    u = -1.0 + (2 * np.arange(n) + 1) / n
    return np.exp(1j * np.pi * np.outer(u, np.arange(n))) / np.sqrt(n)


def _blocked(
    start: np.ndarray, end: np.ndarray, height: np.ndarray, boxes: np.ndarray
) -> np.ndarray:
    """Whether segments (N, S, 2; heights N, S, 2 at both ends) pass through boxes (N, V, 5).

    A box is x0, y0, x1, y1, height; the ray's height varies linearly along the segment, and the
    box blocks it when the ray is below the box's height where it crosses the footprint.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (end - start)  # an axis-parallel segment gives +-inf slab bounds, as it should
    t_in = np.full(start.shape[:2] + boxes.shape[1:2], -np.inf)
    t_out = np.full_like(t_in, np.inf)
    for axis in (0, 1):
        p, k = start[:, :, None, axis], inv[:, :, None, axis]
        t1 = (boxes[:, None, :, axis] - p) * k
        t2 = (boxes[:, None, :, axis + 2] - p) * k
        np.maximum(t_in, np.minimum(t1, t2), out=t_in)
        np.minimum(t_out, np.maximum(t1, t2), out=t_out)
    crosses = (t_in < t_out) & (t_out > 0.0) & (t_in < 1.0)
    h0, dh = height[:, :, None, 0], (height[:, :, 1] - height[:, :, 0])[:, :, None]
    lowest = h0 + dh * np.where(dh < 0, np.clip(t_out, 0.0, 1.0), np.clip(t_in, 0.0, 1.0))
    return crosses & (lowest < boxes[:, None, :, 4])


def _scenes(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """CHUNK street scenes: vehicles per lane, one receiver car; boxes, types and receiver index."""
    b = CHUNK
    kind = rng.choice(len(VEHICLES), size=(b, LANES, SLOTS), p=VEHICLES[:, 4])
    length = VEHICLES[kind, 0]
    gap = rng.exponential(7.0, (b, LANES, SLOTS)) + 1.5
    x1 = rng.uniform(-10.0, 10.0, (b, LANES, 1)) + np.cumsum(length + gap, axis=2)
    x0 = x1 - length
    on = x1 < STREET_M
    yc = (np.arange(LANES)[None, :, None] + 0.5) * LANE_M + rng.uniform(
        -0.6, 0.6, (b, LANES, SLOTS)
    )
    # The receiver: a random vehicle of a random lane, made a car, away from the street ends.
    lane = rng.integers(0, LANES, b)
    candidates = on[np.arange(b), lane] & (x0[np.arange(b), lane] > 5.0)
    slot = np.argmax(candidates * rng.random((b, SLOTS)), axis=1)
    rx = lane * SLOTS + slot
    kind, on = kind.reshape(b, -1), on.reshape(b, -1)
    x0, x1, yc = x0.reshape(b, -1), x1.reshape(b, -1), yc.reshape(b, -1)
    rows = np.arange(b)
    kind[rows, rx] = 0
    x1[rows, rx] = x0[rows, rx] + VEHICLES[0, 0]
    half = VEHICLES[kind, 1] / 2
    boxes = np.stack([x0, yc - half, x1, yc + half, VEHICLES[kind, 2]], axis=-1)
    boxes[~on, :4] = -1e3  # absent vehicles: far away, never crossed
    rx_xy = np.stack([(x0[rows, rx] + x1[rows, rx]) / 2, yc[rows, rx]], axis=-1)
    heading = np.where(lane < LANES // 2, 1.0, -1.0)  # two lanes each way
    gps_xy = rx_xy + rng.normal(0.0, GPS_SIGMA_M, (b, 2))
    return {
        "boxes": boxes,
        "kind": kind,
        "on": on,
        "rx": rx,
        "rx_xy": rx_xy,
        "gps_xy": gps_xy,
        "heading": heading,
    }


def _length(vectors: np.ndarray) -> np.ndarray:
    """The length of 2-D vectors (last axis): hypot, several times faster than linalg.norm."""
    return np.asarray(np.hypot(vectors[..., 0], vectors[..., 1]))


def _paths(scene: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Unblocked paths: departure and arrival direction cosines, complex amplitude; (B, P) each.

    Path 0 is the line of sight, path 1 the reflection on the north facade, then one reflection on
    the BS-facing side of every vehicle (image method; a face reflects only below its roof).
    """
    boxes, rx_xy, rx = scene["boxes"], scene["rx_xy"], scene["rx"]
    b, v = boxes.shape[:2]
    face_y = np.concatenate([np.full((b, 1), NORTH_FACADE_Y), boxes[..., 1]], axis=1)
    image_y = 2 * face_y - BS[1]
    hit_x = BS[0] + (face_y - image_y) / (rx_xy[:, 1:2] - image_y) * (rx_xy[:, 0:1] - BS[0])
    hit = np.stack([hit_x, face_y], axis=-1)  # (B, 1 + V, 2)
    leg1 = _length(hit - BS)
    leg2 = _length(hit - rx_xy[:, None])
    hit_h = BS_HEIGHT_M + leg1 / (leg1 + leg2) * (RX_HEIGHT_M - BS_HEIGHT_M)
    own = np.arange(v)[None, :] == rx[:, None]
    valid = rx_xy[:, 1:2] < face_y
    valid[:, 1:] &= (hit_x[:, 1:] >= boxes[..., 0]) & (hit_x[:, 1:] <= boxes[..., 2])
    valid[:, 1:] &= scene["on"] & ~own & (hit_h[:, 1:] < boxes[..., 4])

    # Blockage of the candidate paths only (LOS, then both legs of each reflection), with the
    # receiver's own car and the reflector itself exempt.
    candidate = np.concatenate([np.ones((b, 1), bool), valid], axis=1)
    via = np.concatenate([rx_xy[:, None], hit], axis=1)  # (B, 2 + V, 2): LOS "via" the receiver
    via_h = np.concatenate([np.full((b, 1), RX_HEIGHT_M), hit_h], axis=1)
    bi, pi = np.nonzero(candidate)
    n = len(bi)
    start = np.stack([np.broadcast_to(BS, (n, 2)), via[bi, pi]], axis=1)
    end = np.stack([via[bi, pi], rx_xy[bi]], axis=1)
    height = np.stack(
        [
            np.stack([np.full(n, BS_HEIGHT_M), via_h[bi, pi]], axis=1),
            np.stack([via_h[bi, pi], np.full(n, RX_HEIGHT_M)], axis=1),
        ],
        axis=1,
    )
    los = pi == 0
    start[los, 1], end[los, 1], height[los, 1] = start[los, 0], end[los, 0], height[los, 0]
    exempt = own[bi] | (np.arange(v)[None, :] == (pi - 2)[:, None])
    blocked = (_blocked(start, end, height, boxes[bi]) & ~exempt[:, None]).any(axis=(1, 2))
    ok = np.zeros_like(candidate)
    ok[bi, pi] = ~blocked

    # The unfolded path is a straight line in 3-D: one elevation angle along it.
    first = np.concatenate([rx_xy[:, None], hit], axis=1)  # where each path leaves the BS for
    last = np.concatenate([np.broadcast_to(BS, (b, 1, 2)), hit], axis=1)  # arrives at the rx from
    depart, arrive = first - BS, last - rx_xy[:, None]
    ground = np.concatenate([_length(depart[:, :1]), leg1 + leg2], axis=1)
    dist = np.hypot(ground, BS_HEIGHT_M - RX_HEIGHT_M)
    gamma = np.concatenate(
        [np.ones((b, 1)), np.full((b, 1), WALL_REFLECTION), VEHICLES[scene["kind"], 3]], axis=1
    )
    sign = np.concatenate([np.ones((b, 1)), -np.ones((b, 1 + v))], axis=1)
    amplitude = ok * sign * gamma * WAVELENGTH_M / (4 * np.pi * dist)
    amplitude = amplitude * np.exp(-2j * np.pi * dist / WAVELENGTH_M)
    u_tx = depart[..., 0] / _length(depart) * ground / dist
    u_rx = scene["heading"][:, None] * arrive[..., 1] / _length(arrive) * ground / dist
    reached = np.asarray(ok.any(axis=1))
    return u_tx, u_rx, amplitude, reached


def _grid(scene: dict[str, np.ndarray]) -> np.ndarray:
    """Rasterised occupancy (B, rows * cols): the tallest vehicle type over each cell (0: empty)."""
    boxes, b = scene["boxes"], len(scene["boxes"])
    grid = np.zeros(b * GRID_ROWS * GRID_COLS, dtype=np.uint8)
    cell_w, cell_h = STREET_M / GRID_COLS, LANES * LANE_M / GRID_ROWS
    on = scene["on"] & (boxes[..., 2] > 0.0)
    c0 = np.clip(np.floor(boxes[..., 0][on] / cell_w), 0, GRID_COLS - 1).astype(np.int64)
    c1 = np.clip(np.floor(boxes[..., 2][on] / cell_w), 0, GRID_COLS - 1).astype(np.int64)
    r0 = np.clip(np.floor(boxes[..., 1][on] / cell_h), 0, GRID_ROWS - 1).astype(np.int64)
    r1 = np.clip(np.floor(boxes[..., 3][on] / cell_h), 0, GRID_ROWS - 1).astype(np.int64)
    first_cell = np.broadcast_to(np.arange(b)[:, None], on.shape)[on] * (GRID_ROWS * GRID_COLS)
    level = (scene["kind"][on] + 1).astype(np.uint8)
    span_rows = int(np.ceil(VEHICLES[:, 1].max() / cell_h)) + 1
    span_cols = int(np.ceil(VEHICLES[:, 0].max() / cell_w)) + 1
    for dr in range(span_rows):
        row = first_cell + np.minimum(r0 + dr, r1) * GRID_COLS
        for dc in range(span_cols):  # the tallest type over a cell wins
            np.maximum.at(grid, row + np.minimum(c0 + dc, c1), level)
    return grid.reshape(b, -1)


def beam_gains(u_tx: np.ndarray, u_rx: np.ndarray, amplitude: np.ndarray) -> np.ndarray:
    """Beamforming gain |w_j^H H f_i|^2 of every (tx i, rx j) pair: (B, N_TX * N_RX), i major."""
    bi, pi = np.nonzero(amplitude)  # only the unblocked paths contribute
    a_tx = np.exp(1j * np.pi * u_tx[bi, pi, None] * np.arange(N_TX))
    a_rx = np.exp(1j * np.pi * u_rx[bi, pi, None] * np.arange(N_RX))
    tx = a_tx.conj() @ codebook(N_TX).T  # (paths, N_TX): response of each path to each tx beam
    rx = a_rx @ codebook(N_RX).conj().T  # (paths, N_RX)
    per_path = (amplitude[bi, pi, None, None] * tx[:, :, None] * rx[:, None, :]).reshape(
        len(bi), -1
    )
    y = np.zeros((len(amplitude), N_BEAMS), dtype=complex)
    with_paths, first = np.unique(bi, return_index=True)  # bi is sorted: sum each row's paths
    y[with_paths] = np.add.reduceat(per_path, first, axis=0)
    return np.abs(y) ** 2


def _chunk(seed: int, stream: int, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The receivers of one chunk of scenes that have a path: grid, position, gains in dB."""
    scene = _scenes(np.random.default_rng(np.random.SeedSequence([seed, stream, index])))
    u_tx, u_rx, amplitude, reached = _paths(scene)
    gain = beam_gains(u_tx[reached], u_rx[reached], amplitude[reached])
    return _grid(scene)[reached], scene["gps_xy"][reached], 10 * np.log10(np.maximum(gain, 1e-30))


def _table(n: int, seed: int, stream: int, first_id: int) -> tuple[pd.DataFrame, np.ndarray]:
    """`n` receiver rows (scenes with at least one path): features, label, and gains in dB."""
    grid = np.empty((n, GRID_ROWS * GRID_COLS), dtype=np.uint8)
    xy = np.empty((n, 2), dtype=np.float32)
    gain_db = np.empty((n, N_BEAMS), dtype=np.float32)
    rows = 0
    chunks = ordered_chunks(partial(_chunk, seed, stream), parallel=n >= PARALLEL_ROWS)
    with closing(chunks):
        for chunk_grid, chunk_xy, chunk_gain in chunks if n else ():
            take = slice(rows, min(n, rows + len(chunk_grid)))
            count = take.stop - take.start
            grid[take], xy[take], gain_db[take] = (
                chunk_grid[:count],
                chunk_xy[:count],
                chunk_gain[:count],
            )
            rows = take.stop
            if rows >= n:
                break
    frame = pd.DataFrame(grid, columns=GRID_FEATURES)
    frame.insert(0, "rx_y_m", xy[:, 1])
    frame.insert(0, "rx_x_m", xy[:, 0])
    frame.insert(0, ID_COLUMN, np.arange(first_id, first_id + n, dtype=np.int64))
    frame[TARGET] = np.argmax(gain_db, axis=1).astype(np.int64)
    return frame, gain_db


def simulate(seed: int, size: int) -> GeneratedData:
    """Receivers in random street scenes: `size` test rows, TRAIN_RATIO times as many to train."""
    train, _ = _table(TRAIN_RATIO * size, seed, 1, 0)
    test, gain_db = _table(size, seed, 2, len(train))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    labels = pd.DataFrame(
        {
            ID_COLUMN: test[ID_COLUMN],
            TARGET: test.pop(TARGET),
            "split": split_column(size, PUBLIC_FRACTION, rng),
        }
    )
    oracle = pd.DataFrame(gain_db, columns=[f"gain_db_{k}" for k in range(N_BEAMS)])
    oracle.insert(0, ID_COLUMN, test[ID_COLUMN].to_numpy())
    return GeneratedData(train=train, test=test, labels=labels, extras={"gains": oracle})


def settings() -> dict[str, Any]:
    """competition.yaml for this problem, with its full ML intent."""
    return competition_settings(
        PROBLEM,
        id_column=ID_COLUMN,
        target=TARGET,
        classes=range(N_BEAMS),
        metrics=[("accuracy", {}), ("top_k_accuracy", {"k": 5})],
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """A multinomial logistic regression on the reported position only (the grid is left unused)."""
    position = ColumnTransformer([("position", StandardScaler(), ["rx_x_m", "rx_y_m"])])
    model = make_pipeline(position, LogisticRegression(max_iter=300))
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir, compress=3)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="mmWave beam selection",
    summary="Pick the best beam pair for a vehicle from its position and a LIDAR-like grid.",
    task="multiclass",
    default_size=10_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L3",
    data_handling={
        "source": "simulated by the built-in simulator challenge/problems/beam_selection.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)

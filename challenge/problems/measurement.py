"""Regression problems whose target is a noisy measurement of a simulated truth.

Rows come chunk by chunk from a seeded simulator (one generator per chunk), the measurement adds
log-normal noise, and the noiseless truth is kept for the tests' oracle. Test rows come in random
order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from challenge.problems.base import PUBLIC_FRACTION, GeneratedData, split_column

Draw = Callable[[np.random.Generator], tuple[dict[str, np.ndarray], np.ndarray]]
"""One chunk of rows from its own generator: the feature columns and the noiseless target."""


@dataclass(frozen=True)
class Measurement:
    """How a measurement problem lays out its tables."""

    id_column: str
    target: str
    features: list[str]
    noise_sigma: float
    """Sigma of the log-normal factor between the truth and its measurement."""
    train_ratio: int
    """Training rows per test row."""
    group: str | None = None
    """A feature numbering the simulated network of each row within its chunk (from 0); it is
    renumbered to be unique across train and test, so that rows of one network can be grouped."""


def simulate_measured(
    seed: int, size: int, spec: Measurement, *, train: Draw, test: Draw
) -> GeneratedData:
    """`size` test rows drawn by `test`, train_ratio times as many drawn by `train`."""
    n_train = spec.train_ratio * size
    train_table, _, measured = _table(spec, train, n_train, seed, 1, 0)
    train_table[spec.target] = measured
    groups = int(train_table[spec.group].max()) + 1 if spec.group else 0
    test_table, truth, measured = _table(spec, test, size, seed, 2, n_train, groups)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    # in random order: neighbouring rows do not come from one simulated network
    order = rng.permutation(size)
    ids = test_table[spec.id_column].to_numpy()
    test_table = test_table.iloc[order].reset_index(drop=True)
    test_table[spec.id_column] = ids
    truth, measured = truth[order], measured[order]
    split = split_column(size, PUBLIC_FRACTION, rng)
    labels = pd.DataFrame({spec.id_column: ids, spec.target: measured, "split": split})
    oracle = pd.DataFrame({spec.id_column: ids, spec.target: truth})
    return GeneratedData(
        train=train_table, test=test_table, labels=labels, extras={"noiseless": oracle}
    )


def _table(
    spec: Measurement,
    draw: Draw,
    n: int,
    seed: int,
    stream: int,
    first_id: int,
    first_group: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """`n` rows from as many chunks as needed: features, noiseless and measured target."""
    parts: list[dict[str, np.ndarray]] = []
    truths: list[np.ndarray] = []
    rows, index, group = 0, 0, first_group
    while rows < n:
        columns, truth = draw(np.random.default_rng(np.random.SeedSequence([seed, stream, index])))
        if spec.group:
            local = columns[spec.group]
            columns = {**columns, spec.group: local + group}
            group += int(local.max()) + 1
        parts.append({k: v.astype(np.float32) for k, v in columns.items()})
        truths.append(truth)
        rows, index = rows + len(truth), index + 1
    frame = pd.DataFrame({spec.id_column: np.arange(first_id, first_id + n, dtype=np.int64)})
    for name in spec.features:
        frame[name] = np.concatenate([p[name] for p in parts])[:n]
    truth = np.concatenate(truths)[:n]
    noise = np.random.default_rng(np.random.SeedSequence([seed, stream + 100]))
    return frame, truth, truth * noise.lognormal(0.0, spec.noise_sigma, n)

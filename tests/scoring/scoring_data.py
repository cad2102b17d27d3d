"""Synthetic data for the scoring tests: inputs every registered scorer can be called on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from challenge.scoring import Response, Scorer, get_scorer, proba_column, scorer_names
from sandbox import TaskKind

TASK_CLASSES: dict[str, list[Any]] = {
    TaskKind.BINARY: ["no", "yes"],
    TaskKind.MULTICLASS: [10, 20, 30, 40, 50, 60, 70, 80],
}


def scorer_tasks() -> list[tuple[str, str]]:
    """Every (registered metric, task it applies to) pair."""
    return [
        (name, task)
        for name in scorer_names()
        for task in TaskKind
        if get_scorer(name).supports(task)
    ]


def perfect_and_bad(
    scorer: Scorer, task: str, n: int = 200, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any] | None]:
    """(y_true, a perfect prediction, a poor prediction, classes) in the scorer's response."""
    rng = np.random.default_rng(seed)
    if task in (TaskKind.REGRESSION, TaskKind.FORECAST):
        y = rng.uniform(1.0, 10.0, n)
        return y, y.copy(), y + rng.normal(0, 3.0, n), None
    classes = TASK_CLASSES[task]
    k = len(classes)
    codes = np.arange(n) % k
    rng.shuffle(codes)
    y = np.asarray(classes, dtype=object)[codes]
    if scorer.response is Response.LABELS:
        wrong = (codes + 1) % k
        return y, y.copy(), np.asarray(classes, dtype=object)[wrong], classes
    good = np.full((n, k), 0.02 / (k - 1))
    good[np.arange(n), codes] = 0.98
    bad = rng.dirichlet(np.ones(k), n)
    bad[np.arange(n), codes] = 0.0
    bad /= bad.sum(axis=1, keepdims=True)
    if scorer.response is Response.SCORES and k == 2:
        return y, good[:, 1], bad[:, 1], classes
    return y, good, bad, classes


def labels_table(n: int, task: str, seed: int = 0, public_fraction: float = 0.3) -> pd.DataFrame:
    """A hidden labels table with ids 1000.., a target and a public/private split."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1000, 1000 + n)
    if task in (TaskKind.REGRESSION, TaskKind.FORECAST):
        target: Any = rng.uniform(1.0, 10.0, n)
    else:
        classes = TASK_CLASSES[task]
        target = np.asarray(classes, dtype=object)[np.arange(n) % len(classes)]
        if all(isinstance(c, int) for c in classes):
            target = target.astype(np.int64)
    split = np.where(rng.random(n) < public_fraction, "public", "private")
    split[0], split[1] = "public", "private"
    return pd.DataFrame({"id": ids, "y": target, "split": split})


def with_probabilities(frame: pd.DataFrame, classes: list[Any], seed: int = 0) -> pd.DataFrame:
    """Predictions with proba_<class> columns that favour the predicted label."""
    rng = np.random.default_rng(seed)
    matrix = rng.dirichlet(np.ones(len(classes)), len(frame))
    keys = [str(c) for c in classes]
    hit = np.array([keys.index(str(v)) for v in frame["y"]])
    matrix[np.arange(len(frame)), hit] += 1.0
    matrix /= matrix.sum(axis=1, keepdims=True)
    out = frame.copy()
    for j, cls in enumerate(classes):
        out[proba_column(cls)] = matrix[:, j]
    return out

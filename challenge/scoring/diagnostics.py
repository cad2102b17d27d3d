"""Diagnostic plots of a submission: residuals, confusion matrix, error per forecast step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from challenge.scoring.labels import label_key, label_keys
from sandbox import TaskKind

MAX_POINTS = 20_000
"""Residual plots draw at most this many points (a fixed-seed sample of the rows)."""
MAX_CLASSES = 20
"""Confusion matrices show the most frequent classes; the rest are pooled as 'other'."""
ANNOTATE_UP_TO = 12
"""Cells are labelled with their counts when the matrix has at most this many classes."""
MARGINS = {"left": 0.11, "right": 0.97, "bottom": 0.09, "top": 0.93}
"""Fixed margins of the single-axes plots (the constrained layout costs ~40% of the time)."""
TITLE_Y = 1.0
"""Titles at a fixed height: placing them automatically measures every tick label again."""
TICKS = 6
"""At most about this many ticks per numeric axis (each tick is a handful of matplotlib objects)."""


def _residuals(figure: Figure, true: np.ndarray, pred: np.ndarray) -> None:
    """Residual (prediction - truth) against truth."""
    axes = figure.add_subplot()
    if len(true) > MAX_POINTS:
        rows = np.random.default_rng(0).choice(len(true), MAX_POINTS, replace=False)
        true, pred = true[rows], pred[rows]
    axes.scatter(true, pred - true, s=4, alpha=0.4, linewidths=0)
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_xlabel("true value")
    axes.set_ylabel("prediction - true value")
    axes.set_title(f"Residuals ({len(true)} rows shown)", y=TITLE_Y)
    axes.locator_params(nbins=TICKS)


def _confusion(
    figure: Figure, true: np.ndarray, pred: np.ndarray, classes: Sequence[Any] | None
) -> None:
    """Confusion matrix of the most frequent classes, coloured by share of each true class."""
    true_keys, pred_keys = label_keys(true), label_keys(pred)
    support = pd.Series(true_keys).value_counts()
    if classes is None:
        order = support.index.tolist()
        order += sorted(set(pd.unique(pred_keys)) - set(order))
    else:
        order = [label_key(c) for c in classes]
    truncated = len(order) > MAX_CLASSES
    if truncated:
        shown = sorted(order, key=lambda k: -support.get(k, 0))[:MAX_CLASSES]
        shown = [k for k in order if k in set(shown)]
    else:
        shown = order
    names = [*shown, "other"] if truncated else list(shown)
    index = {k: i for i, k in enumerate(shown)}
    other = len(shown)
    t = np.array([index.get(k, other) for k in true_keys])
    p = np.array([index.get(k, other) for k in pred_keys])
    size = len(names)
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (t, p), 1)
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.where(rows == 0, 1, rows)
    axes = figure.add_subplot()
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class's rows")
    axes.set_xticks(range(size), names, rotation=90)
    axes.set_yticks(range(size), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    title = "Confusion matrix"
    if truncated:
        title += f" ({MAX_CLASSES} most frequent classes, the rest pooled)"
    axes.set_title(title, y=TITLE_Y)
    if size <= ANNOTATE_UP_TO:
        for (i, j), count in np.ndenumerate(matrix):
            color = "white" if share[i, j] > 0.5 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=color, fontsize=8)


def _per_step(figure: Figure, true: np.ndarray, pred: np.ndarray, horizon: np.ndarray) -> None:
    """Mean absolute error per forecast horizon step."""
    frame = pd.DataFrame({"step": horizon, "error": np.abs(pred - true)})
    per_step = frame.groupby("step", sort=True)["error"].mean()
    axes = figure.add_subplot()
    axes.plot(per_step.index.to_numpy(), per_step.to_numpy(), marker="o")
    axes.set_xlabel("horizon step")
    axes.set_ylabel("mean absolute error")
    axes.set_title("Error per horizon step", y=TITLE_Y)
    axes.locator_params(nbins=TICKS)
    axes.grid(True, alpha=0.3)


def diagnostics_plot(
    task: str,
    y_true: Any,
    y_pred: Any,
    out_path: str | Path,
    *,
    classes: Sequence[Any] | None = None,
    horizon: Any = None,
) -> Path:
    """Write a PNG diagnostic plot for a task's predictions and return its path."""
    valid = [t.value for t in TaskKind]
    if task not in valid:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(valid)}")
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    if true.shape != pred.shape or true.ndim != 1 or len(true) == 0:
        raise ValueError(
            f"y_true and y_pred must be 1-d with the same, non-zero length; "
            f"got shapes {true.shape} and {pred.shape}"
        )
    classification = task in (TaskKind.BINARY, TaskKind.MULTICLASS)
    # the confusion matrix has a colour bar and class names of any length: it needs the layout
    figure = Figure(figsize=(7, 6), dpi=100, layout="constrained" if classification else None)
    FigureCanvasAgg(figure)
    if classification:
        _confusion(figure, true, pred, classes)
        return _save(figure, out_path)
    figure.subplots_adjust(**MARGINS)
    if task == TaskKind.FORECAST and horizon is not None:
        steps = np.asarray(horizon)
        if steps.shape != true.shape:
            raise ValueError(f"horizon must have one step per row ({len(true)}), got {steps.shape}")
        _per_step(figure, true.astype(np.float64), pred.astype(np.float64), steps)
    else:
        _residuals(figure, true.astype(np.float64), pred.astype(np.float64))
    return _save(figure, out_path)


def _save(figure: Figure, out_path: str | Path) -> Path:
    """Write the figure as PNG, creating the folder."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path

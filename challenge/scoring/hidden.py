"""The hidden labels of a test set, checked once and kept ready for every submission scored on them.

`prepare_labels` does the per-row work on the host's side of scoring (id keys, uniqueness, the
truth as classes or numbers, the split masks) once; a worker keeps the result per competition
(see mlfo/tables.py) and `validate_predictions` / `score_aligned` accept it in place of the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from challenge.scoring.errors import LabelsError
from challenge.scoring.labels import encode_labels, integer_values, label_key, label_keys
from sandbox import TaskKind

SPLITS = ("public", "private")
ALL_ROWS = "all"
"""The split name used when the labels have no `split` column."""


def is_classification(task: str) -> bool:
    """Whether a task predicts class labels."""
    return task in (TaskKind.BINARY, TaskKind.MULTICLASS)


def check_task(task: str) -> None:
    """Refuse an unknown task kind."""
    valid = [t.value for t in TaskKind]
    if task not in valid:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(valid)}")


class HiddenLabels:
    """Checked hidden labels: ids, truth and split masks, computed once (treat as read-only)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        id_column: str,
        target: str,
        task: str,
        classes: list[Any] | None,
        truth: np.ndarray,
        id_numbers: np.ndarray | None,
        splits: dict[str, np.ndarray],
    ) -> None:
        self.frame = frame
        self.id_column = id_column
        self.target = target
        self.task = task
        self.classes = classes
        self.truth = truth
        self.id_numbers = id_numbers
        """The ids as int64 when every id is an integer, else None."""
        self.splits = splits

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def id_text(self) -> np.ndarray:
        """The canonical text of every id (computed when a submission's ids are not integers)."""
        return label_keys(self.frame[self.id_column])

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes (the frame and the arrays derived from it)."""
        total = int(self.frame.memory_usage(index=True, deep=True).sum()) + self.truth.nbytes
        if self.id_numbers is not None:
            total += self.id_numbers.nbytes
        return total + sum(mask.nbytes for mask in self.splits.values())

    def matches(self, *, id_column: str, target: str, task: str, classes: Any) -> bool:
        """Whether these labels were prepared for these settings."""
        wanted = None if classes is None else list(classes)
        given = self.classes if wanted is not None else None
        return (id_column, target, task) == (self.id_column, self.target, self.task) and (
            wanted is None or given == wanted
        )


def prepare_labels(
    labels: pd.DataFrame | HiddenLabels,
    *,
    id_column: str,
    target: str,
    task: str,
    classes: Sequence[Any] | None = None,
) -> HiddenLabels:
    """Check the host's labels and derive what scoring needs; LabelsError says what is wrong."""
    if isinstance(labels, HiddenLabels):
        if not labels.matches(id_column=id_column, target=target, task=task, classes=classes):
            raise ValueError(
                "these hidden labels were prepared for other settings "
                f"({labels.id_column!r}, {labels.target!r}, {labels.task!r}, {labels.classes})"
            )
        return labels
    check_task(task)
    numbers, text = _checked_ids(labels, id_column, target)
    class_list = resolve_classes(labels, target, task, classes)
    hidden = HiddenLabels(
        labels,
        id_column=id_column,
        target=target,
        task=task,
        classes=class_list,
        truth=truth_values(labels, target, class_list),
        id_numbers=numbers,
        splits=split_masks(labels),
    )
    if text is not None:
        hidden.__dict__["id_text"] = text
    return hidden


def _checked_ids(
    labels: pd.DataFrame, id_column: str, target: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The ids as integers or else as text, checked for the host's mistakes."""
    if not isinstance(labels, pd.DataFrame):
        raise LabelsError(f"labels must be a pandas DataFrame, got {type(labels).__name__}")
    missing = [c for c in (id_column, target) if c not in labels.columns]
    if missing:
        raise LabelsError(
            f"test_labels: missing column(s) {', '.join(map(repr, missing))}; "
            f"found {list(labels.columns)}. The labels need the id column and the target."
        )
    if labels[id_column].isna().any():
        raise LabelsError(f"test_labels: column {id_column!r} has empty ids")
    numbers = integer_values(labels[id_column])
    text = None if numbers is not None else label_keys(labels[id_column])
    unique = pd.Index(numbers if numbers is not None else text).is_unique
    if not unique:
        raise LabelsError(f"test_labels: column {id_column!r} repeats ids; ids must be unique")
    if labels[target].isna().any():
        raise LabelsError(f"test_labels: column {target!r} has empty values")
    return numbers, text


def resolve_classes(
    labels: pd.DataFrame, target: str, task: str, classes: Sequence[Any] | None
) -> list[Any] | None:
    """The task's classes: the given ones, or the sorted distinct labels; None for regression."""
    if not is_classification(task):
        return None
    if classes is not None:
        return list(classes)
    values = pd.unique(labels[target].dropna())
    try:
        return sorted(values.tolist())
    except TypeError:
        return sorted(values.tolist(), key=label_key)


def truth_values(labels: pd.DataFrame, target: str, classes: list[Any] | None) -> np.ndarray:
    """The hidden target as class values (classification) or float64 (regression)."""
    column = labels[target]
    if classes is None:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise LabelsError(f"test_labels: column {target!r} must hold finite numbers")
        return values
    try:
        codes = encode_labels(column, classes, what=f"test_labels column {target!r}")
    except ValueError as error:
        raise LabelsError(str(error)) from error
    return as_class_array(classes, codes)


def as_class_array(classes: list[Any], codes: np.ndarray) -> np.ndarray:
    """Class values for indices, as int64 when every class is an integer."""
    if all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64)[codes]
    return np.asarray(classes, dtype=object)[codes]


def split_masks(labels: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean row masks of the splits present in the labels."""
    if "split" not in labels.columns:
        return {ALL_ROWS: np.ones(len(labels), dtype=bool)}
    codes, names = pd.factorize(labels["split"], use_na_sentinel=False)
    cleaned = [str(name).strip().lower() for name in names]
    unknown = sorted(set(cleaned) - set(SPLITS))
    if unknown:
        raise LabelsError(
            f"test_labels: column 'split' has value(s) {unknown}; use only 'public' and 'private'"
        )
    masks = {}
    for split in SPLITS:
        wanted = [i for i, name in enumerate(cleaned) if name == split]
        mask = np.isin(codes, wanted)
        if mask.any():
            masks[split] = mask
    return masks

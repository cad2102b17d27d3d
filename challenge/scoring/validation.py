"""Checking a team's predictions against the test set before anything is scored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from challenge.scoring.errors import InvalidPredictionsError
from challenge.scoring.hidden import HiddenLabels, as_class_array, prepare_labels
from challenge.scoring.labels import integer_values, label_key, label_keys

PROBA_PREFIX = "proba_"
PROBA_RANGE_TOLERANCE = 1e-6
"""Probabilities this far outside [0, 1] are clipped; further out they are refused."""
PROBA_SUM_TOLERANCE = 1e-3
"""Rows of probabilities must sum to 1 within this; they are then rescaled to sum to exactly 1."""
EXAMPLES = 5


def proba_column(cls: Any) -> str:
    """The predictions column that holds the probability of a class."""
    return f"{PROBA_PREFIX}{cls}"


def _examples(items: Sequence[Any], counts: Sequence[int] | None = None) -> str:
    """A few examples, with their counts when given: '5 (x3), 8 (x2), ...'."""
    shown = []
    for i, item in enumerate(items[:EXAMPLES]):
        text = repr(item) if isinstance(item, str) and not item.strip().isdigit() else str(item)
        shown.append(f"{text} (x{counts[i]})" if counts is not None else text)
    more = ", ..." if len(items) > EXAMPLES else ""
    return ", ".join(shown) + more


def _plural(n: int, word: str) -> str:
    """'1 id' or '3 ids'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _id_keys(predictions: pd.DataFrame, hidden: HiddenLabels) -> tuple[np.ndarray, np.ndarray]:
    """Comparable ids of the predictions and the labels: integers when both are, else text."""
    column = predictions[hidden.id_column]
    if hidden.id_numbers is not None:
        numbers = integer_values(column)
        if numbers is not None:
            return numbers, hidden.id_numbers
    return label_keys(column), hidden.id_text


def _match_ids(
    pred_keys: np.ndarray, label_ids: np.ndarray, id_column: str
) -> tuple[list[str], np.ndarray | None]:
    """Problems with the ids, and for each label row the row of its prediction (-1: none);
    None when the predictions are in the labels' own order (ids are unique)."""
    if len(pred_keys) == len(label_ids) and np.array_equal(pred_keys, label_ids):
        return [], None
    codes, uniques = pd.factorize(np.concatenate([label_ids, pred_keys]))
    label_codes, pred_codes = codes[: len(label_ids)], codes[len(label_ids) :]
    counts = np.bincount(pred_codes, minlength=len(uniques))
    is_label = np.zeros(len(uniques), dtype=bool)
    is_label[label_codes] = True
    text = pred_keys.dtype == object
    named = np.asarray(uniques, dtype=object) != "" if text else np.ones(len(uniques), dtype=bool)
    problems = []
    empty = int(np.count_nonzero(pred_keys == "")) if text else 0
    if empty:
        problems.append(f"{_plural(empty, 'row')} with an empty {id_column!r}")
    repeated = np.flatnonzero((counts > 1) & named)
    if len(repeated):
        problems.append(
            f"{_plural(len(repeated), 'id')} appear more than once: "
            f"{_examples(uniques[repeated].tolist(), counts[repeated].tolist())}; "
            "give one row per id"
        )
    absent = label_ids[counts[label_codes] == 0]
    if len(absent):
        problems.append(
            f"{_plural(len(absent), 'id')} of the test set are missing: "
            f"{_examples(absent.tolist())}; predict every row of the test features"
        )
    unknown = np.flatnonzero((counts > 0) & ~is_label & named)
    if len(unknown):
        problems.append(
            f"{_plural(len(unknown), 'id')} are not in the test set: "
            f"{_examples(uniques[unknown].tolist())}; "
            f"use the ids of the test features' {id_column!r} column"
        )
    first_row = np.full(len(uniques), -1, dtype=np.int64)
    first_row[pred_codes[::-1]] = np.arange(len(pred_codes) - 1, -1, -1)
    return problems, first_row[label_codes]


def id_problems(prediction_ids: Any, test_ids: Any, *, id_column: str) -> list[str]:
    """What is wrong with the ids of predictions against the test set's ids (empty: nothing).

    Needs only the public test features, so it can run before a submission is queued.
    """
    problems, _ = _match_ids(label_keys(prediction_ids), label_keys(test_ids), id_column)
    return problems


def _bad_rows(mask: np.ndarray, ids: np.ndarray) -> str:
    """'3 rows (e.g. ids 4, 9, 12)'."""
    return f"{_plural(int(mask.sum()), 'row')} (e.g. id {_examples(ids[mask].tolist())})"


def _numbers(column: pd.Series, name: str, ids: np.ndarray, problems: list[str]) -> np.ndarray:
    """A column as float64, recording non-numeric and non-finite values."""
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    not_number = column.notna().to_numpy() & np.isnan(numbers)
    if not_number.any():
        problems.append(
            f"column {name!r} has text that is not a number in {_bad_rows(not_number, ids)}"
        )
    not_finite = ~np.isfinite(numbers) & ~not_number
    if not_finite.any():
        problems.append(
            f"column {name!r} is empty, NaN or infinite in {_bad_rows(not_finite, ids)}; "
            "every value must be a finite number"
        )
    return numbers


def _probabilities(
    predictions: pd.DataFrame, classes: list[Any], ids: np.ndarray, problems: list[str]
) -> np.ndarray | None:
    """The (n, K) probability matrix from proba_<class> columns, or None when there are none."""
    given = [c for c in predictions.columns if str(c).startswith(PROBA_PREFIX)]
    if not given:
        return None
    expected = [proba_column(c) for c in classes]
    unknown = [c for c in given if c not in expected]
    if unknown:
        problems.append(
            f"probability column(s) {', '.join(map(repr, unknown))} do not name a class; "
            f"expected {', '.join(expected)}"
        )
        return None
    columns = {}
    for name in expected:
        if name in predictions.columns:
            columns[name] = _numbers(predictions[name], name, ids, problems)
    if len(classes) == 2 and len(columns) == 1:
        ((present, values),) = columns.items()
        other = expected[1] if present == expected[0] else expected[0]
        columns[other] = 1.0 - values
    missing = [name for name in expected if name not in columns]
    if missing:
        problems.append(
            f"probability column(s) {', '.join(missing)} are missing; give one proba_<class> "
            f"column per class ({', '.join(expected)}) or none at all"
        )
        return None
    matrix = np.column_stack([columns[name] for name in expected])
    finite = np.isfinite(matrix).all(axis=1)
    outside = finite & (
        (matrix < -PROBA_RANGE_TOLERANCE) | (matrix > 1 + PROBA_RANGE_TOLERANCE)
    ).any(axis=1)
    if outside.any():
        problems.append(f"probabilities outside [0, 1] in {_bad_rows(outside, ids)}")
    matrix = np.clip(matrix, 0.0, 1.0)
    sums = matrix.sum(axis=1)
    off = finite & ~outside & (np.abs(sums - 1.0) > PROBA_SUM_TOLERANCE)
    if off.any():
        problems.append(
            f"probabilities do not sum to 1 across the classes in {_bad_rows(off, ids)}; "
            "apply a softmax or normalise each row"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return matrix / sums[:, None]


def _class_labels(
    column: pd.Series, classes: list[Any], target: str, ids: np.ndarray, problems: list[str]
) -> np.ndarray:
    """Class indices of predicted labels, recording empty and unknown labels."""
    empty = column.isna().to_numpy()
    if empty.any():
        problems.append(f"column {target!r} is empty in {_bad_rows(empty, ids)}")
    numbers, class_numbers = integer_values(column), integer_values(list(classes))
    if numbers is not None and class_numbers is not None:
        codes = pd.Index(class_numbers).get_indexer(numbers)
    else:
        keys = label_keys(column)
        codes = pd.Index([label_key(c) for c in classes], dtype=object).get_indexer(keys)
    unknown = (codes < 0) & ~empty
    if unknown.any():
        counts = pd.Series(column[unknown].astype(str)).value_counts()
        problems.append(
            f"column {target!r} has {_plural(int(unknown.sum()), 'label')} that are not classes: "
            f"{_examples(counts.index.tolist(), counts.tolist())}; valid classes: "
            f"{', '.join(map(str, classes))}"
        )
    return codes


def validate_predictions(
    predictions: pd.DataFrame,
    labels: pd.DataFrame | HiddenLabels,
    *,
    id_column: str,
    target: str,
    task: str,
    classes: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Check predictions against the labels' ids and the task; return them in the labels' order.

    `labels` is the hidden labels' frame, or the same prepared once by `prepare_labels`.
    """
    hidden = prepare_labels(labels, id_column=id_column, target=target, task=task, classes=classes)
    if not isinstance(predictions, pd.DataFrame):
        raise InvalidPredictionsError(
            f"predictions must be a table, got {type(predictions).__name__}"
        )
    class_list = hidden.classes
    columns = [str(c) for c in predictions.columns]
    if id_column not in columns:
        found = ", ".join(columns) or "none"
        message = (
            f"the predictions have no {id_column!r} column (found: {found}); "
            f"the first row must be a header with {id_column!r} and {target!r}"
        )
        raise InvalidPredictionsError(message)
    has_proba = any(c.startswith(PROBA_PREFIX) for c in columns)
    if target not in columns and not (class_list is not None and has_proba):
        needs = f"{target!r}" + (" (or proba_<class> columns)" if class_list is not None else "")
        raise InvalidPredictionsError(
            f"the predictions have no {target!r} column (found: {', '.join(columns)}); "
            f"write columns {id_column!r} and {needs}"
        )
    if len(predictions) == 0:
        raise InvalidPredictionsError(
            f"the predictions are empty; write one row per id of the test set ({len(hidden)} rows)"
        )
    ids, label_ids = _id_keys(predictions, hidden)
    problems, order = _match_ids(ids, label_ids, id_column)

    matrix = None
    if class_list is not None:
        matrix = _probabilities(predictions, class_list, ids, problems)
        if target in predictions.columns:
            codes = _class_labels(predictions[target], class_list, target, ids, problems)
        elif matrix is not None:
            codes = np.argmax(np.nan_to_num(matrix, nan=-1.0), axis=1)
        else:
            codes = np.zeros(len(predictions), dtype=np.int64)
    else:
        values = _numbers(predictions[target], target, ids, problems)

    if problems:
        raise InvalidPredictionsError(
            "the predictions cannot be scored:\n" + "\n".join(f"- {p}" for p in problems),
            problems,
        )
    rows = slice(None) if order is None else order
    aligned = pd.DataFrame({id_column: hidden.frame[id_column].to_numpy()})
    if class_list is None:
        aligned[target] = values[rows]
        return aligned
    aligned[target] = as_class_array(class_list, codes[rows])
    if matrix is not None:
        for j, cls in enumerate(class_list):
            aligned[proba_column(cls)] = matrix[rows, j]
    return aligned

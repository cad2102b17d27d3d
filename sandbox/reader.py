"""Read a predictions file (uploaded, or written in a jail) without believing anything in it.

A few hundred KB of Parquet can inflate to gigabytes (a zstd page of one long string, a dictionary
entry repeated on every row), and a CSV can hold one line of hundreds of MB. The worker never
parses such a file itself: a child forked under `bounded.call_bounded` reads only the id, target
and `proba_<class>` columns, refuses other types, validates them and sends back fixed-type arrays:

- `rows` (int64): for each prediction, the row of its id in the test features;
- `target`: float64 for numeric tasks, or int64 codes into the classes;
- `proba` (float64, rows x classes) when the file has probability columns.

The host rebuilds the predictions from the test features' own ids, so the worker grows only by
these arrays, whose size the test set fixes. A file the child cannot read within its budget
(`parse_mb` of memory over its size at fork, `parse_s` seconds) is `invalid_output`.
"""

from __future__ import annotations

import functools
import json
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .bounded import Bounded, ChildFailed, Failure, call_bounded
from .contract import InfrastructureError
from .jail.protocol import PROBA_PREFIX
from .validate import (
    OutputInvalid,
    read_csv_capped,
    read_parquet_capped,
    validate_predictions,
    wanted_columns,
)

MB = 1024 * 1024
HEADER_CAP = MB
MAX_LABELS = 10_000
"""Distinct labels a classification file may use when the task names no classes."""
MAX_LABEL_CHARS = 200
EXAMPLES = 5
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Expected:
    """What the predictions must match: the task, and the test features' ids in their order."""

    id_column: str
    target: str
    task: str
    classes: list[str | int] | None
    feature_ids: np.ndarray
    max_bytes: int

    @property
    def n_rows(self) -> int:
        """Rows of the test set."""
        return len(self.feature_ids)

    @property
    def classification(self) -> bool:
        """Whether the target is a class label."""
        return self.task in ("binary", "multiclass")


@dataclass(frozen=True)
class Predictions:
    """The validated predictions and what reading them cost the parsing child."""

    frame: pd.DataFrame
    parse: Bounded


def feature_ids(features_path: Path, id_column: str) -> np.ndarray:
    """The id column of the (trusted) test features."""
    try:
        table = pq.read_table(features_path, columns=[id_column])
    except Exception as exc:
        raise InfrastructureError(
            f"the features file {features_path} has no readable '{id_column}' column: {exc}"
        ) from exc
    return np.asarray(table.column(0).to_numpy(zero_copy_only=False))


def _keys(values: Any) -> np.ndarray:
    """Canonical text of ids: 3, 3.0, "3" and " 3 " all give "3"."""
    series = pd.Series(values)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return series.map(str).to_numpy(dtype=object)
    if pd.api.types.is_integer_dtype(dtype):
        return series.astype("int64").astype(str).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(dtype):
        numbers = series.to_numpy(dtype=np.float64)
        integral = np.isfinite(numbers) & (numbers == np.round(numbers))
        keys = series.map(repr).to_numpy(dtype=object)
        keys[integral] = numbers[integral].astype(np.int64).astype(str)
        return keys
    return series.astype(str).str.strip().to_numpy(dtype=object)


def _rows(ids: pd.Series, expected: Expected) -> np.ndarray:
    """The test-set row of each predicted id; ids outside the test set are refused."""
    known = expected.feature_ids
    both_int = pd.api.types.is_integer_dtype(ids.dtype) and np.issubdtype(known.dtype, np.integer)
    if both_int:
        rows = pd.Index(known).get_indexer(ids.to_numpy())
    else:
        rows = pd.Index(_keys(known)).get_indexer(_keys(ids))
    unknown = rows < 0
    if unknown.any():
        examples = ", ".join(map(str, ids[unknown].head(EXAMPLES).tolist()))
        raise OutputInvalid(
            f"{int(unknown.sum())} ids are not in the test set (e.g. {examples}); "
            f"use the ids of the test features' '{expected.id_column}' column"
        )
    return rows.astype(np.int64)


def _target(column: pd.Series, expected: Expected) -> tuple[np.ndarray, list[Any] | None]:
    """float64 values, or int64 codes with the labels they index when the task names no classes."""
    if not expected.classification:
        return column.to_numpy(dtype=np.float64), None
    if expected.classes:
        index = pd.Index([str(c) for c in expected.classes])
        return index.get_indexer(column.astype(str)).astype(np.int64), None
    codes, uniques = pd.factorize(column)
    labels = [v.item() if isinstance(v, np.generic) else v for v in uniques]
    if len(labels) > MAX_LABELS:
        raise OutputInvalid(f"the predictions use {len(labels)} labels; at most {MAX_LABELS}")
    for label in labels:
        if not isinstance(label, int | float | str | bool) or len(str(label)) > MAX_LABEL_CHARS:
            raise OutputInvalid(
                f"the label {str(label)[:40]!r} is not a number or a text of at most "
                f"{MAX_LABEL_CHARS} characters"
            )
    return codes.astype(np.int64), labels


def _proba_columns(expected: Expected) -> list[str]:
    return [f"{PROBA_PREFIX}{c}" for c in expected.classes or ()]


def _parse(path: Path, expected: Expected) -> bytes:
    """In the child: read, validate and encode the predictions as a header and raw arrays."""
    caps = {
        "max_bytes": expected.max_bytes,
        "max_rows": expected.n_rows + 1,
        "max_columns": 2 + len(expected.classes or ()) + 8,
        "wanted": wanted_columns(expected.id_column, expected.target),
    }
    if path.suffix.lower() == ".csv":
        frame, names = read_csv_capped(path, **caps)  # type: ignore[arg-type]
    else:
        frame, names = read_parquet_capped(path, **caps)  # type: ignore[arg-type]
    try:
        valid = validate_predictions(
            frame,
            id_column=expected.id_column,
            target=expected.target,
            task=expected.task,
            classes=expected.classes,
            n_rows=expected.n_rows,
            file_columns=names,
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise OutputInvalid(f"the predictions have unusable values: {exc}") from exc
    del frame
    rows = _rows(valid[expected.id_column], expected)
    target, labels = _target(valid[expected.target], expected)
    proba = [c for c in _proba_columns(expected) if c in valid.columns]
    header = {"labels": labels, "proba": bool(proba)}
    parts = [rows.tobytes(), target.tobytes()]
    if proba:
        parts.append(valid[proba].to_numpy(dtype=np.float64).tobytes())
    text = json.dumps(header).encode()
    if len(text) > HEADER_CAP:
        raise OutputInvalid("the predictions use too many or too long labels")
    return b"".join([_LENGTH.pack(len(text)), text, *parts])


def _decode(reply: bytes, expected: Expected) -> pd.DataFrame:
    """On the host: rebuild the frame from the arrays, re-checking their shape and ranges."""
    n = expected.n_rows
    (length,) = _LENGTH.unpack_from(reply)
    header = json.loads(reply[_LENGTH.size : _LENGTH.size + length])
    body = memoryview(reply)[_LENGTH.size + length :]
    proba_columns = _proba_columns(expected) if header.get("proba") else []
    if len(body) != 8 * n * (2 + len(proba_columns)):
        raise InfrastructureError("the predictions reader sent arrays of the wrong size")
    rows = np.frombuffer(body[: 8 * n], dtype=np.int64)
    if n and (rows.min() < 0 or rows.max() >= n or np.bincount(rows, minlength=n).max() > 1):
        raise InfrastructureError("the predictions reader sent rows outside the test set")
    frame = pd.DataFrame({expected.id_column: expected.feature_ids[rows]})
    raw = body[8 * n : 16 * n]
    if expected.classification:
        codes = np.frombuffer(raw, dtype=np.int64)
        labels = expected.classes or header.get("labels") or []
        if n and (codes.min() < 0 or codes.max() >= len(labels)):
            raise InfrastructureError("the predictions reader sent unknown class codes")
        if all(isinstance(c, int) and not isinstance(c, bool) for c in labels):
            frame[expected.target] = np.asarray(labels, dtype=np.int64)[codes]
        else:
            frame[expected.target] = np.asarray(labels, dtype=object)[codes]
    else:
        frame[expected.target] = np.frombuffer(raw, dtype=np.float64).copy()
    if proba_columns:
        matrix = np.frombuffer(body[16 * n :], dtype=np.float64).reshape(n, len(proba_columns))
        for j, name in enumerate(proba_columns):
            frame[name] = matrix[:, j].copy()
    return frame


@functools.cache
def warm_up() -> None:
    """Parse tiny trusted files once in this process, before any fork.

    pandas and pyarrow set up caches and lazy state on first use; done in the worker, every
    forked child inherits it instead of paying it again (measured here: a child's parse of a
    20,000-row file took 130 ms cold and 60 ms warm).
    """
    ids = np.arange(4)
    frame = pd.DataFrame({"id": ids, "y": [0, 1, 0, 1], "proba_0": 0.5, "proba_1": 0.5})
    cases = [
        Expected("id", "y", "binary", [0, 1], ids, MB),
        Expected("id", "y", "multiclass", None, ids, MB),
        Expected("id", "y", "regression", None, ids, MB),
    ]
    with tempfile.TemporaryDirectory(prefix="mlchallenge-warm-") as folder:
        paths = [Path(folder) / "p.parquet", Path(folder) / "p.csv"]
        frame.to_parquet(paths[0], index=False)
        frame.to_csv(paths[1], index=False)
        for path in paths:
            for expected in cases:
                _decode(_parse(path, expected)[:], expected)


def read_predictions(
    path: Path, expected: Expected, *, memory_mb: int, time_s: float
) -> Predictions:
    """Parse and validate an untrusted predictions file in a bounded child.

    Raises `OutputInvalid` with a message for the team when the file is unusable or cannot be
    read within `memory_mb` of memory and `time_s` seconds.
    """
    width = 2 + len(expected.classes or ())
    warm_up()
    try:
        parsed = call_bounded(
            lambda: _parse(path, expected),
            memory_mb=memory_mb,
            time_s=time_s,
            max_reply=_LENGTH.size + HEADER_CAP + 8 * expected.n_rows * width,
            expected=(OutputInvalid,),
        )
    except ChildFailed as exc:
        if exc.failure is Failure.MEMORY:
            raise OutputInvalid(
                f"the predictions need more than {memory_mb} MB of memory to read (a column "
                "that inflates when decompressed?); write plain id, target and proba_<class> "
                "columns"
            ) from None
        if exc.failure is Failure.TIME:
            raise OutputInvalid(f"reading the predictions took longer than {time_s:g} s") from None
        raise OutputInvalid(f"the predictions cannot be read: {exc}") from None
    return Predictions(_decode(parsed.reply, expected), parsed)

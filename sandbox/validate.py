"""Checks on predictions coming out of the jail or uploaded as files: never trusted."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .jail.protocol import PROBA_PREFIX

MB = 1024 * 1024
HEADER_CAP = 64 * 1024


class OutputInvalid(Exception):
    """The predictions are unusable; the message says what was wrong."""


def open_regular(path: Path, max_bytes: int) -> BinaryIO:
    """Open a plain file without following symlinks, refusing it when larger than `max_bytes`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise OutputInvalid(f"the predictions file cannot be opened: {exc.strerror}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OutputInvalid("the predictions file is not a regular file")
    if info.st_size > max_bytes:
        os.close(fd)
        raise OutputInvalid(
            f"the predictions file is {info.st_size / MB:.1f} MB; "
            f"the cap is {max_bytes / MB:.0f} MB"
        )
    return os.fdopen(fd, "rb")


def wanted_columns(id_column: str, target: str) -> Callable[[str], bool]:
    """The columns the scorer reads: the id, the target and `proba_<class>`; the rest is skipped."""
    return lambda name: name in (id_column, target) or name.startswith(PROBA_PREFIX)


def _check_type(name: str, kind: pa.DataType) -> None:
    """Refuse a column that is not plain numbers, booleans or text (nested, binary, dates)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    plain = (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_null(kind)
    )
    if not plain:
        raise OutputInvalid(
            f"the predictions column '{name}' has the type {kind}; "
            "write plain numbers or text (no lists, structs, binary or dates)"
        )


def read_parquet_capped(
    path: Path,
    *,
    max_bytes: int,
    max_rows: int,
    max_columns: int,
    wanted: Callable[[str], bool] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Check a Parquet file's size, shape and types from its footer, then read the wanted columns.

    Returns the frame and every column name of the file (for messages). The footer cannot say
    what a column inflates to (a dictionary page of one long string repeated on every row), so
    callers read untrusted files in a bounded child (`sandbox.reader`).
    """
    with open_regular(path, max_bytes) as handle:
        try:
            parquet = pq.ParquetFile(handle)
            meta = parquet.metadata
            schema = parquet.schema_arrow
        except Exception as exc:
            raise OutputInvalid(f"the predictions are not a readable Parquet file: {exc}") from exc
        if meta.num_rows > max_rows:
            raise OutputInvalid(
                f"the predictions have {meta.num_rows} rows; the test set has {max_rows - 1}"
            )
        if meta.num_columns > max_columns or len(schema) > max_columns:
            raise OutputInvalid(
                f"the predictions have {meta.num_columns} columns; at most {max_columns} are read"
            )
        names = [str(name) for name in schema.names]
        chosen = [n for n in names if wanted is None or wanted(n)]
        if len(set(chosen)) != len(chosen):
            raise OutputInvalid("the predictions repeat a column name; name each column once")
        for column in schema:
            if column.name in chosen:
                _check_type(column.name, column.type)
        try:
            table = parquet.read(columns=chosen, use_threads=False)
            return table.to_pandas(use_threads=False), names
        except MemoryError:
            raise
        except Exception as exc:
            raise OutputInvalid(f"the predictions cannot be read: {exc}") from exc


def read_csv_capped(
    path: Path,
    *,
    max_bytes: int,
    max_rows: int,
    max_columns: int,
    wanted: Callable[[str], bool] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV file with size, row and column caps, keeping only the wanted columns.

    Returns the frame and every column name of the header (for messages).
    """
    with open_regular(path, max_bytes) as handle:
        header = handle.readline(HEADER_CAP + 1)
        if len(header) > HEADER_CAP:
            raise OutputInvalid(
                f"the CSV header is longer than {HEADER_CAP // 1024} KB; "
                "the first line must hold the column names"
            )
        if header.count(b",") + 1 > max_columns:
            raise OutputInvalid(f"the CSV header has more than {max_columns} columns")
        handle.seek(0)
        try:
            names = [str(c) for c in pd.read_csv(handle, nrows=0).columns]
            handle.seek(0)
            frame = pd.read_csv(
                handle,
                nrows=max_rows,
                engine="c",
                low_memory=False,
                usecols=(lambda c: wanted(str(c))) if wanted is not None else None,
            )
        except MemoryError:
            raise
        except Exception as exc:
            raise OutputInvalid(f"the predictions are not a readable CSV file: {exc}") from exc
        return frame, names


def _numeric(series: pd.Series, what: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        raise OutputInvalid(
            f"{what} must be finite numbers; {int(bad.sum())} values are missing, NaN, infinite "
            f"or not numeric (first at row {first}: {series.iloc[first]!r})"
        )
    return values


def validate_predictions(
    frame: pd.DataFrame,
    *,
    id_column: str,
    target: str,
    task: str,
    classes: list[str | int] | None,
    n_rows: int,
    file_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Check rows, ids, the target and probability columns; return id, target and proba columns.

    `file_columns` names every column of the file when only some were read (for messages).
    """
    frame.columns = [str(c) for c in frame.columns]
    shown = file_columns if file_columns is not None else list(frame.columns)
    for column in (id_column, target):
        if column not in frame.columns:
            raise OutputInvalid(
                f"the predictions have no '{column}' column "
                f"(columns: {', '.join(shown[:10])}); "
                f"they need '{id_column}' and '{target}'"
            )
    if len(frame) != n_rows:
        raise OutputInvalid(f"the predictions have {len(frame)} rows; the test set has {n_rows}")
    ids = frame[id_column]
    if ids.isna().any():
        raise OutputInvalid(f"the '{id_column}' column has {int(ids.isna().sum())} missing ids")
    if ids.duplicated().any():
        raise OutputInvalid(
            f"the '{id_column}' column repeats ids, e.g. {ids[ids.duplicated()].iloc[0]!r}"
        )
    result = pd.DataFrame({id_column: ids.to_numpy()})
    column = frame[target]
    if task in ("binary", "multiclass"):
        if column.isna().any():
            raise OutputInvalid(f"'{target}' has {int(column.isna().sum())} missing labels")
        numeric_classes = bool(classes) and all(isinstance(c, int) for c in classes or ())
        if numeric_classes and pd.api.types.is_integer_dtype(column.dtype):
            unknown_mask = ~column.isin(list(classes or ()))
            if unknown_mask.any():
                raise OutputInvalid(
                    f"'{target}' holds labels that are not classes of this task: "
                    f"{sorted(set(column[unknown_mask].tolist()))[:5]}; the classes are {classes}"
                )
            result[target] = column.to_numpy()
        elif classes:
            allowed = {str(c) for c in classes}
            unknown = sorted({str(v) for v in column.unique()} - allowed)
            if unknown:
                raise OutputInvalid(
                    f"'{target}' holds labels that are not classes of this task: {unknown[:5]}; "
                    f"the classes are {sorted(allowed)}"
                )
            by_text = {str(c): c for c in classes}
            result[target] = column.astype(str).map(by_text).to_numpy()
        else:
            result[target] = column.to_numpy()
    else:
        result[target] = _numeric(column, f"'{target}'")
    proba_columns = [c for c in frame.columns if c.startswith(PROBA_PREFIX)]
    if proba_columns and classes:
        expected = [f"{PROBA_PREFIX}{c}" for c in classes]
        missing = [c for c in expected if c not in frame.columns]
        if missing:
            raise OutputInvalid(f"probability columns are missing: {missing}; expected {expected}")
        for name in expected:
            values = _numeric(frame[name], f"'{name}'")
            if (values < -1e-6).any() or (values > 1 + 1e-6).any():
                raise OutputInvalid(f"'{name}' must hold probabilities between 0 and 1")
            result[name] = values
    return result

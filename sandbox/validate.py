"""Checks on predictions coming out of the jail or uploaded as files: never trusted."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .jail.protocol import PROBA_PREFIX

MB = 1024 * 1024


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


def read_parquet_capped(
    path: Path, *, max_bytes: int, max_rows: int, max_columns: int
) -> pd.DataFrame:
    """Read a Parquet file after checking its size and shape from the footer."""
    with open_regular(path, max_bytes) as handle:
        try:
            parquet = pq.ParquetFile(handle)
            meta = parquet.metadata
        except Exception as exc:
            raise OutputInvalid(f"the predictions are not a readable Parquet file: {exc}") from exc
        if meta.num_rows > max_rows:
            raise OutputInvalid(
                f"the predictions have {meta.num_rows} rows; the test set has {max_rows - 1}"
            )
        if meta.num_columns > max_columns:
            raise OutputInvalid(
                f"the predictions have {meta.num_columns} columns; at most {max_columns} are read"
            )
        try:
            return parquet.read().to_pandas()
        except Exception as exc:
            raise OutputInvalid(f"the predictions cannot be read: {exc}") from exc


def read_csv_capped(path: Path, *, max_bytes: int, max_rows: int, max_columns: int) -> pd.DataFrame:
    """Read a CSV file with size, row and column caps."""
    with open_regular(path, max_bytes) as handle:
        header = handle.readline(64 * 1024)
        if header.count(b",") + 1 > max_columns:
            raise OutputInvalid(f"the CSV header has more than {max_columns} columns")
        handle.seek(0)
        try:
            return pd.read_csv(handle, nrows=max_rows, engine="c", low_memory=False)
        except Exception as exc:
            raise OutputInvalid(f"the predictions are not a readable CSV file: {exc}") from exc


def parse_predictions(
    path: Path,
    *,
    id_column: str,
    target: str,
    task: str,
    classes: list[str | int] | None,
    n_rows: int,
    max_bytes: int,
) -> pd.DataFrame:
    """Read a predictions file (CSV or Parquet, by its ending) under caps and check its shape.

    The worker and the platform's upload check share this, so an upload refused here would have
    failed the same way in the worker; ids are matched against the test set by the scorer.
    """
    caps = {
        "max_bytes": max_bytes,
        "max_rows": n_rows + 1,
        "max_columns": 2 + len(classes or ()) + 8,
    }
    if path.suffix.lower() == ".csv":
        frame = read_csv_capped(path, **caps)
    else:
        frame = read_parquet_capped(path, **caps)
    return validate_predictions(
        frame, id_column=id_column, target=target, task=task, classes=classes, n_rows=n_rows
    )


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
) -> pd.DataFrame:
    """Check rows, ids, the target and probability columns; return id, target and proba columns."""
    frame.columns = [str(c) for c in frame.columns]
    for column in (id_column, target):
        if column not in frame.columns:
            raise OutputInvalid(
                f"the predictions have no '{column}' column "
                f"(columns: {', '.join(frame.columns[:10])}); "
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

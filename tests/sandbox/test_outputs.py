"""Outputs are never trusted: rows, ids, labels, finite numbers, for models and prediction files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sandbox
from sandbox import Outcome, SubmissionFormat

from .conftest import SAMPLES, assert_still_scores, request_for, run_python


def test_nan_predictions_are_invalid_output(tmp_path: Path, work_dir: Path) -> None:
    body = """
import numpy as np


def predict(f):
    out = f["f0"].to_numpy(copy=True)
    out[3] = np.nan
    return out
"""
    result = run_python(tmp_path, work_dir, body, task="regression")
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert "finite numbers" in result.message and "row 3" in result.message
    assert_still_scores(tmp_path, work_dir)


def test_the_wrong_number_of_rows_is_invalid_output(tmp_path: Path, work_dir: Path) -> None:
    result = run_python(tmp_path, work_dir, "def predict(f):\n    return _good(f)[:-1]\n")
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert "returned 49 values for 50 rows" in result.message
    assert_still_scores(tmp_path, work_dir)


def test_a_forged_predictions_file_is_revalidated(tmp_path: Path, work_dir: Path) -> None:
    """The model forges its result and a bad predictions file, then exits: the host re-checks."""
    body = """
import json
import os

import pandas as pd


def predict(f):
    pd.DataFrame({"id": [1, 1], "label": [0, 1]}).to_parquet("/out/predictions.parquet")
    with open("/out/result.json", "w") as handle:
        json.dump({"status": "ok", "message": "", "latency_ms_per_1k": 0.0}, handle)
    os._exit(0)
"""
    result = run_python(tmp_path, work_dir, body)
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert "2 rows; the test set has 50" in result.message


def _predictions(tmp_path: Path, frame: pd.DataFrame, suffix: str = ".csv") -> Path:
    path = tmp_path / f"predictions{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _reference() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "predictions.csv")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.iloc[:-3], "have 47 rows; the test set has 50"),
        (lambda f: f.drop(columns=["id"]), "no 'id' column"),
        (lambda f: f.drop(columns=["label"]), "no 'label' column"),
        (lambda f: f.assign(id=1), "repeats ids"),
        (
            lambda f: f.assign(label=np.where(f.index == 0, 7, f["label"])),
            "not classes of this task",
        ),
        (lambda f: f.assign(label=np.where(f.index == 0, np.nan, f["label"])), "missing labels"),
        (lambda f: f.assign(proba_0=0.5), "probability columns are missing"),
        (lambda f: f.assign(proba_0=1.5, proba_1=-0.5), "between 0 and 1"),
    ],
)
def test_bad_prediction_files_are_invalid_output(
    tmp_path: Path, change: object, expected: str
) -> None:
    path = _predictions(tmp_path, change(_reference()))  # type: ignore[operator]
    result = sandbox.run(request_for(path, SubmissionFormat.PREDICTIONS))
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert expected in result.message


def test_regression_prediction_files_must_be_finite(tmp_path: Path) -> None:
    frame = _reference().assign(label=np.where(_reference().index == 5, np.inf, 1.0))
    path = _predictions(tmp_path, frame, ".parquet")
    result = sandbox.run(request_for(path, SubmissionFormat.PREDICTIONS, task="regression"))
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert "finite numbers" in result.message


def test_a_prediction_file_that_is_not_a_table_is_invalid_output(tmp_path: Path) -> None:
    path = tmp_path / "predictions.parquet"
    path.write_bytes(b"not parquet at all")
    result = sandbox.run(request_for(path, SubmissionFormat.PREDICTIONS))
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert "not a readable Parquet file" in result.message


def test_a_valid_prediction_file_scores_without_running_code(tmp_path: Path) -> None:
    path = _predictions(tmp_path, _reference().assign(proba_0=0.4, proba_1=0.6), ".parquet")
    result = sandbox.run(request_for(path, SubmissionFormat.PREDICTIONS))
    assert result.outcome is Outcome.OK, result.message
    assert result.predictions is not None
    assert list(result.predictions.columns) == ["id", "label", "proba_0", "proba_1"]
    assert result.logs == ""

"""Every format: its registry entry, its sample submission run in the jail, its conventions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sandbox
from sandbox import Limits, Outcome, SubmissionFormat
from sandbox.contract import KPI_KEYS
from sandbox.formats import FORMATS, UploadRules, format_of_file
from sandbox.jail.loaders import LOADERS

from .conftest import SAMPLES, request_for, run_python

PROBA_FORMATS = {SubmissionFormat.SKLEARN, SubmissionFormat.ONNX, SubmissionFormat.TORCHSCRIPT}


def test_every_format_is_registered_with_a_small_sample_a_loader_and_upload_rules() -> None:
    assert set(FORMATS) == set(SubmissionFormat)
    for fmt, spec in FORMATS.items():
        assert spec.format is fmt
        assert spec.sample_path.is_file(), fmt
        assert spec.sample_path.stat().st_size < 200_000, fmt
        assert spec.sample_path.suffix in spec.extensions, fmt
        assert callable(spec.loader), fmt
        assert isinstance(spec.upload, UploadRules), fmt
        assert spec.help and all(e.startswith(".") for e in spec.extensions), fmt
        assert (fmt in LOADERS) == spec.runs_code, fmt
        assert not (spec.runs_code and spec.needs_programs), fmt
        if spec.upload.zip_member is not None:
            assert ".zip" in spec.extensions, fmt
        assert spec.refusal(spec.sample) is None, fmt
        assert spec.refusal("model.exe") is not None, fmt
    assert set(LOADERS) == {f for f, spec in FORMATS.items() if spec.runs_code}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pred.CSV", SubmissionFormat.PREDICTIONS),
        ("m.pkl", SubmissionFormat.SKLEARN),
        ("m.pt", SubmissionFormat.TORCHSCRIPT),
        ("model.py", SubmissionFormat.PYTHON),
        ("m.zip", None),
        ("m.pth", None),
        ("m.pickle", None),
    ],
)
def test_a_format_is_guessed_only_from_an_ending_that_one_format_accepts(
    name: str, expected: SubmissionFormat | None
) -> None:
    assert format_of_file(name) is expected


MODEL_FORMATS = [f for f in SubmissionFormat if not FORMATS[f].needs_programs]


@pytest.mark.parametrize("fmt", MODEL_FORMATS)
def test_each_sample_submission_scores(fmt: SubmissionFormat, work_dir: Path) -> None:
    train = fmt is SubmissionFormat.PYTHON
    request = request_for(FORMATS[fmt].sample_path, fmt, train=train, limits=Limits(time_s=60))
    result = sandbox.run(request, work_dir=work_dir)
    assert result.outcome is Outcome.OK, result.message + result.logs
    assert set(result.kpis) == set(KPI_KEYS)
    assert result.kpis["model_size_mb"] > 0
    predictions = result.predictions
    assert predictions is not None
    assert list(predictions.columns[:2]) == ["id", "label"]
    reference = pd.read_csv(SAMPLES / "predictions.csv")
    assert predictions["id"].tolist() == reference["id"].tolist()
    agreement = (predictions["label"].to_numpy() == reference["label"].to_numpy()).mean()
    assert agreement >= 0.9, agreement
    if fmt in PROBA_FORMATS or fmt is SubmissionFormat.PYTHON:
        assert list(predictions.columns[2:]) == ["proba_0", "proba_1"]
        assert ((predictions["proba_1"] > 0.5).astype(int) == predictions["label"]).mean() > 0.95
    if fmt is not SubmissionFormat.PREDICTIONS:
        assert result.kpis["wall_time_s"] > 0 and result.kpis["cpu_time_s"] > 0
        assert result.kpis["peak_memory_mb"] > 20
        assert result.kpis["latency_ms_per_1k"] > 0


FIT_COUNTER = """
class Model:
    def __init__(self):
        self.rows = 0

    def fit(self, train):
        self.rows = len(train)
        print("fit saw", self.rows, "rows with", sorted(train.columns))

    def predict(self, features):
        print("predict saw", sorted(features.columns), "after fit on", self.rows)
        return _good(features)
"""


def test_python_fit_runs_only_when_training_is_allowed(tmp_path: Path, work_dir: Path) -> None:
    model = tmp_path / "model.py"
    model.write_text(
        "def _good(f):\n    return (f['f0'] > 0).astype(int).to_numpy()\n" + FIT_COUNTER
    )
    trained = sandbox.run(
        request_for(model, SubmissionFormat.PYTHON, train=True), work_dir=work_dir
    )
    assert trained.outcome is Outcome.OK, trained.message
    assert "fit saw 200 rows with ['f0', 'f1', 'f2', 'f3', 'id', 'label']" in trained.logs
    assert "predict saw ['f0', 'f1', 'f2', 'f3', 'id'] after fit on 200" in trained.logs
    untrained = run_python(tmp_path, work_dir, FIT_COUNTER)
    assert untrained.outcome is Outcome.OK
    assert "fit saw" not in untrained.logs and "after fit on 0" in untrained.logs


def test_a_slow_fit_hits_the_training_limit(tmp_path: Path, work_dir: Path) -> None:
    body = "import time\n\ndef fit(train):\n    time.sleep(60)\n\ndef predict(f):\n    return f\n"
    model = tmp_path / "model.py"
    model.write_text("def _good(f):\n    return f['f0'].to_numpy()\n" + body)
    limits = Limits(time_s=20, train_time_s=2)
    result = sandbox.run(
        request_for(model, SubmissionFormat.PYTHON, train=True, limits=limits), work_dir=work_dir
    )
    assert result.outcome is Outcome.TIMEOUT
    assert "train_time_s" in result.message
    assert result.kpis["wall_time_s"] < 10


def test_an_exception_reports_the_traceback_tail(tmp_path: Path, work_dir: Path) -> None:
    result = run_python(
        tmp_path, work_dir, "def predict(f):\n    raise ValueError('boom: bad column')\n"
    )
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert result.message.startswith("predict raised:")
    assert result.message.rstrip().endswith("ValueError: boom: bad column")


def test_a_module_that_cannot_be_imported_is_an_invalid_submission(
    tmp_path: Path, work_dir: Path
) -> None:
    result = run_python(tmp_path, work_dir, "import not_a_real_package_xyz\n")
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "No module named 'not_a_real_package_xyz'" in result.message


def test_a_module_without_predict_is_an_invalid_submission(tmp_path: Path, work_dir: Path) -> None:
    result = run_python(tmp_path, work_dir, "VALUE = 1\n")
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "neither a Model class with predict()" in result.message


def test_a_file_of_the_wrong_type_is_refused_before_running(tmp_path: Path) -> None:
    model = tmp_path / "model.txt"
    model.write_text("hello")
    result = sandbox.run(request_for(model, SubmissionFormat.SKLEARN))
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "format 'sklearn' expects" in result.message and "(.joblib or .pkl)" in result.message

"""What teams read (messages and logs) names no host path and no runner internals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import sandbox
from sandbox import Outcome, SubmissionFormat

from .conftest import FAST, request_for, run_python

ROOT = str(Path(sandbox.__file__).resolve().parents[1])
HOST_PATHS = [
    ROOT,
    sys.prefix,
    sys.base_prefix,
    "/.venv/",
    "mlchallenge-run-",
    "mlchallenge-runner-",
]


def _assert_no_host_path(text: str) -> None:
    for path in HOST_PATHS:
        assert path not in text, (path, text)


def test_a_bad_pickle_shows_its_traceback_without_host_paths(
    tmp_path: Path, work_dir: Path
) -> None:
    model = tmp_path / "model.joblib"
    model.write_bytes(b"cjoblib.numpy_pickle\nNoSuchThing\n.")
    result = sandbox.run(request_for(model, SubmissionFormat.SKLEARN), work_dir=work_dir)
    assert result.outcome is Outcome.INVALID_SUBMISSION
    assert "has no attribute 'NoSuchThing'" in result.message
    assert 'File "site-packages/joblib/numpy_pickle.py"' in result.message
    assert "/runner/" not in result.message  # the runner's own frames are dropped
    _assert_no_host_path(result.message)


def test_logs_and_tracebacks_from_the_jail_name_no_host_path(
    tmp_path: Path, work_dir: Path
) -> None:
    body = """
import sys

import numpy


def predict(features):
    print(sys.path, numpy.__file__, __file__)
    raise ValueError("broken on purpose")
"""
    result = run_python(tmp_path, work_dir, body, limits=FAST)
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert 'File "/job/model/model.py"' in result.message
    assert "ValueError: broken on purpose" in result.message
    assert "site-packages/numpy/__init__.py" in result.logs
    _assert_no_host_path(result.message)
    _assert_no_host_path(result.logs)


def test_the_process_backend_shows_jail_paths_too(tmp_path: Path, work_dir: Path) -> None:
    """Without bwrap the model runs in the host's scratch folder: it is called /job all the same."""
    model = tmp_path / "model.py"
    model.write_text("def predict(features):\n    raise ValueError('broken on purpose')\n")
    with pytest.warns(RuntimeWarning, match="process"):
        result = sandbox.run(
            request_for(model, SubmissionFormat.PYTHON, limits=FAST),
            backend="process",
            work_dir=work_dir,
        )
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert 'File "/job/model/model.py"' in result.message
    _assert_no_host_path(result.message)
    assert str(work_dir) not in result.message


def test_a_platform_fault_names_no_host_folder(tmp_path: Path, work_dir: Path) -> None:
    features = tmp_path / "features.parquet"
    features.write_bytes(b"not parquet")
    request = request_for(tmp_path / "model.py", SubmissionFormat.PYTHON)
    (tmp_path / "model.py").write_text("def predict(features):\n    return [0] * len(features)\n")
    broken = request.__class__(**{**request.__dict__, "features_path": features})
    result = sandbox.run(broken, work_dir=work_dir)
    assert result.outcome is Outcome.INFRASTRUCTURE_ERROR
    assert "features.parquet" in result.message
    assert str(tmp_path) not in result.message and "<server>" in result.message

"""Outputs that inflate when parsed: the worker stays within its budget, the team gets a reason.

Each case runs in a fresh worker-like process (`tests/sandbox/bombs.py`), which measures its own
peak resident size over its idle size while `sandbox.run` handles the file, and the peak of every
parsing child it forks. The budget is the sandbox's `parse_mb` (256 MB): neither the worker nor a
child may grow by more than that over the worker's idle size (a child's resident size also counts
the worker's pages it reads without copying them: SHARED_KB of slack).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sandbox
from sandbox import Limits, Outcome, SubmissionFormat
from sandbox.settings import get_settings

from . import bombs
from .conftest import FAST, request_for

ROOT = Path(__file__).resolve().parents[2]
N_ROWS = 20_000
BUDGET_KB = get_settings().parse_mb * 1024
SHARED_KB = 32 * 1024


def _features(folder: Path) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(N_ROWS, 4)), columns=["f0", "f1", "f2", "f3"])
    frame.insert(0, "id", np.arange(N_ROWS))
    path = folder / "features.parquet"
    frame.to_parquet(path, index=False)
    os.chmod(path, 0o644)
    return path


def _probe(cases: list[dict[str, Any]], **env: str) -> dict[str, dict[str, Any]]:
    spec = Path(cases[0]["model"]).parent / "probe.json"
    spec.write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, "-m", "tests.sandbox.bombs", str(spec)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reports = json.loads(done.stdout.strip().splitlines()[-1])
    for report in reports:  # the figures the issue asks for, in the test log
        children = [c["peak_kb"] // 1024 for c in report["children"]]
        print(
            f"{report['name']}: {report['outcome']}; worker idle {report['idle_kb'] // 1024} MB, "
            f"grew {report['growth_kb'] // 1024} MB; parsing children peak {children} MB"
        )
    return {report["name"]: report for report in reports}


def _assert_bounded(report: dict[str, Any]) -> None:
    assert report["growth_kb"] <= BUDGET_KB, report
    assert report["children"], "the file was not parsed in a bounded child"
    for child in report["children"]:
        assert child["peak_kb"] <= report["idle_kb"] + BUDGET_KB + SHARED_KB, report


@pytest.fixture(scope="module")
def prediction_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every inflating predictions upload, run once in one worker-like process."""
    folder = tmp_path_factory.mktemp("bombs")
    features = _features(folder)
    ids = np.arange(N_ROWS)
    files = {
        "dictionary": bombs.dictionary_bomb(folder / "dictionary.parquet", ids),
        "compression": bombs.compression_bomb(folder / "compression.parquet", ids),
        "unread-column": bombs.dictionary_bomb(folder / "unread.parquet", ids, column="junk"),
        "nested": bombs.nested_column(folder / "nested.parquet", ids),
        "huge-line": bombs.huge_line_csv(folder / "huge-line.csv", ids, line_mb=200),
    }
    for path in files.values():
        assert path.stat().st_size < 2 * 1024 * 1024 or path.suffix == ".csv"
    cases = [
        {
            "name": name,
            "model": str(path),
            "format": "predictions",
            "features": str(features),
            "limits": {"output_mb": 512},
        }
        for name, path in files.items()
    ]
    return _probe(cases)


@pytest.mark.parametrize("name", ["dictionary", "compression"])
def test_parquet_bombs_are_refused_within_the_budget(
    prediction_files: dict[str, dict[str, Any]], name: str
) -> None:
    report = prediction_files[name]
    assert report["outcome"] == "invalid_output"
    assert "need more than 256 MB of memory to read" in report["message"]
    _assert_bounded(report)


def test_a_bomb_in_a_column_the_scorer_does_not_need_is_never_read(
    prediction_files: dict[str, dict[str, Any]],
) -> None:
    report = prediction_files["unread-column"]
    assert report["outcome"] == "ok", report["message"]
    _assert_bounded(report)
    assert all(c["peak_kb"] - c["start_kb"] < 64 * 1024 for c in report["children"]), report


def test_nested_columns_are_refused_from_the_schema(
    prediction_files: dict[str, dict[str, Any]],
) -> None:
    report = prediction_files["nested"]
    assert report["outcome"] == "invalid_output"
    assert (
        "has the type list<" in report["message"] and "plain numbers or text" in report["message"]
    )
    _assert_bounded(report)


def test_a_csv_with_one_huge_line_is_refused_within_the_budget(
    prediction_files: dict[str, dict[str, Any]],
) -> None:
    report = prediction_files["huge-line"]
    assert report["outcome"] == "invalid_output"
    _assert_bounded(report)


def test_a_bomb_written_by_the_model_in_its_jail_is_refused_within_the_budget(
    base: Path, work_dir: Path
) -> None:
    """The model writes the bomb as its predictions and forges an `ok` result, then exits."""
    features = _features(base)
    model = base / "model.py"
    model.write_text(
        textwrap.dedent(
            """
            import json, os
            import pyarrow as pa, pyarrow.parquet as pq

            def predict(features):
                ids = features["id"].to_numpy()
                column = pa.DictionaryArray.from_arrays(
                    pa.array([0] * len(ids), pa.int32()), pa.array(["x" * 65536])
                )
                pq.write_table(pa.table({"id": ids, "label": column}), "/out/predictions.parquet",
                               compression="zstd", store_schema=False)
                with open("/out/result.json", "w") as handle:
                    json.dump({"status": "ok", "message": ""}, handle)
                os._exit(0)
            """
        )
    )
    os.chmod(model, 0o644)
    case = {
        "name": "jail-dictionary",
        "model": str(model),
        "format": "python",
        "features": str(features),
        "work_dir": str(work_dir),
        "limits": {"time_s": 60, "memory_mb": 1536, "output_mb": 16},
    }
    report = _probe([case])["jail-dictionary"]
    assert report["outcome"] == "invalid_output", report["message"]
    assert "need more than 256 MB of memory to read" in report["message"]
    _assert_bounded(report)


def test_an_archive_with_a_huge_central_directory_is_unpacked_within_the_budget(
    base: Path, work_dir: Path
) -> None:
    """300,000 directory entries in a 14 MB zip: refused from the zip's end records before any
    directory is parsed (or, failing that, the unpacking child hits its limit), never the worker.

    The child's budget is lowered to 64 MB here so that the case takes seconds, not minutes.
    """
    archive = bombs.central_directory_bomb(base / "model.zip", 300_000)
    os.chmod(archive, 0o644)
    case = {
        "name": "central-directory",
        "model": str(archive),
        "format": "python",
        "features": str(_features(base)),
        "work_dir": str(work_dir),
    }
    report = _probe([case], MLCHALLENGE_SANDBOX_PARSE_MB="64")["central-directory"]
    assert report["outcome"] == "invalid_submission"
    assert re.search(
        r"holds \d+ entries; the limit is 2000|needs more than 64 MB of memory to unpack",
        report["message"],
    ), report["message"]
    assert report["growth_kb"] <= 64 * 1024, report
    for child in report["children"]:
        assert child["peak_kb"] <= report["idle_kb"] + 64 * 1024 + SHARED_KB, report


def test_a_deeply_nested_result_file_is_a_runtime_error(tmp_path: Path, work_dir: Path) -> None:
    """64 KB of '[' would raise RecursionError in the worker's JSON parser."""
    model = tmp_path / "model.py"
    model.write_text(
        "import os\n\n"
        "def predict(features):\n"
        "    with open('/out/result.json', 'w') as handle:\n"
        "        handle.write('[' * 60000)\n"
        "    os._exit(0)\n"
    )
    result = sandbox.run(request_for(model, SubmissionFormat.PYTHON), work_dir=work_dir)
    assert result.outcome is Outcome.RUNTIME_ERROR, result.message


def test_a_flooded_status_pipe_changes_nothing(tmp_path: Path, work_dir: Path) -> None:
    """50 MB without a newline, then forged marks, on the runner's status pipe: the run scores."""
    model = tmp_path / "model.py"
    model.write_text(
        textwrap.dedent(
            """
            import json, os

            spec = json.load(open("/job/spec.json"))
            chunk = b"x" * (1 << 20)
            for _ in range(50):
                os.write(spec["status_fd"], chunk)
            os.write(spec["status_fd"], b"\\npredict\\nfit\\nnonsense\\n")

            def predict(features):
                return (features["f0"] > 0).astype(int).to_numpy()
            """
        )
    )
    limits = Limits(**{**FAST.__dict__, "time_s": 60})
    result = sandbox.run(
        request_for(model, SubmissionFormat.PYTHON, limits=limits), work_dir=work_dir
    )
    assert result.outcome is Outcome.OK, result.message
    assert result.predictions is not None and len(result.predictions) == 50

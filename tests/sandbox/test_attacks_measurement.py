"""Every figure that ranks is measured by the host: a model cannot forge its cost.

The same scikit-learn-format model (a pickle that builds, at unpickle time, an object whose predict
does a fixed amount of work) is run honestly, with every clock of the `time` module stopped at
unpickle time, and with its work moved from predict into load (it reads the test features itself
and answers from a cache). The ranking figures of the forged ones must not be lower than the
honest one's (within timing noise), and the cost of modulation-classification must not favour
them. The variants run interleaved, three rounds, and their medians are compared.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pytest

import sandbox
from challenge.problems.modulation_classification import COST_REFERENCE, COST_WEIGHTS
from leaderboards.ranking import inference_cost
from sandbox import Limits, Outcome, RunResult, SubmissionFormat

from .conftest import request_for

LIMITS = Limits(time_s=120, memory_mb=2048, processes=32, log_kb=32, tmp_mb=32, output_mb=16)
ROUNDS = 100_000_000
"""Additions in a plain Python loop: about 2.5 s of work on an idle core, several times the format's
runtime, so that load on the machine does not blur the comparison. (Not a numpy kernel: their
speed changes a lot between numpy versions, 150 sorts of 200,000 numbers went from 2 s to 0.1 s.)"""
WALL_SHARE = 0.5
"""A forged wall-clock figure must reach this share of the honest one: wall time on a busy
machine varies by tens of percent (before the host measured them, the forged latencies were 0)."""
CPU_SHARE = 0.8
"""CPU time is the kernel's count of the work, and barely moves with the load."""

WORK = f"""
import numpy as np

def work(features):
    total = 0
    for step in range({ROUNDS}):
        total += step
    return (features["f0"] > 0).astype(int).to_numpy()
"""

HONEST = (
    WORK
    + """
class Model:
    def predict(self, features):
        return work(features)

model = Model()
"""
)

STOPPED_CLOCK = (
    """
import time
for name in ("perf_counter", "monotonic", "time", "process_time", "thread_time"):
    setattr(time, name, lambda: 0.0)
for name in ("perf_counter_ns", "monotonic_ns", "time_ns", "process_time_ns", "thread_time_ns"):
    setattr(time, name, lambda: 0)
"""
    + HONEST
)

MOVED_TO_LOAD = (
    WORK
    + """
import pandas as pd

answers = work(pd.read_parquet("/job/features.parquet"))

class Model:
    def predict(self, features):
        return answers

model = Model()
"""
)


class _Build:
    """Pickles as `eval` of code that runs `source` and returns its `model` (runs at unpickle)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        code = f"(lambda ns: (exec({self.source!r}, ns), ns['model'])[1])({{}})"
        return eval, (code,)


def _pickle(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.joblib"
    joblib.dump(_Build(textwrap.dedent(source)), path)
    os.chmod(path, 0o644)
    return path


def _run(model: Path, work_dir: Path, **measure: Any) -> RunResult:
    request = dataclasses.replace(
        request_for(model, SubmissionFormat.SKLEARN, limits=LIMITS), **measure
    )
    result = sandbox.run(request, work_dir=work_dir)
    assert result.outcome is Outcome.OK, result.message
    assert result.predictions is not None and len(result.predictions) == 50
    return result


@pytest.fixture(scope="module")
def measured(jail_path: str) -> Iterator[dict[str, dict[str, float]]]:
    """Median KPIs of each variant over three rounds, interleaved so that load drifts alike, on
    the module's path (a cold or a warm jail).

    Every run measures the model above the empty sklearn model (measured once, then reused).
    """
    folder = Path(tempfile.mkdtemp(prefix="mlc-clocks-"))
    os.chmod(folder, 0o755)
    work_dir = folder / "work"
    work_dir.mkdir(mode=0o711)
    variants = {"honest": HONEST, "stopped-clock": STOPPED_CLOCK, "moved-to-load": MOVED_TO_LOAD}
    models = {name: _pickle(folder, name, source) for name, source in variants.items()}
    runs: dict[str, list[RunResult]] = {name: [] for name in variants}
    for _ in range(3):
        for name, model in models.items():
            runs[name].append(_run(model, work_dir, reference=True))
    medians = {
        name: {k: statistics.median(r.kpis[k] for r in results) for k in results[0].kpis}
        for name, results in runs.items()
    }
    for name, kpis in medians.items():
        print(name, {k: round(v, 1) for k, v in kpis.items()})
    yield medians
    shutil.rmtree(folder, ignore_errors=True)


def _cost(kpis: dict[str, float]) -> float | None:
    return inference_cost(kpis, COST_WEIGHTS, COST_REFERENCE)


@pytest.mark.parametrize("forged", ["stopped-clock", "moved-to-load"])
def test_a_forged_model_gains_nothing_in_the_ranking_figures(
    measured: dict[str, dict[str, float]], forged: str
) -> None:
    honest, cheat = measured["honest"], measured[forged]
    # the honest model's fixed work is most of its CPU time, and counted above the empty model
    assert honest["model_cpu_ms_per_1k"] > 0.2 * honest["cpu_time_s"] * 1e6 / 50, honest
    assert cheat["latency_ms_per_1k"] >= WALL_SHARE * honest["latency_ms_per_1k"], (cheat, honest)
    for kpi in ("cpu_time_s", "model_cpu_ms_per_1k"):
        assert cheat[kpi] >= CPU_SHARE * honest[kpi], (kpi, cheat, honest)
    honest_cost, cheat_cost = _cost(honest), _cost(cheat)
    assert honest_cost is not None and cheat_cost is not None
    assert cheat_cost >= CPU_SHARE * honest_cost, (cheat_cost, honest_cost)


def test_a_model_without_work_costs_little_above_the_empty_model(
    base: Path, work_dir: Path
) -> None:
    """The same model without its work: about the runtime of its format's empty model."""
    idle = _pickle(base, "idle", HONEST.replace(f"range({ROUNDS})", "range(0)"))
    result = _run(idle, work_dir, timing_runs=3, reference=True)
    for kpi in ("model_latency_ms_per_1k", "model_cpu_ms_per_1k", "model_memory_mb"):
        assert kpi in result.kpis
    assert result.kpis["model_cpu_ms_per_1k"] < result.kpis["cpu_time_s"] * 1e6 / 50 / 2
    assert result.kpis["model_memory_mb"] < 30, result.kpis


def test_memory_spread_over_processes_is_summed(tmp_path: Path, work_dir: Path) -> None:
    """Four processes holding 150 MB each: the peak is the tree's sum, not one process's."""
    model = tmp_path / "model.py"
    model.write_text(
        textwrap.dedent(
            """
            import os, time
            import numpy as np

            def predict(features):
                children = []
                for _ in range(3):
                    pid = os.fork()
                    if pid == 0:
                        block = np.ones(150 * 1024 * 1024 // 8)
                        time.sleep(1.5)
                        os._exit(0)
                    children.append(pid)
                block = np.ones(150 * 1024 * 1024 // 8)
                time.sleep(1.5)
                for pid in children:
                    os.waitpid(pid, 0)
                return (features["f0"] > 0).astype(int).to_numpy()
            """
        )
    )
    result = sandbox.run(
        request_for(model, SubmissionFormat.PYTHON, limits=LIMITS), work_dir=work_dir
    )
    assert result.outcome is Outcome.OK, result.message
    assert result.kpis["peak_memory_mb"] > 4 * 150 * 0.9, result.kpis

"""What the problem tests share: each problem's features, its default data generated once, and
its baseline loaded from the file it writes."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from challenge.problems import GeneratedData, Problem, get_problem
from challenge.problems.base import BASELINE_PATH


@dataclass(frozen=True)
class Timed:
    """Data generated at a problem's default size and seed 0, and how long that took."""

    data: GeneratedData
    seconds: float


def features(problem: Problem) -> list[str]:
    """The feature columns the problem's module declares, in table order."""
    names: list[str] = importlib.import_module(problem.simulate.__module__).FEATURES
    return names


@cache
def default_generation(problem_id: str) -> Timed:
    """The problem's data at its default size and seed 0, generated once per session."""
    start = time.perf_counter()
    data = get_problem(problem_id).generate(seed=0)
    return Timed(data, time.perf_counter() - start)


def load_baseline(
    problem: Problem, train: pd.DataFrame, folder: Path, *, max_bytes: int = 2_000_000
) -> Any:
    """Train the problem's baseline into `folder` and load the joblib file it writes."""
    path, fmt = problem.write_baseline(train, folder)
    assert (path, fmt) == (BASELINE_PATH, "sklearn")
    assert (folder / path).stat().st_size < max_bytes
    return joblib.load(folder / path)

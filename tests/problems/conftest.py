"""Fixtures of the per-problem test modules, for the `PROBLEM` each module names.

A module may set `SIZE` (test rows of its data; default: the problem's default size) and
`BASELINE_MAX_BYTES` (the largest baseline file it accepts; default 2 MB).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from challenge.problems import GeneratedData, Problem
from tests.problems.problem_data import default_generation, features, load_baseline


def _problem(request: pytest.FixtureRequest) -> Problem:
    problem: Problem = request.module.PROBLEM
    return problem


@pytest.fixture(scope="module")
def data(request: pytest.FixtureRequest) -> GeneratedData:
    """Seed 0 at the module's SIZE, or at the default size as participants get it."""
    size: int | None = getattr(request.module, "SIZE", None)
    if size is None:
        return default_generation(_problem(request).id).data
    return _problem(request).generate(seed=0, size=size)


@pytest.fixture(scope="module")
def baseline_model(
    request: pytest.FixtureRequest, data: GeneratedData, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The baseline trained on `data`, loaded from the model file it writes."""
    limit: int = getattr(request.module, "BASELINE_MAX_BYTES", 2_000_000)
    folder = tmp_path_factory.mktemp("baseline")
    return load_baseline(_problem(request), data.train, folder, max_bytes=limit)


@pytest.fixture(scope="module")
def baseline(
    request: pytest.FixtureRequest, data: GeneratedData, baseline_model: Any
) -> np.ndarray:
    """The baseline's predictions on the test features."""
    return np.asarray(baseline_model.predict(data.test[features(_problem(request))]))

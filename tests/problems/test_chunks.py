"""Simulation chunks made on several cores come back in order and equal to one process's."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from challenge.problems import beam_selection, chunks, modulation_classification
from challenge.problems.chunks import ordered_chunks


def _square(index: int) -> int:
    return index * index


@pytest.mark.parametrize("parallel", [False, True])
def test_chunks_come_in_order(parallel: bool) -> None:
    made = ordered_chunks(_square, parallel=parallel)
    assert [next(made) for _ in range(9)] == [i * i for i in range(9)]
    made.close()


def _digest(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {
        name: hashlib.sha256(pd.util.hash_pandas_object(frame).to_numpy().tobytes()).hexdigest()
        for name, frame in frames.items()
    }


@pytest.mark.parametrize("module", [beam_selection, modulation_classification])
def test_parallel_generation_gives_the_same_data(
    module: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = module.PROBLEM  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "CHUNK", 500)  # several chunks, in flight at once
    alone = problem.generate(3, 2_500)
    monkeypatch.setattr(module, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(chunks.threading, "active_count", lambda: 1)
    spread = problem.generate(3, 2_500)
    for name in ("train", "test", "labels"):
        assert _digest({name: getattr(alone, name)}) == _digest({name: getattr(spread, name)})

"""The scorer checks the hashes of the test data and labels before every evaluation."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from challenge.files import storage
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions


def evaluate_until_done(settings: Any, submission_id: int) -> list[str]:
    outcomes = []
    for _ in range(settings.max_attempts + 1):
        outcomes.append(run_evaluation(settings, submission_id, worker="w"))
        if outcomes[-1] != "requeued":
            break
    return outcomes


def swap_labels(settings: Any, slug: str) -> None:
    """Another competition's labels written over these (what the same-slug race did)."""
    path = storage.labels_path(settings.labels, slug)
    labels = pd.read_parquet(path)
    labels["y"] = labels["y"] + 1.0
    labels.to_parquet(path, index=False)


def swap_test(settings: Any, slug: str) -> None:
    path = storage.public_data_dir(settings.storage, slug) / "test.parquet"
    test = pd.read_parquet(path)
    test["x1"] = 0.0
    test.to_parquet(path, index=False)


@pytest.mark.parametrize("tamper", [swap_labels, swap_test])
def test_changed_data_on_disk_is_an_infrastructure_error_not_a_score(
    arena: Arena, settings: Any, tamper: Any
) -> None:
    honest = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    assert run_evaluation(settings, honest, worker="w") == "finished"
    tamper(settings, arena.slug)
    shifted = arena.submit(truth_predictions(arena.bundle, noise=0.3)).json()["id"]
    assert evaluate_until_done(settings, shifted)[-1] == "failed"
    data = arena.client.get(f"/api/v1/submissions/{shifted}", headers=auth(arena.participant))
    body = data.json()
    assert body["status"] == "failed" and body["failure_reason"] == "infrastructure_error"
    assert body["scores"] == {} and "differ from what the host uploaded" in body["error"]
    board = arena.client.get(f"/api/v1/competitions/{arena.slug}/leaderboard").json()
    assert [row["submission_id"] for row in board["rows"]] == [honest]

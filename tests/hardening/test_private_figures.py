"""Before finalization nothing a team reads carries a figure of the private split; staff see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from challenge.files import storage
from mlfo.validation import default_intent
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena, make_arena
from tests.platform.helpers import auth, regression_settings

FLOOR = 0.5


def floor_settings(slug: str = "floor") -> dict[str, Any]:
    """A regression competition whose rmse must stay under 0.5 on every split."""
    plain = regression_settings(slug)
    intent = default_intent(plain).model_dump(mode="json")
    intent["policies"] = [
        {"kind": "validity_floor", "params": {"metric": "rmse", "max": FLOOR, "on": "all"}}
    ]
    return {**plain, "intent": intent}


def good_public_bad_private(settings: Any, arena: Arena) -> bytes:
    """Exact on the public rows, off by 7.123 on the private ones."""
    labels = pd.read_parquet(storage.labels_path(settings.labels, arena.slug))
    offset = np.where(labels["split"] == "private", 7.123, 0.0)
    return labels.assign(y=labels["y"] + offset)[["id", "y"]].to_csv(index=False).encode()


@pytest.fixture
def floor_arena(client: TestClient, settings: Any, tmp_path: Path) -> Arena:
    return make_arena(client, settings, tmp_path, floor_settings())


def test_a_floor_missed_on_the_private_split_names_no_private_figure(
    floor_arena: Arena, settings: Any
) -> None:
    arena = floor_arena
    sent = arena.submit(good_public_bad_private(settings, arena))
    assert sent.status_code == 201, sent.text
    submission_id = sent.json()["id"]
    assert run_evaluation(settings, submission_id, worker="w") == "finished"

    team = arena.client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.participant))
    body = team.json()
    assert body["valid"] is False
    assert body["error"] == f"rmse on the private split is above the bound {FLOOR:g}"
    assert "private" not in body["scores"] and "private" not in body["intervals"]
    history = arena.client.get(
        f"/api/v1/submissions/{submission_id}/scores/history", headers=auth(arena.participant)
    ).json()
    for text in (team.text, str(history)):
        assert "7.1" not in text and "7,1" not in text

    staff = arena.client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.host))
    private_rmse = staff.json()["scores"]["private"]["rmse"]
    assert private_rmse == pytest.approx(7.123, rel=1e-3)


def test_metric_errors_of_the_private_split_stay_with_its_scores() -> None:
    from challenge.submissions.schemas import team_scores

    scores = {
        "public": {"rmse": 0.1, "r2": None},
        "private": {"rmse": 0.2, "r2": None, "msle": None},
        "errors": {"r2": "public: one row", "msle": "private: labels below -1 (min -3.5)"},
    }
    assert team_scores(scores) == {
        "public": {"rmse": 0.1, "r2": None},
        "errors": {"r2": "public: one row"},
    }
    assert "errors" not in team_scores({"private": {}, "errors": {"m": "private: x"}})

"""A submission's method (EvalAI style): stored, validated, shown on the board on request."""

from __future__ import annotations

from typing import Any

from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions


def upload(arena: Arena, **fields: str) -> Any:
    return arena.client.post(
        f"/api/v1/competitions/{arena.slug}/submissions",
        files={"file": ("pred.csv", truth_predictions(arena.bundle))},
        data={"format": "predictions", **fields},
        headers=auth(arena.participant),
    )


def test_method_on_the_board_when_public_and_asked(arena: Arena, settings: Any) -> None:
    bad = upload(arena, method_name="GBM", method_url="javascript:alert(1)")
    assert bad.status_code == 422 and "method_url" in bad.json()["message"]
    made = upload(
        arena,
        method_name="GBM",
        method_description="gradient boosting on lags",
        method_url="https://example.org/code",
        method_public="true",
    )
    assert made.status_code == 201, made.text
    assert made.json()["method"]["name"] == "GBM" and made.json()["method"]["public"] is True
    assert run_evaluation(settings, made.json()["id"], worker="w") == "finished"
    url = f"/api/v1/competitions/{arena.slug}/leaderboard"
    plain = arena.client.get(url).json()["rows"][0]
    assert "method" not in plain
    shown = arena.client.get(url, params={"methods": "true"}).json()["rows"][0]
    assert shown["method"]["url"] == "https://example.org/code"
    page = arena.client.get(f"/competitions/{arena.slug}/leaderboard?methods=true")
    assert "gradient boosting on lags" in page.text


def test_private_method_stays_off_the_board(arena: Arena, settings: Any) -> None:
    made = upload(arena, method_name="secret sauce")
    assert made.json()["method"]["public"] is False
    assert run_evaluation(settings, made.json()["id"], worker="w") == "finished"
    url = f"/api/v1/competitions/{arena.slug}/leaderboard"
    row = arena.client.get(url, params={"methods": "true"}).json()["rows"][0]
    assert row["method"] is None

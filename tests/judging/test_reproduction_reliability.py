"""A reproduction survives a real worker killed with -9: the next worker finishes it, once."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from challenge.db.session import transaction
from challenge.files import storage
from challenge.judging.models import ReproductionResult
from tests.arena import Arena
from tests.judging.helpers import evaluate, judge_of, quiet
from tests.platform.helpers import auth, create_user
from tests.worker import kill_group, start_worker

pytestmark = pytest.mark.slow

SLUG = "rlf"
FRESH_ROWS = 120  # the competition's own test set has 300 rows: the models sleep only on fresh data
MODEL = """
import time

def predict(features):
    if len(features) == {fresh_rows}:
        time.sleep(3)
    return {prediction}
"""
PREDICTIONS = {
    "Gamma": "[1] * len(features)",
    "Delta": "(features['fade_margin_db'] < features['fade_margin_db'].median()).astype(int)",
}


def zipped_model(prediction: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", MODEL.format(fresh_rows=FRESH_ROWS, prediction=prediction))
    return buffer.getvalue()


def ranked_models(arena: Arena, settings: Any) -> dict[str, int]:
    """A competition of a built-in problem with two teams' python models scored on its board."""
    created = arena.client.post(
        "/api/v1/competitions",
        headers=auth(arena.host),
        json={"problem": "radio-link-failure", "slug": SLUG, "size": 300, "baseline": False},
    )
    assert created.status_code == 201, created.text
    submissions = {}
    for user, team in (("carol", "Gamma"), ("dave", "Delta")):
        token = create_user(arena.client, arena.admin, user)
        joined = arena.client.post(
            f"/api/v1/competitions/{SLUG}/teams", json={"name": team}, headers=auth(token)
        )
        assert joined.status_code == 201, joined.text
        uploaded = arena.client.post(
            f"/api/v1/competitions/{SLUG}/submissions",
            files={"file": ("model.zip", zipped_model(PREDICTIONS[team]))},
            data={"format": "python"},
            headers=auth(token),
        )
        assert uploaded.status_code == 201, uploaded.text
        submissions[team] = int(uploaded.json()["id"])
        evaluate(quiet(settings), submissions[team])
    return submissions


def wait_for(arena: Arena, judge: str, url: str, done: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = arena.client.get(url, headers=auth(judge)).json()
        if done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} never got there: {body}")


def finished_rows(body: dict[str, Any]) -> list[str]:
    return [row["team"]["name"] for row in body["rows"] if row["status"] == "finished"]


def test_killed_worker_reproduction_is_requeued_and_finished_once(
    arena: Arena, settings: Any, tmp_path: Path
) -> None:
    submissions = ranked_models(arena, settings)
    judge = judge_of(arena, slug=SLUG)
    requested = arena.client.post(
        f"/api/v1/judging/competitions/{SLUG}/reproductions",
        json={"top_k": 2, "board": "private", "seed": 7, "size": FRESH_ROWS},
        headers=auth(judge),
    )
    assert requested.status_code == 202, requested.text
    url = f"/api/v1/judging/reproductions/{requested.json()['id']}"
    log = tmp_path / "worker.log"
    first = start_worker(settings, log)
    try:  # killed while the second entry sleeps: one result recorded, the other pending
        midway = wait_for(
            arena, judge, url, lambda b: b["status"] != "queued" and finished_rows(b), 90
        )
    finally:
        kill_group(first)
    assert midway["status"] == "running", (midway, log.read_text()[-3000:])
    kept = finished_rows(midway)
    assert len(kept) == 1
    second = start_worker(settings, log)
    try:
        final = wait_for(arena, judge, url, lambda b: b["status"] in {"finished", "failed"}, 90)
    finally:
        kill_group(second)
    assert final["status"] == "finished" and final["error"] == "", (final, log.read_text()[-3000:])
    assert final["attempts"] == 2
    assert sorted(finished_rows(final)) == ["Delta", "Gamma"]
    assert sorted(row["reproduced_rank"] for row in final["rows"]) == [1, 2]
    with transaction(settings.database_url) as session:
        results = session.scalar(
            select(func.count()).where(ReproductionResult.reproduction_id == final["id"])
        )
    assert results == 2
    for team, submission_id in submissions.items():  # the recorded result was not run again
        runs = storage.runs_dir(settings.storage, submission_id) / f"reproduction-{final['id']}"
        attempts = sorted(p.name for p in runs.iterdir())
        assert attempts == (["attempt-1"] if team in kept else ["attempt-1", "attempt-2"]), team

"""The intent's SINK list is what runs: the leaderboard is a commit sink the intent may leave out,
and plug-in commit sinks run in the transaction that records the result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from challenge.db.session import transaction
from challenge.submissions.models import ScoreRecord, Submission
from mlfo.sinks import COMMIT_SINKS, register_commit_sink
from mlfo.validation import default_intent
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena, make_arena
from tests.leaderboards.test_boards import board
from tests.platform.helpers import auth, regression_settings, truth_predictions


def arena_with_sinks(client: TestClient, settings: Any, tmp_path: Path, sinks: list[str]) -> Arena:
    competition = regression_settings()
    intent = default_intent(competition).model_dump(mode="json")
    intent["sinks"] = [{"kind": kind} for kind in sinks]
    return make_arena(client, settings, tmp_path, {**competition, "intent": intent})


def evaluate(arena: Arena, settings: Any) -> int:
    submission_id = int(arena.submit(truth_predictions(arena.bundle)).json()["id"])
    assert run_evaluation(settings, submission_id, worker="w") == "finished"
    return submission_id


@pytest.mark.parametrize(("sinks", "ranked"), [(["scorer", "leaderboard"], 1), (["scorer"], 0)])
def test_results_reach_the_board_only_when_the_intent_lists_the_leaderboard(
    client: TestClient, settings: Any, tmp_path: Path, sinks: list[str], ranked: int
) -> None:
    arena = arena_with_sinks(client, settings, tmp_path, sinks)
    submission_id = evaluate(arena, settings)
    assert len(board(arena)) == len(board(arena, "private")) == ranked
    for action in ("disqualify", "reinstate"):  # a judge's action recomputes the same board
        response = client.post(
            f"/api/v1/judging/submissions/{submission_id}/{action}",
            json={"reason": "checking"},
            headers=auth(arena.host),
        )
        assert response.status_code == 200, response.text
    assert len(board(arena)) == ranked
    own = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.participant))
    assert own.json()["status"] == "finished" and own.json()["scores"]["public"]


@pytest.fixture
def calls() -> Iterator[list[tuple[int, str]]]:
    seen: list[tuple[int, str]] = []

    def probe(session: Any, submission: Submission) -> None:
        recorded = session.scalar(
            select(func.count()).where(ScoreRecord.submission_id == submission.id)
        )
        seen.append((recorded, str(submission.status)))
        if submission.note == "fail":
            raise RuntimeError("the probe sink failed")

    register_commit_sink("test_commit_probe", probe)
    yield seen
    COMMIT_SINKS.unregister("test_commit_probe")


def test_a_commit_sink_plugin_runs_with_the_result_and_commits_with_it(
    client: TestClient, settings: Any, tmp_path: Path, calls: list[tuple[int, str]]
) -> None:
    arena = arena_with_sinks(client, settings, tmp_path, ["scorer", "test_commit_probe"])
    submission_id = evaluate(arena, settings)
    assert calls == [(1, "finished")]
    assert board(arena) == []
    failing = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/submissions",
        files={"file": ("pred.csv", truth_predictions(arena.bundle))},
        data={"format": "predictions", "note": "fail"},
        headers=auth(arena.participant),
    ).json()["id"]
    with pytest.raises(RuntimeError, match="the probe sink failed"):
        run_evaluation(settings, failing, worker="w")
    with transaction(settings.database_url) as session:  # the result was not committed either
        row = session.get(Submission, failing)
        assert row is not None and row.status == "running" and row.score_version == 0
        records = session.scalar(select(func.count()).where(ScoreRecord.submission_id == failing))
    assert records == 0 and submission_id != failing

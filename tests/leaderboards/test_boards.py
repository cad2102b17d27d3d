"""Boards are updated incrementally and stay right when many results land at once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cachetools import LRUCache
from sqlalchemy import delete, select

from challenge.competitions.models import Competition
from challenge.db.session import transaction
from challenge.teams.models import Team
from leaderboards import service
from leaderboards.entries import refresh_team
from leaderboards.models import LeaderboardEntry, ScoreHistory
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, create_user, truth_predictions


def board(arena: Arena, name: str = "public") -> list[tuple[Any, ...]]:
    data = arena.client.get(
        f"/api/v1/competitions/{arena.slug}/leaderboard",
        params={"board": name},
        headers=auth(arena.host),
    ).json()
    return [(r["rank"], r["team"]["name"], r["submission_id"], r["score"]) for r in data["rows"]]


def test_many_results_at_once_equal_one_by_one(arena: Arena, settings: Any) -> None:
    client = arena.client
    tokens = [arena.participant]
    for index in range(1, 4):
        token = create_user(client, arena.admin, f"member{index}")
        assert (
            client.post(
                f"/api/v1/competitions/{arena.slug}/teams",
                json={"name": f"Team {index}"},
                headers=auth(token),
            ).status_code
            == 201
        )
        tokens.append(token)
    ids = []
    for attempt in range(3):
        for rank, token in enumerate(tokens):
            noise = 0.05 + 0.1 * rank + 0.01 * attempt
            response = arena.submit(truth_predictions(arena.bundle, noise=noise), token=token)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda i: run_evaluation(settings, i, worker=f"w{i}"), ids))
    assert outcomes == ["finished"] * len(ids)
    concurrent_public, concurrent_private = board(arena), board(arena, "private")
    assert [row[1] for row in concurrent_public] == ["Alpha", "Team 1", "Team 2", "Team 3"]
    assert [row[0] for row in concurrent_public] == [1, 2, 3, 4]
    with transaction(settings.database_url) as session:
        session.execute(delete(LeaderboardEntry))
        competition = session.scalar(select(Competition))
        assert competition is not None
        for team in session.scalars(select(Team)):
            refresh_team(
                session, competition=competition, phase_id=competition.phases[0].id, team_id=team.id
            )
    assert board(arena) == concurrent_public
    assert board(arena, "private") == concurrent_private


def test_history_records_improvements(arena: Arena, settings: Any) -> None:
    ids = []
    for noise in (0.5, 0.9, 0.2):
        ids.append(arena.submit(truth_predictions(arena.bundle, noise=noise)).json()["id"])
    for submission_id in ids:
        assert run_evaluation(settings, submission_id, worker="w") == "finished"
    with transaction(settings.database_url) as session:
        points = session.scalars(
            select(ScoreHistory).where(ScoreHistory.board == "public").order_by(ScoreHistory.id)
        ).all()
        scores = [p.score for p in points]
    assert len(scores) == 2 and scores[1] < scores[0]
    history = arena.client.get(f"/api/v1/competitions/{arena.slug}/leaderboard/history").json()
    assert [p["score"] for p in history["points"]] == scores


def test_failed_submission_ranks_last(arena: Arena, settings: Any) -> None:
    other = create_user(arena.client, arena.admin, "other")
    arena.client.post(
        f"/api/v1/competitions/{arena.slug}/teams", json={"name": "Broken"}, headers=auth(other)
    )
    good = arena.submit(truth_predictions(arena.bundle, noise=0.3)).json()["id"]
    # (predictions of a wrong shape are refused at upload: a model that raises fails in the worker)
    broken = b"def predict(features):\n    raise ValueError('broken on purpose')\n"
    bad = arena.submit(broken, name="model.py", format="python", token=other).json()["id"]
    assert run_evaluation(settings, good, worker="w") == "finished"
    assert run_evaluation(settings, bad, worker="w") == "finished"
    failed = arena.client.get(f"/api/v1/submissions/{bad}", headers=auth(other)).json()
    assert failed["status"] == "failed" and failed["failure_reason"] == "runtime_error"
    assert "broken on purpose" in failed["error"]
    rows = board(arena)
    assert [(r[0], r[1]) for r in rows] == [(1, "Alpha"), (None, "Broken")]


class ExclusiveCache(LRUCache[Any, Any]):
    """An LRU cache that counts the times two threads were inside it at once."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.inside = 0
        self.overlaps = 0

    def _enter(self) -> None:
        self.inside += 1
        self.overlaps += self.inside > 1
        time.sleep(0.0005)  # widens the window in which an unguarded second thread would enter

    def __getitem__(self, key: Any) -> Any:
        self._enter()
        try:
            return super().__getitem__(key)
        finally:
            self.inside -= 1

    def __setitem__(self, key: Any, value: Any) -> None:
        self._enter()
        try:
            super().__setitem__(key, value)
        finally:
            self.inside -= 1


def test_boards_read_from_many_threads_share_the_cache_under_its_lock(
    arena: Arena, settings: Any, monkeypatch: Any
) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    assert run_evaluation(settings, submission_id, worker="w") == "finished"
    cache = ExclusiveCache(maxsize=1)  # the two boards evict each other on every other read
    monkeypatch.setattr(service, "_RANKED", cache)

    def read(index: int) -> list[dict[str, Any]]:
        with transaction(settings.database_url) as session:
            competition = session.scalar(select(Competition))
            assert competition is not None
            name = ("public", "private")[index % 2]
            phase = competition.phases[0]
            return service._ranked_rows(session, phase=phase, board=name, higher=False)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, range(160)))
    assert all(len(rows) == 1 and rows[0]["submission_id"] == submission_id for rows in results)
    assert cache.overlaps == 0 and len(cache) == 1

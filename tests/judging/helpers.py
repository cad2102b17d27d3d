"""Helpers of the judging tests: users, teams, and real evaluations run in-process."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, create_user


def quiet(settings: Any) -> Any:
    """The settings without MLflow tracking (faster evaluations where MLflow is not the point)."""
    return settings.model_copy(update={"mlflow_tracking_uri": ""})


def evaluate(settings: Any, submission_id: int) -> None:
    """Run a queued submission's evaluation in this process, as a worker would."""
    assert run_evaluation(settings, submission_id, worker="test") == "finished"


def second_team(arena: Arena, username: str = "bob", name: str = "Beta") -> str:
    """A second participant in a team of their own; returns their token."""
    token = create_user(arena.client, arena.admin, username)
    created = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/teams", json={"name": name}, headers=auth(token)
    )
    assert created.status_code == 201, created.text
    return token


def submit_and_score(arena: Arena, settings: Any, content: bytes, token: str) -> int:
    """Upload predictions and evaluate them; returns the submission id."""
    response = arena.submit(content, token=token)
    assert response.status_code == 201, response.text
    submission_id = int(response.json()["id"])
    evaluate(settings, submission_id)
    return submission_id


def board(client: TestClient, slug: str, token: str | None, name: str = "public") -> Any:
    """A board as `token` sees it."""
    headers = auth(token) if token else {}
    return client.get(f"/api/v1/competitions/{slug}/leaderboard?board={name}", headers=headers)


def ranked_teams(client: TestClient, slug: str, token: str, name: str = "public") -> list[str]:
    """The names of the ranked teams of a board, best first."""
    response = board(client, slug, token, name)
    assert response.status_code == 200, response.text
    return [r["team"]["name"] for r in response.json()["rows"] if r["rank"] is not None]


def judge_of(arena: Arena, username: str = "judy", slug: str | None = None) -> str:
    """A user the host assigns as a judge of a competition (the arena's); returns their token."""
    token = create_user(arena.client, arena.admin, username, "judge")
    assigned = arena.client.post(
        f"/api/v1/competitions/{slug or arena.slug}/staff",
        json={"username": username, "role": "judge"},
        headers=auth(arena.host),
    )
    assert assigned.status_code == 201, assigned.text
    return token

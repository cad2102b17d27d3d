"""Helpers of the judging tests: users, teams, and real evaluations run in-process."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from challenge.db.session import transaction
from challenge.files import storage
from challenge.submissions.models import Submission
from mlfo.provenance import sha256_of
from mlfo.sinks import PLOT_INPUT
from mlfo.worker import plots
from mlfo.worker.execution import plan, run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, create_user


def quiet(settings: Any) -> Any:
    """The settings without MLflow tracking (faster evaluations where MLflow is not the point)."""
    return settings.model_copy(update={"mlflow_tracking_uri": ""})


def evaluate(settings: Any, submission_id: int) -> None:
    """Run a queued submission's evaluation in this process, as a worker would, then its
    deferred diagnostics plots (the worker's low-priority task)."""
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    draw_deferred_plots(settings, submission_id)


def draw_deferred_plots(settings: Any, submission_id: int) -> None:
    """Draw the plots a recorded evaluation left for later, as `mlfo.draw_diagnostics` would."""
    attempts = sorted(storage.runs_dir(settings.storage, submission_id).glob("attempt-*"))
    if not attempts or not (attempts[-1] / PLOT_INPUT).is_file():
        return
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        run_id = row.mlflow_run_id
        labels = plan(session, settings=settings, submission_id=submission_id).labels_path
    drawn = plots.draw(settings, submission_id, attempts[-1].name, run_id, sha256_of(labels))
    assert drawn == "drawn", drawn


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

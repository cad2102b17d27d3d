"""A queued submission says when no live worker serves its queue; health counts them per queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from challenge.db.base import utcnow
from challenge.db.session import transaction
from mlfo.worker.presence import WorkerHeartbeat, beat
from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions


def read(arena: Arena, submission_id: int) -> dict[str, Any]:
    response = arena.client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.host))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_queued_submission_says_when_no_worker_serves_its_queue(
    arena: Arena, settings: Any
) -> None:
    created = arena.submit(truth_predictions(arena.bundle))
    assert created.status_code == 201, created.text
    assert created.json()["queue"] == "cpu"
    assert "no worker is serving the 'cpu' queue" in created.json()["waiting"]
    submission_id = created.json()["id"]

    with transaction(settings.database_url) as session:
        beat(session, name="gpu-box:1", queues="gpu")
    assert "'cpu' queue" in read(arena, submission_id)["waiting"]  # a gpu worker does not count
    with transaction(settings.database_url) as session:
        beat(session, name="cpu-box:1", queues="cpu,large-memory")
    assert read(arena, submission_id)["waiting"] == ""
    listed = arena.client.get(
        f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(arena.participant)
    )
    assert [row["waiting"] for row in listed.json()] == [""]
    workers = arena.client.get("/api/v1/health").json()["workers"]
    assert workers["queues"] == {"cpu": 1, "gpu": 1, "large-memory": 1}
    assert sorted(workers["names"]) == ["cpu-box:1", "gpu-box:1"]

    with transaction(settings.database_url) as session:  # the cpu worker went quiet 2 minutes ago
        session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.name == "cpu-box:1")
            .values(last_seen=utcnow() - timedelta(minutes=2))
        )
    assert "'cpu' queue" in read(arena, submission_id)["waiting"]
    assert arena.client.get("/api/v1/health").json()["workers"]["queues"]["cpu"] == 0


def test_the_page_of_a_waiting_submission_shows_why(arena: Arena, settings: Any) -> None:
    created = arena.submit(truth_predictions(arena.bundle))
    submission_id = created.json()["id"]
    arena.client.cookies.set("mlchallenge_token", arena.participant)
    page = arena.client.get(f"/submissions/{submission_id}")
    assert page.status_code == 200, page.text
    assert "no worker is serving the &#39;cpu&#39; queue" in page.text
    with transaction(settings.database_url) as session:
        beat(session, name="cpu-box:1", queues="cpu")
    page = arena.client.get(f"/submissions/{submission_id}")
    assert "data-waiting hidden" in page.text

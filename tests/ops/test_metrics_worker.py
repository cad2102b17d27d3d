"""The metrics move with a real worker: queue gauges, outcomes, phase durations, sandbox kills,
reaper actions and HTTP latency; the worker writes JSON logs with the submission id."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.submissions.models import Submission, SubmissionStatus
from tests.arena import Arena, make_arena
from tests.e2e.server import free_port
from tests.platform.helpers import auth, regression_settings, truth_predictions
from tests.worker import kill_group, start_worker

pytestmark = pytest.mark.slow

GOOD_MODEL = b"def predict(features):\n    return 2 * features['x1'] - features['x2']\n"
SLOW_MODEL = (
    b"import time\n\ndef predict(features):\n    time.sleep(120)\n    return features['x1']\n"
)
TOKEN = "scrape-me"


def zipped(source: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", source)
    return buffer.getvalue()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, keyed by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scrape: dict[Any, float], name: str, **labels: str) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


def wait_terminal(arena: Arena, ids: list[int], timeout: float = 240) -> dict[int, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[int, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(done) < len(ids):
        for sid in ids:
            body = arena.client.get(f"/api/v1/submissions/{sid}", headers=auth(arena.host)).json()
            if body["status"] in ("finished", "failed", "cancelled"):
                done[sid] = body
        time.sleep(0.5)
    assert len(done) == len(ids), done
    return done


@pytest.fixture
def arena(client: Any, settings: Any, tmp_path: Path) -> Arena:
    competition = regression_settings(limits={"time_s": 20, "memory_mb": 1024})
    return make_arena(client, settings, tmp_path, competition)


def test_a_real_worker_moves_the_metrics_and_logs_json(
    arena: Arena, settings: Any, tmp_path: Path
) -> None:
    baseline = samples(arena.client.get("/metrics").text)  # this process served other tests
    predictions = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    good = arena.submit(zipped(GOOD_MODEL), name="model.zip", format="python").json()["id"]
    slow = arena.submit(zipped(SLOW_MODEL), name="model.zip", format="python").json()["id"]
    lost = arena.submit(truth_predictions(arena.bundle, noise=0.5)).json()["id"]
    unsent = arena.submit(truth_predictions(arena.bundle, noise=0.2)).json()["id"]
    with transaction(settings.database_url) as session:  # as a dead worker and a lost send leave
        session.execute(
            update(Submission)
            .where(Submission.id == lost)
            .values(
                status=SubmissionStatus.RUNNING,
                claim_token="gone",
                attempts=1,
                lease_expires_at=utcnow() - timedelta(seconds=5),
            )
        )
        session.execute(
            update(Submission)
            .where(Submission.id == unsent)
            .values(dispatched_at=None, created_at=utcnow() - timedelta(minutes=2))
        )

    before = samples(arena.client.get("/metrics").text)
    assert value(before, "mlchallenge_queue_depth", queue="cpu") == 4
    assert value(before, "mlchallenge_queue_running", queue="cpu") == 1
    assert value(before, "mlchallenge_queue_oldest_age_seconds", queue="cpu") >= 100
    assert value(before, "mlchallenge_queue_workers", queue="cpu") == 0
    assert value(before, "mlchallenge_database_up") == 1
    route = "/api/v1/competitions/{slug}/submissions"
    for name, labels in (
        ("mlchallenge_http_requests_total", {"method": "POST", "route": route, "status": "201"}),
        ("mlchallenge_http_request_duration_seconds_count", {"method": "POST", "route": route}),
    ):
        assert value(before, name, **labels) - value(baseline, name, **labels) == 5, name

    port = free_port()
    log = tmp_path / "worker.log"
    worker = start_worker(
        settings,
        log,
        MLCHALLENGE_LOG_FORMAT="json",
        MLCHALLENGE_METRICS_TOKEN=TOKEN,
        MLCHALLENGE_METRICS_PORT=str(port),
    )
    try:
        final = wait_terminal(arena, [predictions, good, slow, lost, unsent])
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url, timeout=10).status_code == 401
        scraped = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert scraped.status_code == 200
        during = samples(arena.client.get("/metrics").text)
    finally:
        kill_group(worker)
    assert final[slow]["failure_reason"] == "timeout", final[slow]
    assert {final[i]["status"] for i in (predictions, good, lost, unsent)} == {"finished"}

    after = samples(scraped.text)
    assert value(after, "mlchallenge_submission_outcomes_total", outcome="finished") == 4
    assert value(after, "mlchallenge_submission_outcomes_total", outcome="timeout") == 1
    assert value(after, "mlchallenge_sandbox_kills_total", reason="timeout") == 1
    assert value(after, "mlchallenge_evaluations_total", result="recorded") == 5
    assert value(after, "mlchallenge_evaluations_total", result="skipped") >= 1  # re-sent twice
    assert (
        value(after, "mlchallenge_reaper_actions_total", kind="submission", action="requeued") == 1
    )
    assert value(after, "mlchallenge_reaper_actions_total", kind="submission", action="resent") >= 2
    assert value(after, "mlchallenge_queue_wait_seconds_count", queue="cpu") == 5
    assert value(after, "mlchallenge_evaluation_duration_seconds_count", queue="cpu") == 5
    for phase, count in {
        "collect": 5,
        "validate": 5,
        "score": 4,
        "log": 5,
        "report": 5,
        "record": 5,
        "stage": 2,
        "jail_start": 2,
        "load": 2,
        "predict": 2,
    }.items():
        assert value(after, "mlchallenge_evaluation_phase_seconds_count", phase=phase) == count, (
            phase
        )
    in_jail = sum(
        value(after, "mlchallenge_evaluation_phase_seconds_sum", phase=phase)
        for phase in ("jail_start", "load", "predict")
    )
    assert in_jail >= 20  # the killed run's phases last until the host killed it at time_s
    assert value(during, "mlchallenge_queue_workers", queue="cpu") == 1
    assert value(during, "mlchallenge_queue_depth", queue="cpu") == 0

    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    text_records = re.compile(r"^\[?\d{4}[-/]\d\d[-/]\d\d[ T][\d:,.]+\]? ?(INFO|WARNING|ERROR)")
    assert not [line for line in lines if text_records.match(line)], lines[:40]
    for sid in (predictions, good, slow, lost, unsent):
        mine = [r for r in records if r.get("submission_id") == sid]
        assert any(r["message"] == f"submission {sid}: finished" for r in mine), (sid, mine)
        assert any(r["logger"] == "celery.app.trace" for r in mine), (sid, mine)
        named = [r for r in records if f"submission {sid}:" in r["message"]]
        assert named and all(r.get("submission_id") == sid for r in named), named
    reaper = [r for r in records if r["thread"] == "reaper"]
    assert reaper and all("submission_id" not in r for r in reaper)

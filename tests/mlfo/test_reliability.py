"""Reliability on a real worker: kill -9 mid-run, broker down at upload, provenance in MLflow."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from challenge.db.session import transaction
from challenge.submissions.models import ScoreRecord, Submission
from leaderboards.models import LeaderboardEntry
from tests.arena import Arena, make_arena
from tests.platform.helpers import auth, regression_settings, truth_predictions
from tests.polling import runner_started, wait_until
from tests.worker import kill_group, start_worker

pytestmark = pytest.mark.slow

SLOW_MODEL = b"""
import time

def predict(features):
    time.sleep(6)
    return 2 * features["x1"] - features["x2"]
"""


def status(arena: Arena, submission_id: int) -> dict[str, Any]:
    response = arena.client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.host))
    return dict(response.json())


def wait_status(
    arena: Arena, submission_id: int, wanted: set[str], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = status(arena, submission_id)
        if data["status"] in wanted:
            return data
        time.sleep(0.3)
    raise AssertionError(f"submission {submission_id} never reached {wanted}: {data}")


def zipped(source: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", source)
    return buffer.getvalue()


def test_killed_worker_submission_is_requeued_and_scored_once(
    arena: Arena, settings: Any, tmp_path: Path
) -> None:
    created = arena.submit(zipped(SLOW_MODEL), name="model.zip", format="python")
    assert created.status_code == 201, created.text
    submission_id = created.json()["id"]
    log = tmp_path / "worker.log"
    first = start_worker(settings, log)
    try:
        wait_status(arena, submission_id, {"running"}, timeout=120)
        wait_until(lambda: runner_started(first.pid), timeout=120, what="the model's jail")
    finally:
        kill_group(first)
    second = start_worker(settings, log)
    try:
        final = wait_status(arena, submission_id, {"finished", "failed"}, timeout=180)
    finally:
        kill_group(second)
    assert final["status"] == "finished", (final, log.read_text()[-3000:])
    assert final["attempts"] == 2
    with transaction(settings.database_url) as session:
        records = session.scalar(
            select(func.count()).where(ScoreRecord.submission_id == submission_id)
        )
        entries = session.scalars(
            select(LeaderboardEntry).where(LeaderboardEntry.submission_id == submission_id)
        ).all()
    assert records == 1
    assert sorted(e.board for e in entries) == ["private", "public"]
    from mlflow.tracking import MlflowClient

    runs = MlflowClient(settings.mlflow_tracking_uri).search_runs(
        experiment_ids=[
            e.experiment_id for e in MlflowClient(settings.mlflow_tracking_uri).search_experiments()
        ],
        filter_string=f"params.submission_id = '{submission_id}'",
    )
    assert [r.data.tags.get("mlchallenge.scoring_run") for r in runs] == ["true"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_port() -> int:
    """A free port for a Redis server of the test's own (started and stopped by the test)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed (apt-get install redis-server, or `make services`)")
    return free_port()


def start_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis did not start")


def test_broker_down_at_upload_loses_nothing(
    client: Any, settings: Any, tmp_path: Path, redis_port: int
) -> None:
    settings.broker_url = f"redis://127.0.0.1:{redis_port}/0"
    arena = make_arena(client, settings, tmp_path, regression_settings())
    started = time.monotonic()
    created = arena.submit(truth_predictions(arena.bundle, noise=0.3))
    assert created.status_code == 201, created.text
    assert time.monotonic() - started < 15
    submission_id = created.json()["id"]
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None and row.status == "queued" and row.dispatched_at is None
    redis = start_redis(redis_port, tmp_path)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        final = wait_status(arena, submission_id, {"finished", "failed"}, timeout=180)
    finally:
        kill_group(worker)
        redis.terminate()
        redis.wait(timeout=10)
    assert final["status"] == "finished", final
    provenance_is_logged(settings, final)


def provenance_is_logged(settings: Any, final: dict[str, Any]) -> None:
    """The MLflow run of a finished submission carries the provenance tags."""
    from mlflow.tracking import MlflowClient

    run = MlflowClient(settings.mlflow_tracking_uri).get_run(final["mlflow_run_id"])
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert tags["mlchallenge.submission_sha256"] == final["sha256"]
    for key in (
        "test_data_sha256",
        "labels_sha256",
        "scorer",
        "scorer_version",
        "platform_version",
        "sandbox_backend",
    ):
        assert tags[f"mlchallenge.{key}"], key
    assert tags["mlchallenge.scoring_run"] == "true"
    assert params["submission_id"] == str(final["id"])
    assert metrics["public_mae"] == pytest.approx(final["scores"]["public"]["mae"])
    assert "private_mae" in metrics


FOREVER_MODEL = b"""
import time

def predict(features):
    time.sleep(600)
"""


def test_cancelling_a_running_submission_stops_its_sandbox(
    arena: Arena, settings: Any, tmp_path: Path
) -> None:
    created = arena.submit(zipped(FOREVER_MODEL), name="model.zip", format="python")
    submission_id = created.json()["id"]
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        wait_status(arena, submission_id, {"running"}, timeout=120)
        wait_until(lambda: runner_started(worker.pid), timeout=120, what="the model's jail")
        cancelled = arena.client.post(
            f"/api/v1/submissions/{submission_id}/cancel", headers=auth(arena.participant)
        )
        assert cancelled.status_code == 200
        started = time.monotonic()
        final = wait_status(arena, submission_id, {"cancelled", "finished", "failed"}, timeout=60)
        stopped_in = time.monotonic() - started
        follow_up = arena.submit(truth_predictions(arena.bundle, noise=0.2)).json()["id"]
        after = wait_status(arena, follow_up, {"finished", "failed"}, timeout=120)
    finally:
        kill_group(worker)
    assert final["status"] == "cancelled" and final["failure_reason"] == "cancelled", final
    assert stopped_in < 20
    assert after["status"] == "finished"

"""An api and workers on machines that share no disk: everything goes through the S3 URL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from challenge.app import create_app
from challenge.db.session import transaction
from challenge.files import storage
from challenge.submissions.models import Submission
from challenge.web import artifacts
from mlfo.worker import plots
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions
from tests.s3 import S3Server
from tests.storage.conftest import machine


def keys(s3: S3Server, bucket: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_a_worker_without_the_apis_disk_scores_from_storage(
    arena: Arena, settings: Any, s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    slug = arena.slug
    stored = keys(s3, bucket)
    assert f"platform/labels/{slug}/test_labels.parquet" in stored
    assert f"platform/storage/competitions/{slug}/data/test.parquet" in stored
    assert not [k for k in stored if k.startswith("platform/storage/") and "label" in k]

    submitted = arena.submit(truth_predictions(arena.bundle))
    assert submitted.status_code == 201, submitted.text
    submission_id = submitted.json()["id"]
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        upload_key = f"platform/storage/submissions/{slug}/{Path(row.file_path).name}"
        digest = row.file_sha256
    assert upload_key in keys(s3, bucket)

    # the api's machine forgets its files: the worker must not need them
    shutil.rmtree(settings.storage)
    shutil.rmtree(settings.labels)
    worker = machine(
        settings.database_url, tmp_path, tmp_path / "worker-home", settings.storage_url
    )
    assert run_evaluation(worker, submission_id, worker="w1") == "finished"
    cached = worker.home / "cache" / "objects" / digest
    assert [p.name for p in cached.iterdir()] == [Path(upload_key).name]
    assert not storage.labels_path(worker.labels, slug).exists()  # labels only in the cache

    body = arena.client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.participant))
    assert body.json()["status"] == "finished" and body.json()["scores"]["public"]
    board = arena.client.get(f"/api/v1/competitions/{slug}/leaderboard").json()
    assert [row["submission_id"] for row in board["rows"]] == [submission_id]

    # the deferred plot is drawn by another worker, and the api shows it from storage
    assert artifacts.diagnostics_pending(settings, submission_id)
    plotter = machine(settings.database_url, tmp_path, tmp_path / "plot-home", settings.storage_url)
    labels_sha256 = arena_labels_sha256(settings, submission_id)
    assert plots.draw(plotter, submission_id, "attempt-1", None, labels_sha256) == "drawn"
    assert not artifacts.diagnostics_pending(settings, submission_id)
    plot = artifacts.diagnostics_path(settings, submission_id, "public")
    assert plot is not None and plot.read_bytes().startswith(b"\x89PNG")

    # a second api machine serves the public data from storage
    other = machine(settings.database_url, tmp_path, tmp_path / "api2-home", settings.storage_url)
    with TestClient(create_app(other)) as client:
        data = client.get(
            f"/api/v1/competitions/{slug}/data/test.parquet", headers=auth(arena.participant)
        )
    assert data.status_code == 200 and data.content[:4] == b"PAR1"


def arena_labels_sha256(settings: Any, submission_id: int) -> str:
    from challenge.competitions.models import Competition

    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        competition = session.get(Competition, row.competition_id)
        assert competition is not None
        return competition.labels_sha256


def test_a_new_attempt_skips_the_numbers_other_machines_used(tmp_path: Path) -> None:
    from mlfo.worker.execution import next_attempt_dir

    (tmp_path / "runs" / "attempt-1").mkdir(parents=True)
    folder = next_attempt_dir(tmp_path / "runs", taken=["attempt-2", "attempt-x", "other"])
    assert folder.name == "attempt-3" and folder.is_dir()


def test_a_store_that_refuses_the_upload_is_a_503_and_nothing_is_kept(
    arena: Arena, settings: Any
) -> None:
    uploads = storage.submissions_dir(settings.storage, arena.slug)
    settings.storage_url = "s3://no-such-bucket-for-mlc/platform"  # the store went away
    response = arena.submit(truth_predictions(arena.bundle))
    assert response.status_code == 503, response.text
    assert "file storage" in response.json()["message"]
    assert not uploads.is_dir() or not any(uploads.iterdir())
    with transaction(settings.database_url) as session:
        assert session.query(Submission).count() == 0


def test_an_object_missing_from_the_store_fails_as_infrastructure_not_quota(
    arena: Arena, settings: Any, s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        key = f"platform/storage/submissions/{arena.slug}/{Path(row.file_path).name}"
    s3.client().delete_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    home = tmp_path / "worker-home"
    worker = machine(settings.database_url, tmp_path, home, settings.storage_url)
    outcomes = [run_evaluation(worker, submission_id, worker="w1")]
    while outcomes[-1] == "requeued" and len(outcomes) <= worker.max_attempts:
        outcomes.append(run_evaluation(worker, submission_id, worker="w1"))
    assert outcomes[-1] == "failed" and "requeued" in outcomes
    body = arena.client.get(f"/api/v1/submissions/{submission_id}", headers=auth(arena.host))
    assert body.json()["failure_reason"] == "infrastructure_error"
    assert "missing from the file storage" in body.json()["error"]
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None and not row.counts_toward_quota


def test_final_models_are_fetched_from_storage_for_the_registry(
    settings: Any, tmp_path: Path
) -> None:
    import hashlib

    from challenge.files.objects import store_for
    from challenge.judging.finalization import _fetched
    from mlfo.tracking import FinalModel

    uploaded = storage.submissions_dir(settings.storage, "tiny") / "abc.joblib"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_bytes(b"a model")
    store_for(settings).publish(uploaded)
    home = tmp_path / "api2-home"
    other = machine(settings.database_url, tmp_path, home, settings.storage_url)
    entries = [
        FinalModel("run1", uploaded, rank=1, submission_id=1),
        FinalModel("run2", uploaded.with_name("gone.joblib"), rank=2, submission_id=2),
    ]
    digest = hashlib.sha256(b"a model").hexdigest()
    here = _fetched(other, "tiny", entries, {1: digest, 2: digest})
    assert [e.run_id for e in here] == ["run1"]  # a model missing from storage is left out
    assert here[0].model_path.read_bytes() == b"a model"
    assert here[0].model_path.is_relative_to(other.home)

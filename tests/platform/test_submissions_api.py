"""Submissions: upload checks, hostile archives, limits (atomic under concurrency), visibility."""

from __future__ import annotations

import io
import stat
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

import sandbox
from challenge.db.session import transaction
from challenge.files import storage
from challenge.submissions.models import FailureReason, Submission, SubmissionStatus
from sandbox import Outcome, RunRequest, SubmissionFormat
from tests.arena import Arena, make_arena
from tests.platform.helpers import auth, create_user, regression_settings, truth_predictions


def stored_uploads(settings: Any, slug: str = "tiny") -> list[Path]:
    folder = storage.submissions_dir(settings.storage, slug)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_upload_is_queued_and_visible_to_its_team(arena: Arena, settings: Any) -> None:
    response = arena.submit(truth_predictions(arena.bundle))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "queued" and body["team"]["name"] == "Alpha"
    assert len(body["sha256"]) == 64 and body["format"] == "predictions"
    client = arena.client
    own = client.get(f"/api/v1/submissions/{body['id']}", headers=auth(arena.participant))
    assert own.status_code == 200 and own.json()["id"] == body["id"]
    assert (
        client.get(f"/api/v1/submissions/{body['id']}", headers=auth(arena.host)).status_code == 200
    )
    outsider = create_user(client, arena.admin, "mallory")
    for path in (f"/api/v1/submissions/{body['id']}", f"/api/v1/submissions/{body['id']}/logs"):
        assert client.get(path, headers=auth(outsider)).status_code == 404
    logs = client.get(f"/api/v1/submissions/{body['id']}/logs", headers=auth(arena.participant))
    assert logs.status_code == 200 and logs.json()["status"] == "queued"
    listed = client.get(
        f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(arena.participant)
    )
    assert [s["id"] for s in listed.json()] == [body["id"]]
    assert (
        client.get(f"/api/v1/competitions/{arena.slug}/submissions", headers=auth(outsider)).json()
        == []
    )
    assert len(stored_uploads(settings)) == 1


@pytest.mark.parametrize(
    ("name", "content", "format", "status", "expected"),
    [
        ("model.onnx", b"x", "onnx", 422, "not accepted"),
        ("pred.txt", b"id,y\n", "predictions", 422, ".csv"),
        ("pred.csv", b"", "predictions", 422, "empty"),
        ("pred.csv", b"id,wrong\n1,2\n", "predictions", 422, "'y'"),
        ("pred.csv", b"id,y\n", "klingon", 422, "not accepted"),
        ("model.zip", b"PK\x05\x06" + b"\x00" * 18, "python", 422, "model.py"),
    ],
)
def test_bad_uploads_are_refused_and_not_kept(
    arena: Arena, settings: Any, name: str, content: bytes, format: str, status: int, expected: str
) -> None:
    response = arena.submit(content, name=name, format=format)
    assert response.status_code == status, response.text
    assert expected in response.json()["message"]
    assert stored_uploads(settings) == []


def test_size_limit(arena: Arena, settings: Any) -> None:
    big = b"id,y\n" + b"1,1.0\n" * (1024 * 1024)  # about 6 MB, the limit is 5 MB
    response = arena.submit(big)
    assert response.status_code == 413 and "MB" in response.json()["message"]
    assert stored_uploads(settings) == []


def _zip(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


MODEL = b"def predict(features):\n    return features['x1'] * 2\n"


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        (_zip({"model.py": MODEL, "../escape.py": b"x"}), "'..'"),
        (_zip({"model.py": MODEL, "/etc/cron.d/evil": b"x"}), "absolute"),
        (_zip({"model.py": MODEL}, links={"labels": "/data/labels"}), "symbolic link"),
        (_zip({"model.py": MODEL, "bomb.bin": b"\x00" * (40 * 1024 * 1024)}), "bomb"),
        (_zip({"model.py": MODEL} | {f"{i}.bin": bytes(1024**2) for i in range(300)}), "bomb"),
    ],
)
def test_hostile_archives(arena: Arena, settings: Any, archive: bytes, expected: str) -> None:
    response = arena.submit(archive, name="model.zip", format="python")
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]
    assert stored_uploads(settings) == []


def test_valid_python_zip_is_accepted(arena: Arena) -> None:
    response = arena.submit(_zip({"model.py": MODEL}), name="model.zip", format="python")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("name", "content", "format"),
    [
        ("model.pth", b"not checked", "torchscript"),
        ("model.pickle", b"not checked", "sklearn"),
        ("model.zip", _zip({"pkg/model.py": MODEL}), "python"),
        ("model.zip", _zip({"a/MLmodel": b"flavors: {}", "b/x": b"x"}), "mlflow"),
        ("model.joblib", b"not checked", "onnx"),
    ],
)
def test_an_upload_the_sandbox_would_refuse_is_refused_at_upload(
    client: TestClient,
    settings: Any,
    tmp_path: Path,
    name: str,
    content: bytes,
    format: str,
) -> None:
    every_format = [str(f) for f in SubmissionFormat if not sandbox.FORMATS[f].needs_programs]
    arena = make_arena(client, settings, tmp_path, regression_settings(formats=every_format))
    response = arena.submit(content, name=name, format=format)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert stored_uploads(settings) == []
    model = tmp_path / name
    model.write_bytes(content)
    request = RunRequest(model, SubmissionFormat(format), tmp_path / "none.parquet", "id", "y", "x")
    refused = sandbox.run(request)  # refused before any file is read or code runs
    assert refused.outcome is Outcome.INVALID_SUBMISSION
    assert refused.message == message


def test_pending_limit(arena: Arena) -> None:
    accepted = [arena.submit(truth_predictions(arena.bundle)).status_code for _ in range(5)]
    assert accepted == [201] * 5
    sixth = arena.submit(truth_predictions(arena.bundle))
    assert sixth.status_code == 429
    assert sixth.json()["detail"]["limit"] == "max_pending"


def test_daily_and_total_limits(client: TestClient, settings: Any, tmp_path: Path) -> None:
    competition = regression_settings()
    competition["phases"][0].update(max_per_day=2, max_total=3, max_pending=10)
    arena = make_arena(client, settings, tmp_path, competition)
    assert [arena.submit(truth_predictions(arena.bundle)).status_code for _ in range(2)] == [
        201
    ] * 2
    third = arena.submit(truth_predictions(arena.bundle))
    assert third.status_code == 429 and third.json()["detail"]["limit"] == "max_per_day"
    assert "midnight UTC" in third.json()["message"]


def test_total_limit_counts_every_day(client: TestClient, settings: Any, tmp_path: Path) -> None:
    competition = regression_settings()
    competition["phases"][0].update(max_per_day=10, max_total=3, max_pending=10)
    arena = make_arena(client, settings, tmp_path, competition)
    first = arena.submit(truth_predictions(arena.bundle)).json()
    with transaction(settings.database_url) as session:  # an upload of an earlier day counts too
        session.execute(
            update(Submission)
            .where(Submission.id == first["id"])
            .values(created_at=datetime.now(UTC) - timedelta(days=3))
        )
    codes = [arena.submit(truth_predictions(arena.bundle)).status_code for _ in range(2)]
    assert codes == [201, 201]
    fourth = arena.submit(truth_predictions(arena.bundle))
    assert fourth.status_code == 429 and fourth.json()["detail"]["limit"] == "max_total"
    assert "all 3 submissions of phase 'main'" in fourth.json()["message"]


def test_platform_failures_do_not_use_quota(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    competition = regression_settings()
    competition["phases"][0].update(max_per_day=1, max_total=10, max_pending=10)
    arena = make_arena(client, settings, tmp_path, competition)
    first = arena.submit(truth_predictions(arena.bundle)).json()
    with transaction(settings.database_url) as session:
        session.execute(
            update(Submission)
            .where(Submission.id == first["id"])
            .values(
                status=SubmissionStatus.FAILED,
                failure_reason=FailureReason.INFRASTRUCTURE_ERROR,
                counts_toward_quota=False,
            )
        )
    assert arena.submit(truth_predictions(arena.bundle)).status_code == 201
    assert arena.submit(truth_predictions(arena.bundle)).status_code == 429


def test_ten_parallel_uploads_against_a_limit_of_five(arena: Arena) -> None:
    content = truth_predictions(arena.bundle)
    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(lambda _: arena.submit(content).status_code, range(10)))
    assert sorted(codes) == [201] * 5 + [429] * 5


def test_must_be_in_a_team_and_phase_open(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    competition = regression_settings()
    competition["phases"][0].update(start="2026-01-01T00:00:00Z", end="2026-01-02T00:00:00Z")
    arena = make_arena(client, settings, tmp_path, competition)
    closed = arena.submit(truth_predictions(arena.bundle))
    assert closed.status_code == 403 and "open" in closed.json()["message"]


def test_needs_a_team(arena: Arena) -> None:
    loner = create_user(arena.client, arena.admin, "loner")
    response = arena.submit(truth_predictions(arena.bundle), token=loner)
    assert response.status_code == 403 and "team" in response.json()["message"]


def test_cancel_a_queued_submission(arena: Arena) -> None:
    created = arena.submit(truth_predictions(arena.bundle)).json()
    cancelled = arena.client.post(
        f"/api/v1/submissions/{created['id']}/cancel", headers=auth(arena.participant)
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = arena.client.post(
        f"/api/v1/submissions/{created['id']}/cancel", headers=auth(arena.participant)
    )
    assert again.status_code == 400 and "already" in again.json()["message"]

"""`mlchallenge backup` of a running embedded platform, `mlchallenge restore` into a fresh home:
the restored platform gives the same answers (boards, submissions, MLflow runs and artifacts)
and goes on scoring; damaged or misplaced restores are refused before anything is written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import LiveServer, start_server, wait_for
from tests.ops.databases import cli_env, mlchallenge
from tests.platform.helpers import truth_predictions, write_regression_bundle, zip_folder

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


def answers(live: LiveServer, tokens: dict[str, str], ids: list[int]) -> dict[str, Any]:
    """What people see: competitions, both boards, every submission and its logs."""
    seen: dict[str, Any] = {}
    with live.client(live.admin_token) as admin, live.client(tokens["alice"]) as alice:
        seen["competitions"] = admin.get("/api/v1/competitions").json()
        seen["detail"] = admin.get("/api/v1/competitions/tiny").json()
        for board in ("public", "private"):
            seen[board] = admin.get(f"/api/v1/competitions/tiny/leaderboard?board={board}").json()
        seen["alice-public"] = alice.get("/api/v1/competitions/tiny/leaderboard").json()
        seen["alice-submissions"] = alice.get("/api/v1/competitions/tiny/submissions").json()
        for sid in ids:
            seen[f"submission-{sid}"] = admin.get(f"/api/v1/submissions/{sid}").json()
            seen[f"logs-{sid}"] = admin.get(f"/api/v1/submissions/{sid}/logs").json()
        seen["me"] = alice.get("/api/v1/users/me").json()
    return seen


@pytest.fixture
def original(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str], list[int], Path]]:
    live = start_server(tmp_path / "home")
    bundle = write_regression_bundle(tmp_path / "bundle")
    tokens: dict[str, str] = {}
    try:
        with live.client(live.admin_token) as admin:
            for name, role in (("host", "host"), ("alice", "participant"), ("bob", "participant")):
                response = admin.post(
                    "/api/v1/users",
                    json={
                        "username": name,
                        "email": f"{name}@example.org",
                        "password": PASSWORD,
                        "role": role,
                    },
                )
                tokens[name] = response.json()["token"]
        with live.client(tokens["host"]) as host:
            created = host.post(
                "/api/v1/competitions", files={"bundle": ("b.zip", zip_folder(bundle))}
            )
            assert created.status_code == 201, created.text
        ids = []
        for name, noise in (("alice", 0.0), ("bob", 0.3), ("alice", 0.1)):
            with live.client(tokens[name]) as person:
                if not person.get("/api/v1/competitions/tiny/submissions").json():
                    team = person.post(
                        "/api/v1/competitions/tiny/teams", json={"name": name.title()}
                    )
                    assert team.status_code in (201, 409), team.text
                sent = person.post(
                    "/api/v1/competitions/tiny/submissions",
                    files={"file": ("pred.csv", truth_predictions(bundle, noise))},
                    data={"format": "predictions"},
                )
                assert sent.status_code == 201, sent.text
                ids.append(sent.json()["id"])
                assert wait_for(person, ids[-1])["status"] == "finished"
        yield live, tokens, ids, bundle
    finally:
        live.stop()


def test_a_restored_home_answers_as_the_original_and_goes_on_scoring(
    original: tuple[LiveServer, dict[str, str], list[int], Path], tmp_path: Path
) -> None:
    live, tokens, ids, bundle = original
    before = answers(live, tokens, ids)
    assert len(before["private"]["rows"]) == 2 and before["submission-1"]["mlflow_run_id"]
    with live.client() as anyone:  # serve's api and worker share one metrics folder
        scrape = anyone.get("/metrics").text
    assert 'mlchallenge_submission_outcomes_total{outcome="finished"} 3.0' in scrape
    assert 'mlchallenge_evaluation_phase_seconds_count{phase="record"} 3.0' in scrape
    assert 'route="/api/v1/competitions/{slug}/submissions",status="201"} 3.0' in scrape

    env = cli_env(live.home, f"sqlite:///{live.home / 'mlchallenge.db'}")
    env.pop("MLCHALLENGE_DATABASE_URL")
    made = mlchallenge(env, "backup", str(tmp_path / "backup"))  # while the platform runs
    assert made.returncode == 0, made.stderr
    assert "backup written" in made.stderr
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["database"]["rows"]["submissions"] >= 3
    assert {"storage", "labels", "mlflow-artifacts"} <= set(manifest["areas"])
    assert manifest["areas"]["labels"]["files"] and (tmp_path / "backup" / "mlflow.db").is_file()
    assert (tmp_path / "backup").stat().st_mode & 0o077 == 0  # labels and hashes inside
    live.stop()

    fresh = tmp_path / "restored"
    restore_env = {k: v for k, v in env.items() if k != "MLCHALLENGE_HOME"}
    restore_env["MLCHALLENGE_HOME"] = str(fresh)
    restored = mlchallenge(restore_env, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    again = mlchallenge(restore_env, "restore", str(tmp_path / "backup"))
    assert again.returncode == 1 and "fresh home" in again.stderr

    second = start_server(fresh)
    try:
        after = answers(second, tokens, ids)
        assert after == before
        with second.client() as web:  # alice logs in on the web with her restored password
            login = web.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
            assert login.status_code == 200, login.text
            plot = web.get(f"/submissions/{ids[0]}/diagnostics.png")
            assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
        with second.client(tokens["bob"]) as bob:
            sent = bob.post(
                "/api/v1/competitions/tiny/submissions",
                files={"file": ("pred.csv", truth_predictions(bundle))},
                data={"format": "predictions"},
            )
            assert sent.status_code == 201 and sent.json()["id"] > max(ids)
            assert wait_for(bob, sent.json()["id"])["status"] == "finished"
        run_id = before[f"submission-{ids[0]}"]["mlflow_run_id"]
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{fresh / 'mlflow.db'}")
        run = client.get_run(run_id)
        assert run.info.artifact_uri.startswith((fresh / "mlartifacts").as_uri())
        assert {a.path for a in client.list_artifacts(run_id)}
    finally:
        second.stop()


def test_a_damaged_backup_is_refused_before_anything_is_written(
    settings: Any, tmp_path: Path
) -> None:
    from challenge.backup import service
    from challenge.config import Settings

    (settings.storage / "competitions" / "x").mkdir(parents=True)
    (settings.storage / "competitions" / "x" / "data.csv").write_text("id,y\n1,2\n")
    (settings.labels / "x").mkdir()
    (settings.labels / "x" / "test_labels.parquet").write_bytes(b"secret")
    service.backup(settings, tmp_path / "b")
    assert service.check(tmp_path / "b").files == {"storage": 1, "labels": 1, "mlflow-artifacts": 0}
    shutil.copytree(tmp_path / "b", tmp_path / "bad")
    (tmp_path / "bad" / "files" / "labels" / "x" / "test_labels.parquet").write_bytes(b"other")
    fresh = Settings(home=tmp_path / "fresh")
    with pytest.raises(service.BackupError, match=r"damaged.*test_labels"):
        service.restore(fresh, tmp_path / "bad")
    assert not (tmp_path / "fresh" / "mlchallenge.db").exists()
    (tmp_path / "b" / "manifest.json").unlink()  # an unfinished backup has no manifest
    with pytest.raises(service.BackupError, match="not an mlchallenge backup"):
        service.restore(fresh, tmp_path / "b")
    with pytest.raises(service.BackupError, match="not an empty folder"):
        service.backup(settings, tmp_path / "bad")


def test_the_same_answers_after_a_restore_on_each_database(
    arena: Any, settings: Any, database_kind: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from challenge.app import create_app
    from challenge.backup import service
    from challenge.config import Settings
    from mlfo.worker.execution import run_evaluation
    from tests.ops.databases import empty_database
    from tests.platform.helpers import auth

    ids = [arena.submit(truth_predictions(arena.bundle, noise)).json()["id"] for noise in (0, 0.2)]
    for sid in ids:
        assert run_evaluation(settings, sid, worker="test") == "finished"

    def seen(client: TestClient) -> dict[str, Any]:
        paths = [
            "/api/v1/competitions",
            "/api/v1/competitions/tiny/leaderboard?board=public",
            "/api/v1/competitions/tiny/leaderboard?board=private",
            *(f"/api/v1/submissions/{sid}" for sid in ids),
        ]
        return {path: client.get(path, headers=auth(arena.host)).json() for path in paths}

    before = seen(arena.client)
    service.backup(settings, tmp_path / "backup")
    with empty_database(database_kind, tmp_path / "db") as url:
        fresh = Settings(
            home=tmp_path / "fresh",
            database_url=url,
            broker_url=settings.broker_url,
            mlflow_tracking_uri=f"sqlite:///{tmp_path / 'fresh-mlflow' / 'mlflow.db'}",
        )
        report = service.restore(fresh, tmp_path / "backup")
        assert report.rows["submissions"] == 2
        from challenge.db.session import transaction
        from challenge.submissions.models import Submission

        with transaction(url) as session:  # uploads found where the restored home keeps them
            paths = [Path(s.file_path) for s in session.query(Submission).all()]
        assert paths and all(p.is_file() and p.is_relative_to(fresh.storage) for p in paths)
        with TestClient(create_app(fresh)) as client:
            assert seen(client) == before
            made = client.post(  # the identity sequences continue after the restored rows
                "/api/v1/users",
                json={"username": "newcomer", "email": "n@example.org", "password": PASSWORD},
                headers=auth(arena.admin),
            )
            assert made.status_code == 201, made.text
        from challenge.db.session import get_engine

        get_engine(url).dispose()

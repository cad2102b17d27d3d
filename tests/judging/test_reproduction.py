"""Reproducing the top k on a fresh test set from the simulator, and registering final models."""

from __future__ import annotations

import io
from typing import Any

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from challenge.files import storage
from challenge.judging import leases, reproduction
from tests.arena import Arena
from tests.judging.helpers import evaluate, judge_of
from tests.platform.helpers import auth, create_user

SLUG = "rlf"


def _model_bytes(model: Any, train: pd.DataFrame) -> bytes:
    features = train.drop(columns=["id", "failure"])
    model.fit(features, train["failure"])
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _upload(arena: Arena, token: str, content: bytes, name: str, format: str) -> int:
    response = arena.client.post(
        f"/api/v1/competitions/{SLUG}/submissions",
        files={"file": (name, content)},
        data={"format": format},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_reproduce_the_top_entries_on_fresh_data(arena: Arena, settings: Any) -> None:
    client = arena.client
    created = client.post(
        "/api/v1/competitions",
        headers=auth(arena.host),
        json={"problem": "radio-link-failure", "slug": SLUG, "size": 300, "baseline": False},
    )
    assert created.status_code == 201, created.text
    data = storage.public_data_dir(settings.storage, SLUG)
    train = pd.read_parquet(data / "train.parquet")
    tokens = {}
    for user, team in (("carol", "Gamma"), ("dave", "Delta"), ("erin", "Epsilon")):
        tokens[team] = create_user(client, arena.admin, user)
        joined = client.post(
            f"/api/v1/competitions/{SLUG}/teams", json={"name": team}, headers=auth(tokens[team])
        )
        assert joined.status_code == 201, joined.text
    logistic = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    models = {
        "Gamma": _upload(
            arena, tokens["Gamma"], _model_bytes(logistic, train), "m.joblib", "sklearn"
        ),
        "Delta": _upload(
            arena,
            tokens["Delta"],
            _model_bytes(DecisionTreeClassifier(max_depth=3), train),
            "m.joblib",
            "sklearn",
        ),
        "Epsilon": _upload(
            arena,
            tokens["Epsilon"],
            (data / "sample_submission.csv").read_bytes(),
            "p.csv",
            "predictions",
        ),
    }
    for submission_id in models.values():
        evaluate(settings, submission_id)
    judge = judge_of(arena, slug=SLUG)

    url = f"/api/v1/judging/competitions/{SLUG}/reproductions"
    same_seed = client.post(url, json={"seed": 0}, headers=auth(judge))
    assert same_seed.status_code == 400 and "another seed" in same_seed.json()["message"]
    response = client.post(
        url, json={"top_k": 3, "board": "private", "seed": 7}, headers=auth(judge)
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and queued["size"] == 300 and queued["seed"] == 7
    refused = [r for r in queued["rows"] if r["status"] == "refused"]
    assert [r["team"]["name"] for r in refused] == ["Epsilon"]
    assert "predictions cannot be re-run on fresh data" in refused[0]["message"]

    assert reproduction.run(settings, queued["id"]) == "finished"
    assert reproduction.run(settings, queued["id"]) == "skipped"
    done = client.get(f"/api/v1/judging/reproductions/{queued['id']}", headers=auth(judge))
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "finished" and body["error"] == ""
    rows = {r["team"]["name"]: r for r in body["rows"]}
    assert [r["original_rank"] for r in body["rows"]] == [1, 2, 3]
    for team in ("Gamma", "Delta"):
        row = rows[team]
        assert row["status"] == "finished", row
        assert row["original_score"] is not None and 0.0 <= row["reproduced_score"] <= 1.0
        assert set(row["scores"]) == {"public", "private"}
    assert sorted(rows[t]["reproduced_rank"] for t in ("Gamma", "Delta")) == [1, 2]
    assert rows["Epsilon"]["reproduced_rank"] is None
    labels = settings.labels / SLUG / "reproductions" / str(queued["id"]) / "test_labels.parquet"
    fresh = pd.read_parquet(labels)
    original = pd.read_parquet(storage.labels_path(settings.labels, SLUG))
    assert len(fresh) == 300 and not fresh["failure"].equals(original["failure"])
    listed = client.get(url, headers=auth(judge)).json()
    assert [r["id"] for r in listed] == [queued["id"]]
    assert (
        client.get(
            f"/api/v1/judging/reproductions/{queued['id']}", headers=auth(tokens["Gamma"])
        ).status_code
        == 403
    )

    final = client.post(
        f"/api/v1/judging/competitions/{SLUG}/finalize",
        json={"register_top": 3},
        headers=auth(judge),
    )
    assert final.status_code == 200, final.text
    registered = final.json()["registered_models"]
    assert sorted(m["team"] for m in registered) == ["Delta", "Gamma"]
    assert all(m["mlflow_run_id"] for m in registered)
    from mlflow.tracking import MlflowClient

    versions = MlflowClient(tracking_uri=settings.mlflow_tracking_uri).search_model_versions(
        f"name='competition-{SLUG}'"
    )
    assert len(versions) == 2


def test_host_bundle_competitions_cannot_be_reproduced(arena: Arena) -> None:
    judge = judge_of(arena)
    response = arena.client.post(
        f"/api/v1/judging/competitions/{arena.slug}/reproductions", json={}, headers=auth(judge)
    )
    assert response.status_code == 400
    assert "host bundle" in response.json()["message"]


def test_workers_know_the_reproduction_task(settings: Any) -> None:
    from mlfo.worker.celery_app import celery_for

    app = celery_for(settings)
    app.loader.import_default_modules()
    assert leases.TASK_NAME in app.tasks

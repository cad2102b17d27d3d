"""An EvalAI challenge (our fixture, written after EvalAI's documented format) imports through
POST /api/v1/competitions, and a submission scores exactly what its own evaluate() gives."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlfo.worker.execution import run_evaluation
from tests.platform.helpers import admin_token, auth, create_user

FIXTURE = Path(__file__).parent / "fixtures" / "evalai_challenge"
ANNOTATIONS = FIXTURE / "annotations" / "test_annotations_devsplit.json"


def challenge_zip(folder: Path = FIXTURE) -> bytes:
    """The upload as EvalAI-Starters' run.sh builds it: evaluation_script zipped inside."""
    script = io.BytesIO()
    with zipfile.ZipFile(script, "w") as archive:
        for path in sorted((folder / "evaluation_script").iterdir()):
            archive.write(path, path.name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and relative.parts[0] != "evaluation_script":
                archive.write(path, relative.as_posix())
        archive.writestr("evaluation_script.zip", script.getvalue())
    return buffer.getvalue()


def submission() -> dict[str, list[int]]:
    """A deterministic submission: right on some samples, in the top three on others."""
    annotations = json.loads(
        (FIXTURE / "annotations" / "test_annotations_devsplit.json").read_text()
    )
    rng = random.Random(3)
    guess: dict[str, list[int]] = {}
    for split in annotations.values():
        for key, beams in split.items():
            choice = rng.random()
            guess[key] = beams if choice < 0.4 else beams[::-1] if choice < 0.7 else [99, 98, 97]
    return guess


def direct_scores(sub: Path) -> dict[str, Any]:
    """evaluate() called directly, outside the platform."""
    spec = importlib.util.spec_from_file_location(
        "evalai_fixture_script",
        FIXTURE / "evaluation_script" / "__init__.py",
        submodule_search_locations=[str(FIXTURE / "evaluation_script")],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    output: dict[str, Any] = module.evaluate(str(ANNOTATIONS), str(sub), "dev")
    return output


def test_evalai_challenge_imports_and_scores_like_its_own_evaluate(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    created = client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("challenge_config.zip", challenge_zip(), "application/zip")},
    )
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    detail = client.get(f"/api/v1/competitions/{slug}").json()
    assert [p["name"] for p in detail["phases"]] == ["Dev Phase"]
    assert "<h3>" not in detail["description"] and "Evaluation" in detail["description"]
    participant = create_user(client, admin, "alice")
    team = client.post(
        f"/api/v1/competitions/{slug}/teams", json={"name": "Alpha"}, headers=auth(participant)
    )
    assert team.status_code == 201, team.text
    sub = tmp_path / "submission.json"
    sub.write_text(json.dumps(submission()))
    sent = client.post(
        f"/api/v1/competitions/{slug}/submissions",
        files={"file": ("submission.json", sub.read_bytes())},
        data={"format": "results"},
        headers=auth(participant),
    )
    assert sent.status_code == 201, sent.text
    submission_id = sent.json()["id"]
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(host)).json()
    assert body["status"] == "finished", body

    direct = direct_scores(sub)
    public, private = direct["result"][0]["public_split"], direct["result"][1]["private_split"]
    for label, value in public.items():
        assert body["scores"]["public"][f"public_split.{label}"] == pytest.approx(value, abs=1e-9)
    for label, value in private.items():
        assert body["scores"]["private"][f"private_split.{label}"] == pytest.approx(value, abs=1e-9)
    assert "private_split.Accuracy" not in body["scores"]["public"]  # visibility 1: host only

    board = client.get(f"/api/v1/competitions/{slug}/leaderboard?board=public").json()
    assert board["metric"] == "public_split.Accuracy"
    assert board["rows"][0]["score"] == pytest.approx(public["Accuracy"], abs=1e-9)
    assert set(board["rows"][0]["scores"]) == {f"public_split.{k}" for k in public}
    hidden = client.get(
        f"/api/v1/competitions/{slug}/leaderboard?board=private", headers=auth(host)
    )
    assert hidden.json()["metric"] == "private_split.Accuracy"


def test_a_docker_based_evalai_challenge_is_refused_with_the_reason(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "challenge"
    shutil.copytree(FIXTURE, folder)
    config = folder / "challenge_config.yaml"
    config.write_text(config.read_text().replace("is_docker_based: False", "is_docker_based: True"))
    host = create_user(client, admin_token(settings), "host", "host")
    response = client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("challenge_config.zip", challenge_zip(folder), "application/zip")},
    )
    assert response.status_code == 422
    assert "docker-based" in response.text

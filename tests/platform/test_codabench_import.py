"""A Codabench v2 bundle imports through POST /api/v1/competitions, and a code submission scores,
per task, exactly what the bundle's own ingestion and scoring programs give outside the platform."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from mlfo.worker.execution import run_evaluation
from sandbox.formats import FORMATS
from sandbox.jail.protocol import SubmissionFormat
from tests.platform.helpers import admin_token, auth, create_user

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PATH = Path("shared/fixtures/codabench/competition_v2_multi_task.zip")
FIXTURE = next(
    (p / FIXTURE_PATH for p in (REPO.parent, REPO.parent.parent) if (p / FIXTURE_PATH).is_file()),
    REPO.parent / FIXTURE_PATH,
)
"""../shared/... from the repository's root (one level more from a helper's worktree)."""
CODE = FORMATS[SubmissionFormat.CODE].sample_path

needs_fixture = pytest.mark.skipif(not FIXTURE.is_file(), reason=f"{FIXTURE} is not here")


def _upload(client: TestClient, token: str, data: bytes) -> Any:
    return client.post(
        "/api/v1/competitions",
        headers=auth(token),
        files={"bundle": ("bundle.zip", data, "application/zip")},
    )


def _direct_scores(bundle: Path, task: str, submission: Path, tmp: Path) -> dict[str, float]:
    """Run the bundle's own programs on one task with the host's Python, no platform at all."""
    code, out, scores = tmp / f"{task}-code", tmp / f"{task}-res", tmp / f"{task}-scores"
    for folder in (code, out, scores):
        folder.mkdir()
    with zipfile.ZipFile(submission) as archive:
        archive.extractall(code)
    program = bundle / "ingestion_program"
    subprocess.run(
        [
            sys.executable,
            program / "ingestion.py",
            bundle / task / "input_data",
            out,
            program,
            code,
        ],
        check=True,
        capture_output=True,
    )
    scoring_input = tmp / f"{task}-input"
    scoring_input.mkdir()
    (scoring_input / "ref").symlink_to(bundle / task / "reference_data")
    (scoring_input / "res").symlink_to(out)
    subprocess.run(
        [sys.executable, bundle / "scoring_program" / "scoring.py", scoring_input, scores],
        check=True,
        capture_output=True,
    )
    loaded: dict[str, float] = json.loads((scores / "scores.json").read_text())
    return loaded


@needs_fixture
def test_codabench_v2_bundle_imports_and_scores_like_its_own_programs(
    client: TestClient, settings: Any, tmp_path: Path
) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    created = _upload(client, host, FIXTURE.read_bytes())
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    detail = client.get(f"/api/v1/competitions/{slug}").json()
    assert "code" in json.dumps(detail)
    participant = create_user(client, admin, "alice")
    team = client.post(
        f"/api/v1/competitions/{slug}/teams", json={"name": "Alpha"}, headers=auth(participant)
    )
    assert team.status_code == 201, team.text
    sent = client.post(
        f"/api/v1/competitions/{slug}/submissions",
        files={"file": ("code.zip", CODE.read_bytes())},
        data={"format": "code"},
        headers=auth(participant),
    )
    assert sent.status_code == 201, sent.text
    submission_id = sent.json()["id"]
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant)).json()
    assert body["status"] == "finished", body
    public = body["scores"]["public"]

    bundle = tmp_path / "fixture"
    with zipfile.ZipFile(FIXTURE) as archive:
        archive.extractall(bundle)
    direct = {
        f"task{i}": _direct_scores(bundle, task, CODE, tmp_path)
        for i, task in enumerate(("first", "second", "third", "fourth"))
    }
    for task, scores in direct.items():
        assert public[f"{task}.accuracy"] == pytest.approx(scores["accuracy"], abs=1e-9)
    mean = sum(s["accuracy"] for s in direct.values()) / len(direct)
    assert public["accuracy"] == pytest.approx(mean, abs=1e-9)

    board = client.get(f"/api/v1/competitions/{slug}/leaderboard?board=public").json()
    assert board["metric"] == "accuracy"
    row = board["rows"][0]
    assert row["score"] == pytest.approx(mean, abs=1e-9)
    assert {"accuracy", "duration", "task0.accuracy", "task3.duration"} <= set(row["scores"])
    assert row["interval"] is None


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_v1_bundle_gets_a_message_naming_what_is_unsupported(
    client: TestClient, settings: Any
) -> None:
    host = create_user(client, admin_token(settings), "host", "host")
    legacy = yaml.safe_dump(
        {
            "title": "Old",
            "competition_docker_image": "codalab/codalab-legacy:py3",
            "html": {"overview": "overview.html"},
        }
    )
    response = _upload(client, host, _zip({"competition.yaml": legacy}))
    assert response.status_code == 422, response.text
    text = response.text
    assert "v1" in text and "competition_docker_image" in text and "html" in text


def test_a_v2_bundle_without_a_scoring_program_is_refused_clearly(
    client: TestClient, settings: Any
) -> None:
    host = create_user(client, admin_token(settings), "host", "host")
    broken = yaml.safe_dump(
        {"version": 2, "title": "Broken", "tasks": [{"index": 0, "name": "t"}], "phases": []}
    )
    response = _upload(client, host, _zip({"competition.yaml": broken}))
    assert response.status_code == 422
    assert "scoring_program" in response.text


def small_v2_bundle(fact_sheet: dict[str, Any] | None = None) -> bytes:
    """A one-task Codabench v2 bundle with a scoring program only (results submissions)."""
    config: dict[str, Any] = {
        "version": 2,
        "title": "Small v2",
        "tasks": [
            {
                "index": 0,
                "name": "only",
                "reference_data": "ref/",
                "scoring_program": "scoring_program/",
            }
        ],
        "phases": [{"name": "dev", "start": "1-1-2026", "tasks": [0]}],
        "leaderboards": [
            {"title": "Results", "key": "main", "columns": [{"key": "score", "index": 0}]}
        ],
    }
    if fact_sheet is not None:
        config["fact_sheet"] = fact_sheet
    return _zip(
        {
            "competition.yaml": yaml.safe_dump(config),
            "scoring_program/metadata.yaml": "command: python3 /app/program/score.py "
            "/app/input /app/output\n",
            "scoring_program/score.py": "import json, sys\n"
            "json.dump({'score': 1.0}, open(sys.argv[2] + '/scores.json', 'w'))\n",
            "ref/truth.txt": "1\n",
        }
    )


FACT_SHEET = {
    "uses_external_data": {
        "key": "uses_external_data",
        "type": "checkbox",
        "title": "Did you use external data?",
        "selection": [True, False],
        "is_required": "true",
        "is_on_leaderboard": "false",
    },
    "method": {
        "key": "method",
        "type": "select",
        "title": "Method",
        "selection": ["", "trees", "neural"],
        "is_required": "false",
    },
}


def test_fact_sheet_answers_are_checked_and_kept_with_the_submission(
    client: TestClient, settings: Any
) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    created = _upload(client, host, small_v2_bundle(FACT_SHEET))
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    participant = create_user(client, admin, "alice")
    team = client.post(
        f"/api/v1/competitions/{slug}/teams", json={"name": "Alpha"}, headers=auth(participant)
    )
    assert team.status_code == 201, team.text

    def submit(answers: Any) -> Any:
        return client.post(
            f"/api/v1/competitions/{slug}/submissions",
            files={"file": ("res.json", b"{}")},
            data={"format": "results", "fact_sheet": json.dumps(answers)},
            headers=auth(participant),
        )

    missing = submit({"method": "trees"})
    assert missing.status_code == 422 and "uses_external_data" in missing.text
    assert "one of" in submit({"uses_external_data": False, "method": "svm"}).text
    assert "unknown" in submit({"uses_external_data": False, "other": 1}).text
    sent = submit({"uses_external_data": False, "method": "neural"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["fact_sheet"] == {"uses_external_data": False, "method": "neural"}


@needs_fixture
def test_the_dry_run_scores_the_bundles_own_solution(client: TestClient, settings: Any) -> None:
    host = create_user(client, admin_token(settings), "host", "host")
    created = client.post(
        "/api/v1/competitions",
        headers=auth(host),
        files={"bundle": ("bundle.zip", FIXTURE.read_bytes(), "application/zip")},
        data={"dry_run": "true"},
    )
    assert created.status_code == 201, created.text
    files = client.get(f"/api/v1/competitions/{created.json()['slug']}").json()
    assert "sample_submission.zip" in json.dumps(files)

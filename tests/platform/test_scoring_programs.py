"""Our bundle with a scoring program: `results` scored through the real worker and sandbox, the
dry run at creation, and a hostile or broken scoring program contained as the host's fault."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from challenge.db.session import transaction
from challenge.submissions.models import Submission
from mlfo.worker.execution import run_evaluation
from tests.platform.helpers import admin_token, auth, create_user

SECRET = "REFERENCE-SECRET-31b9"
SCORE = """
    import json, os, sys
    truth = open(os.path.join(sys.argv[1], "ref", "truth.txt")).read().split()
    res = os.path.join(sys.argv[1], "res")
    guess = open(os.path.join(res, sorted(os.listdir(res))[0])).read().split()
    hits = sum(a == b for a, b in zip(truth, guess))
    with open(os.path.join(sys.argv[2], "scores.json"), "w") as f:
        json.dump({"accuracy": hits / len(truth), "errors": len(truth) - hits}, f)
"""
BOARD = {
    "columns": [
        {"key": "accuracy", "title": "Accuracy", "sorting": "desc"},
        {"key": "errors", "title": "Errors", "sorting": "asc", "format": "d"},
    ],
    "rank_by": "accuracy",
    "tie_breakers": ["errors"],
}
PRIVATE = {**BOARD, "rank_by": "errors"}


INGESTION = """
    import os, sys
    sys.path.insert(0, sys.argv[4])
    from model import predict
    rows = open(os.path.join(sys.argv[1], "features.txt")).read().split()
    with open(os.path.join(sys.argv[2], "prediction"), "w") as f:
        f.write("\\n".join(str(predict(r)) for r in rows) + "\\n")
"""


def scoring_bundle(
    score: str = SCORE, *, private: dict[str, Any] | None = None, ingestion: bool = False
) -> bytes:
    settings: dict[str, Any] = {
        "title": "Own scoring",
        "slug": "own-scoring",
        "phases": [{"name": "main", "start": "2026-01-01T00:00:00Z", "max_total": 5}],
        "scoring": {"public": BOARD, "limits": {"time_s": 30, "memory_mb": 1024}},
    }
    if private is not None:
        settings["scoring"]["private"] = private
    if ingestion:
        settings["scoring"].update(ingestion="ingestion", input_data="input_data")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("competition.yaml", yaml.safe_dump(settings))
        archive.writestr("description.md", "# Own scoring\n")
        archive.writestr("scoring/score.py", textwrap.dedent(score))
        archive.writestr("reference/truth.txt", "1\n0\n1\n1\n")
        archive.writestr("reference/notes.txt", f"{SECRET}\n")
        archive.writestr("sample_submission.txt", "1\n0\n0\n1\n")
        if ingestion:
            archive.writestr("ingestion/ingestion.py", textwrap.dedent(INGESTION))
            archive.writestr("input_data/features.txt", "a\nb\na\na\n")
    return buffer.getvalue()


def _create(client: TestClient, token: str, bundle: bytes, dry_run: bool = False) -> Any:
    return client.post(
        "/api/v1/competitions",
        headers=auth(token),
        files={"bundle": ("bundle.zip", bundle, "application/zip")},
        data={"dry_run": "true" if dry_run else "false"},
    )


def _arena(client: TestClient, settings: Any, bundle: bytes) -> tuple[str, str]:
    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    created = _create(client, host, bundle)
    assert created.status_code == 201, created.text
    participant = create_user(client, admin, "alice")
    team = client.post(
        "/api/v1/competitions/own-scoring/teams", json={"name": "Alpha"}, headers=auth(participant)
    )
    assert team.status_code == 201, team.text
    return host, participant


def _submit(
    client: TestClient, token: str, content: bytes, name: str = "guess.txt", fmt: str = "results"
) -> int:
    sent = client.post(
        "/api/v1/competitions/own-scoring/submissions",
        files={"file": (name, content)},
        data={"format": fmt},
        headers=auth(token),
    )
    assert sent.status_code == 201, sent.text
    return int(sent.json()["id"])


def test_results_are_scored_by_the_bundles_program(client: TestClient, settings: Any) -> None:
    _, participant = _arena(client, settings, scoring_bundle(private=PRIVATE))
    submission_id = _submit(client, participant, b"1\n0\n0\n1\n")
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant)).json()
    assert body["status"] == "finished", body
    assert body["scores"]["public"] == {"accuracy": 0.75, "errors": 1.0}
    assert body["mlflow_run_id"]  # logged with its provenance, as any evaluation
    from mlflow.tracking import MlflowClient

    run = MlflowClient(settings.mlflow_tracking_uri).get_run(body["mlflow_run_id"])
    assert run.data.metrics["public_accuracy"] == 0.75
    assert run.data.tags["mlchallenge.scorer"] == "programs"
    board = client.get("/api/v1/competitions/own-scoring/leaderboard?board=public").json()
    assert board["metric"] == "accuracy"
    assert board["rows"][0]["score"] == 0.75
    assert board["rows"][0]["scores"] == {"accuracy": 0.75, "errors": 1.0}
    assert board["rows"][0]["interval"] is None


def test_public_and_private_boards_may_rank_by_different_columns(
    client: TestClient, settings: Any
) -> None:
    host, participant = _arena(client, settings, scoring_bundle(private=PRIVATE))
    submission_id = _submit(client, participant, b"1\n1\n1\n1\n")
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    private = client.get(
        "/api/v1/competitions/own-scoring/leaderboard?board=private", headers=auth(host)
    ).json()
    assert private["metric"] == "errors"
    assert private["rows"][0]["score"] == 1.0


def test_the_dry_run_passes_on_the_sample_and_refuses_a_broken_program(
    client: TestClient, settings: Any
) -> None:
    host = create_user(client, admin_token(settings), "host", "host")
    typo = scoring_bundle("raise SystemExit('host typo in score.py')\n")
    broken = _create(client, host, typo, dry_run=True)
    assert broken.status_code == 422, broken.text
    assert "host typo in score.py" in broken.text  # the host sees the program's own output
    assert _create(client, host, scoring_bundle(), dry_run=True).status_code == 201


@pytest.mark.parametrize(
    "score",
    [
        """
        import os, sys
        print(open(os.path.join(sys.argv[1], "ref", "notes.txt")).read())
        raise RuntimeError("leaking: " + open(sys.argv[1] + "/ref/notes.txt").read())
        """,
        """
        import json, sys
        json.dump({"accuracy": "high"}, open(sys.argv[2] + "/scores.json", "w"))
        """,
        """
        import json, sys
        json.dump({"errors": 1}, open(sys.argv[2] + "/scores.json", "w"))
        """,
    ],
    ids=["crash-printing-labels", "bad-scores", "no-ranking-column"],
)
def test_a_broken_scoring_program_is_the_hosts_fault_and_leaks_nothing(
    client: TestClient, settings: Any, score: str
) -> None:
    host, participant = _arena(client, settings, scoring_bundle(score))
    submission_id = _submit(client, participant, b"1\n0\n0\n1\n")
    for _ in range(settings.max_attempts):
        run_evaluation(settings, submission_id, worker="test")
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant)).json()
    assert body["failure_reason"] == "infrastructure_error", body
    logs = client.get(f"/api/v1/submissions/{submission_id}/logs", headers=auth(participant))
    seen = json.dumps(body) + logs.text
    assert SECRET not in seen and "1\n0\n1\n1" not in seen
    with transaction(settings.database_url) as session:
        row = session.scalar(select(Submission).where(Submission.id == submission_id))
        assert row is not None and not row.counts_toward_quota
    path = f"/api/v1/submissions/{submission_id}/scoring-logs"
    assert client.get(path, headers=auth(participant)).status_code == 403
    staff = client.get(path, headers=auth(host)).json()["logs"]
    assert set(staff) == {f"attempt-{n}/main" for n in range(1, settings.max_attempts + 1)}
    assert all(staff.values())
    if "notes.txt" in score:  # the staff see the program's full output, labels included
        assert any(SECRET in text for text in staff.values())


SNOOP = """
import os

needle = "REFERENCE-" + "SECRET"
found = []
for top in ("/app", "/tmp", "/"):
    for folder, _, files in os.walk(top):
        if folder.startswith(("/proc", "/sys", "/usr", "/dev")):
            continue
        for name in files:
            try:
                text = open(os.path.join(folder, name), errors="replace").read(4096)
            except OSError:
                continue
            if needle in text or name in ("truth.txt", "notes.txt"):
                found.append(os.path.join(folder, name) + ": " + text)
print("FOUND", found)


def predict(row):
    return 1 if row == "a" else 0
"""


def _code_zip(model: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", model)
    return buffer.getvalue()


def test_code_runs_under_the_ingestion_program_and_never_sees_the_labels(
    client: TestClient, settings: Any
) -> None:
    _, participant = _arena(client, settings, scoring_bundle(ingestion=True))
    submission_id = _submit(client, participant, _code_zip(SNOOP), "code.zip", "code")
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant)).json()
    assert body["status"] == "finished", body
    assert body["scores"]["public"] == {"accuracy": 1.0, "errors": 0.0}
    logs = client.get(f"/api/v1/submissions/{submission_id}/logs", headers=auth(participant))
    assert "FOUND []" in logs.text and SECRET not in logs.text


def test_code_that_crashes_is_the_teams_fault(client: TestClient, settings: Any) -> None:
    _, participant = _arena(client, settings, scoring_bundle(ingestion=True))
    crash = _code_zip("raise ValueError('my bug')\n")
    submission_id = _submit(client, participant, crash, "code.zip", "code")
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant)).json()
    assert body["failure_reason"] == "runtime_error", body
    logs = client.get(f"/api/v1/submissions/{submission_id}/logs", headers=auth(participant))
    assert "my bug" in logs.text


ROWS = (
    SCORE
    + """
    hits_per_row = [float(a == b) for a, b in zip(truth, guess)]
    with open(os.path.join(sys.argv[2], "rows.json"), "w") as f:
        json.dump({"accuracy": hits_per_row, "errors": [9.0]}, f)
"""
)


def test_per_row_scores_give_an_interval_and_others_none(client: TestClient, settings: Any) -> None:
    host, participant = _arena(client, settings, scoring_bundle(ROWS, private=PRIVATE))
    submission_id = _submit(client, participant, b"1\n0\n0\n1\n")
    assert run_evaluation(settings, submission_id, worker="test") == "finished"
    public = client.get("/api/v1/competitions/own-scoring/leaderboard").json()
    low, high = public["rows"][0]["interval"]
    assert 0.0 <= low <= 0.75 <= high <= 1.0 and low < high
    private = client.get(
        "/api/v1/competitions/own-scoring/leaderboard?board=private", headers=auth(host)
    ).json()
    assert private["rows"][0]["interval"] is None  # errors' rows do not average to its score


def test_changed_reference_data_stop_the_evaluation(client: TestClient, settings: Any) -> None:
    from challenge.files import storage

    _, participant = _arena(client, settings, scoring_bundle())
    truth = storage.reference_dir(settings.labels, "own-scoring") / "reference" / "truth.txt"
    truth.write_text("1\n1\n1\n1\n")
    submission_id = _submit(client, participant, b"1\n1\n1\n1\n")
    assert run_evaluation(settings, submission_id, worker="test") == "requeued"
    body = client.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant)).json()
    assert body["status"] == "queued" and not body["scores"]

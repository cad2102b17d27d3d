"""The diagnostics plot is drawn after the score is recorded, by a low-priority task."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from challenge.db.session import transaction
from challenge.files import storage
from challenge.submissions.models import Submission
from mlfo.provenance import sha256_of
from mlfo.sinks import DIAGNOSTICS as PLOTS
from mlfo.sinks import PLOT_INPUT
from mlfo.worker import plots
from mlfo.worker.celery_app import celery_for
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import truth_predictions
from tests.web.conftest import csrf_of
from tests.worker import kill_group, start_worker

DIAGNOSTICS = PLOTS["public"]


def _page(arena: Arena, submission_id: int) -> str:
    """The submission page as its team sees it (logged in through the form)."""
    browser = TestClient(arena.client.app)
    login = browser.get("/login")
    response = browser.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse battery",
            "csrf_token": csrf_of(login.text),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(browser.get(f"/submissions/{submission_id}").text)


def _artifacts(settings: Any, run_id: str) -> set[str]:
    from mlflow.tracking import MlflowClient

    return {a.path for a in MlflowClient(settings.mlflow_tracking_uri).list_artifacts(run_id)}


def test_the_score_is_recorded_before_the_plot_is_drawn(
    arena: Arena, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    app = celery_for(settings)
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append((name, kw)))
    submission_id = arena.submit(truth_predictions(arena.bundle, noise=0.3)).json()["id"]
    assert run_evaluation(settings, submission_id, worker="w") == "finished"
    with transaction(settings.database_url) as session:
        row = session.get(Submission, submission_id)
        assert row is not None and row.status == "finished" and row.mlflow_run_id
        run_id = row.mlflow_run_id
    attempt = storage.runs_dir(settings.storage, submission_id) / "attempt-1"
    assert (attempt / PLOT_INPUT).is_file() and not (attempt / DIAGNOSTICS).exists()
    assert {"scores.json", "logs.txt"} <= _artifacts(settings, run_id)
    assert DIAGNOSTICS not in _artifacts(settings, run_id)
    assert "data-plot-pending" in _page(arena, submission_id)

    plot_tasks = [kw for name, kw in sent if name == plots.TASK_NAME]
    assert len(plot_tasks) == 1
    task = plot_tasks[0]
    assert task["queue"] == "cpu" and task["priority"] == plots.PRIORITY
    labels_sha = sha256_of(storage.labels_path(settings.labels, arena.slug))
    assert task["args"] == [submission_id, "attempt-1", run_id, labels_sha]

    assert plots.draw(settings, *task["args"]) == "drawn"
    assert (attempt / DIAGNOSTICS).stat().st_size > 1000 and not (attempt / PLOT_INPUT).exists()
    assert DIAGNOSTICS in _artifacts(settings, run_id)
    assert plots.draw(settings, *task["args"]) == "nothing to draw"
    assert plots.draw(settings, submission_id, "../../x", run_id, labels_sha) == "refused"
    page = _page(arena, submission_id)
    assert "data-plot-pending" not in page and 'class="plot"' in page


def test_a_plot_is_not_drawn_from_labels_that_changed_since(
    arena: Arena, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[list[Any]] = []
    app = celery_for(settings)
    monkeypatch.setattr(app, "send_task", lambda name, **kw: sent.append(kw["args"]))
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    assert run_evaluation(settings, submission_id, worker="w") == "finished"
    labels = storage.labels_path(settings.labels, arena.slug)
    labels.write_bytes(labels.read_bytes() + b"\n")
    args = next(a for a in sent if len(a) == 4)
    assert plots.draw(settings, *args) == "labels changed"
    attempt = Path(storage.runs_dir(settings.storage, submission_id)) / "attempt-1"
    assert not (attempt / DIAGNOSTICS).exists() and not (attempt / PLOT_INPUT).exists()


@pytest.mark.slow
def test_a_real_worker_draws_the_plot_after_finishing(
    arena: Arena, settings: Any, tmp_path: Path
) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle, noise=0.3)).json()["id"]
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log)
    try:
        deadline = time.monotonic() + 180
        attempt = storage.runs_dir(settings.storage, submission_id) / "attempt-1"
        run_id = None
        while time.monotonic() < deadline:
            with transaction(settings.database_url) as session:
                row = session.get(Submission, submission_id)
                assert row is not None
                run_id = row.mlflow_run_id if row.status == "finished" else None
            if run_id and DIAGNOSTICS in _artifacts(settings, run_id):
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"no plot in MLflow in time:\n{log.read_text()[-3000:]}")
    finally:
        kill_group(worker)
    assert (attempt / DIAGNOSTICS).is_file() and not (attempt / PLOT_INPUT).exists()

"""GPU placement on real workers: GPU work waits for `worker --queues gpu`, which scores it.

On a machine with a GPU and a CUDA build of torch the TorchScript model runs on CUDA; on one
without, the gpu worker says so when it starts and the model runs on the CPU, recorded as such.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from mlfo.placement import cuda_device
from tests.arena import make_arena
from tests.mlfo.mlfo_data import linear_torchscript
from tests.mlfo.test_reliability import status, wait_status
from tests.platform.helpers import regression_settings
from tests.polling import wait_until
from tests.worker import kill_group, start_worker

pytestmark = pytest.mark.slow


def gpu_competition() -> dict[str, Any]:
    """The tiny regression competition (y = 2 x1 - x2), placed on the gpu queue by its bundle."""
    return regression_settings(
        "gpu-tiny",
        formats=["torchscript"],
        limits={"time_s": 120, "memory_mb": 2048},
        resource_class="gpu",
    )


def wait_for_line(log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in the worker log:\n{log.read_text()[-3000:]}")


def test_gpu_work_waits_for_a_gpu_worker_which_scores_it(
    client: Any, settings: Any, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    arena = make_arena(client, settings, tmp_path, gpu_competition())
    folder = tmp_path / "model"
    folder.mkdir(mode=0o755)
    model = linear_torchscript(folder / "model.pt", [2.0, -1.0])
    created = arena.submit(model.read_bytes(), name="model.pt", format="torchscript")
    assert created.status_code == 201, created.text
    submission_id = created.json()["id"]

    cpu_log, gpu_log = tmp_path / "cpu-worker.log", tmp_path / "gpu-worker.log"
    cpu_worker = start_worker(settings, cpu_log, queues="cpu")
    gpu_worker = None
    try:
        wait_for_line(cpu_log, "ready.")
        wait_until(  # the cpu worker is consuming (its heartbeat row is written after 'ready')
            lambda: client.get("/api/v1/health").json()["workers"]["queues"].get("cpu"),
            timeout=60,
            what="the cpu worker's heartbeat",
        )
        waiting = status(arena, submission_id)
        assert waiting["status"] == "queued", cpu_log.read_text()[-2000:]
        assert waiting["queue"] == "gpu"
        assert "no worker is serving the 'gpu' queue" in waiting["waiting"]
        health = client.get("/api/v1/health").json()["workers"]
        assert health["queues"] == {"cpu": 1, "gpu": 0, "large-memory": 0}, health
        gpu_worker = start_worker(settings, gpu_log, queues="gpu")
        final = wait_status(arena, submission_id, {"finished", "failed"}, timeout=180)
    finally:
        kill_group(cpu_worker)
        if gpu_worker is not None:
            kill_group(gpu_worker)
    assert final["status"] == "finished", (final, gpu_log.read_text()[-3000:])
    assert f"submission {submission_id}" not in cpu_log.read_text()
    gpu = cuda_device()
    worker_says = gpu_log.read_text()
    if gpu:
        assert f"gpu queue: models of GPU competitions run on cuda ({gpu})" in worker_says
    else:
        assert "gpu queue: this worker's torch sees no CUDA device" in worker_says

    tracking = MlflowClient(settings.mlflow_tracking_uri)
    runs = tracking.search_runs(
        experiment_ids=[e.experiment_id for e in tracking.search_experiments()],
        filter_string=f"params.submission_id = '{submission_id}'",
    )
    assert len(runs) == 1
    tags, params = runs[0].data.tags, runs[0].data.params
    assert tags["mlchallenge.resource_class"] == "gpu"
    assert tags["mlchallenge.device"] == (f"cuda ({gpu})" if gpu else "cpu")
    assert params["device"] == ("cuda" if gpu else "cpu")
    assert runs[0].data.metrics["public_mae"] < 0.5

    logs = client.get(
        f"/api/v1/submissions/{submission_id}/logs",
        headers={"Authorization": f"Bearer {arena.participant}"},
    )
    assert logs.status_code == 200, logs.text
    ran_on_cpu_note = "asks for cuda, but the worker that ran it has no CUDA device"
    assert (ran_on_cpu_note in logs.text) is (gpu is None)

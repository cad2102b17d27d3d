"""The api's `/metrics`: who may read it, routes by template, several processes added up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from challenge.config import Mode
from tests.e2e.server import free_port
from tests.ops.databases import cli_env


def counter(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def client_for(settings: Any, **changes: Any) -> TestClient:
    from challenge.app import create_app

    return TestClient(create_app(settings.model_copy(update=changes)))


def test_metrics_are_open_on_the_embedded_default_and_need_the_token_once_set(
    settings: Any,
) -> None:
    with client_for(settings) as client:
        open_ = client.get("/metrics")
        assert open_.status_code == 200 and "mlchallenge_queue_depth" in open_.text
        assert open_.headers["content-type"].startswith("text/plain")
    with client_for(settings, metrics_token="s3cret") as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "MLCHALLENGE_METRICS_TOKEN" in wrong.text
        right = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and "mlchallenge_database_up 1.0" in right.text
    with client_for(settings, mode=Mode.PRODUCTION, secret_key="x" * 40) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 403 and "MLCHALLENGE_METRICS_TOKEN" in refused.text
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_requests_are_counted_by_route_template_never_by_raw_path(settings: Any) -> None:
    with client_for(settings) as client:
        before = client.get("/metrics").text
        for submission_id in (11, 12, 13):
            assert client.get(f"/api/v1/submissions/{submission_id}").status_code == 401
        for junk in ("/wp-admin", "/.env", "/x/y/z"):
            assert client.get(junk).status_code == 404
        after = client.get("/metrics").text
    route = "/api/v1/submissions/{submission_id}"
    assert "/api/v1/submissions/11" not in after and "/wp-admin" not in after
    delta = counter(after, "mlchallenge_http_requests_total", route=route, status="401") - counter(
        before, "mlchallenge_http_requests_total", route=route, status="401"
    )
    assert delta == 3
    labels = {"route": "unmatched", "status": "404"}
    unmatched = counter(after, "mlchallenge_http_requests_total", **labels)
    assert unmatched - counter(before, "mlchallenge_http_requests_total", **labels) == 3


@pytest.mark.slow
def test_the_api_processes_of_a_machine_are_added_up(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "home"
    env = cli_env(home, f"sqlite:///{tmp_path / 'api.db'}")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "api.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "challenge.cli.main",
                "api",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError(log.read_text()[-3000:])
        folders = list(Path("/tmp").glob(f"mlchallenge-metrics-api-{process.pid}-*"))
        assert len(folders) == 1, folders
        deadline = time.monotonic() + 120  # both uvicorn processes have imported the metrics
        while len(list(folders[0].glob("counter_*.db"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(list(folders[0].glob("counter_*.db"))) == 2

        def fetch(_: int) -> int:  # a new connection each: the kernel spreads them
            with httpx.Client(base_url=url, timeout=30) as client:
                return client.get("/api/v1/competitions").status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(fetch, range(60))) == {200}
        text = httpx.get(f"{url}/metrics", timeout=30).text
        total = counter(text, "mlchallenge_http_requests_total", route="/api/v1/competitions")
        assert total == 60  # whichever process answered each
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    assert not folders[0].exists()  # the private folder goes with the command

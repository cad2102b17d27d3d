"""A real `mlchallenge serve --mlflow-ui` for the browser tests (tests/e2e/server.py's way)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.server import LiveServer, free_port


def start_with_mlflow_ui(home: Path, *, startup_timeout: float = 240) -> tuple[LiveServer, str]:
    """Start serve with the MLflow UI; returns the server and the UI's address once both answer."""
    port, mlflow_port = free_port(), free_port()
    log = home.parent / f"serve-{port}.log"
    env = {
        **os.environ,
        "MLCHALLENGE_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        "MLCHALLENGE_REAPER_INTERVAL_S": "2",
        "MLCHALLENGE_LEASE_SECONDS": "10",
    }
    for key in ("MLCHALLENGE_DATABASE_URL", "MLCHALLENGE_BROKER_URL", "MLCHALLENGE_MLFLOW_UI_URL"):
        env.pop(key, None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "challenge.cli.main",
                "serve",
                "--port",
                str(port),
                "--problems",
                "none",
                "--concurrency",
                "1",
                "--mlflow-ui",
                "--mlflow-port",
                str(mlflow_port),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", home, log)
    ui = f"http://127.0.0.1:{mlflow_port}"
    deadline = time.monotonic() + startup_timeout
    ready = {"api": False, "ui": False}
    while time.monotonic() < deadline and not all(ready.values()):
        if process.poll() is not None:
            raise RuntimeError(f"serve exited early:\n{log.read_text()[-3000:]}")
        try:
            if not ready["api"]:
                health = httpx.get(f"{server.url}/api/v1/health", timeout=2).json()
                ready["api"] = health["workers"]["count"] > 0
            if not ready["ui"]:
                ready["ui"] = httpx.get(f"{ui}/health", timeout=2).status_code == 200
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    if not all(ready.values()):
        server.stop()
        raise RuntimeError(f"serve did not become ready ({ready}):\n{log.read_text()[-3000:]}")
    return server, ui

"""A real Celery worker (`mlchallenge worker`) in a subprocess, for the tests' settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


def worker_env(settings: Any, **overrides: str) -> dict[str, str]:
    """The environment that points a worker at the test's database, broker and stores."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "MLCHALLENGE_HOME": str(settings.home),
        "MLCHALLENGE_DATABASE_URL": settings.database_url,
        "MLCHALLENGE_BROKER_URL": settings.broker_url,
        "MLCHALLENGE_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "MLCHALLENGE_STORAGE_ROOT": str(settings.storage),
        "MLCHALLENGE_LABELS_ROOT": str(settings.labels),
        "MLCHALLENGE_LEASE_SECONDS": "3",
        "MLCHALLENGE_REAPER_INTERVAL_S": "1",
    }
    env.update(overrides)
    return env


def start_worker(
    settings: Any, log: Path, *, concurrency: int = 1, queues: str = "cpu", **overrides: str
) -> subprocess.Popen[bytes]:
    """Start a worker serving `queues` in its own process group, logging to `log`."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "challenge.cli.main",
                "worker",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
            ],
            env=worker_env(settings, **overrides),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the worker and everything it started."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    process.wait(timeout=30)

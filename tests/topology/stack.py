"""The production topology as separate processes on this machine (test and bench).

A private PostgreSQL cluster, a private Redis with AOF, moto's S3 server (the stand-in for an
object store: it speaks the S3 protocol over HTTP), an MLflow tracking server with a PostgreSQL
backend and its artifact proxy onto S3, `mlchallenge api` with 2 processes, and workers each with
its own MLCHALLENGE_HOME. Nothing is shared on disk between api and workers.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.s3 import S3Server, free_port, moto_server, wait_for_port

PG_BIN = (
    Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    if glob.glob("/usr/lib/postgresql/*/bin")
    else Path("/usr/bin")
)
BUCKET = "mlchallenge"
SECRET = "topology-secret-key-not-the-default-0123456789"


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


@dataclass
class Postgres:
    """A private cluster in a temporary folder, on its own port."""

    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.folder / "postgres.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        """Stop (fast: connections are cut) and start again, logging to the same file."""
        self.stop(mode="fast")
        self.start()

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def create_database(self, name: str) -> None:
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    name,
                ]
            ),
            check=True,
            capture_output=True,
        )


@dataclass
class Stack:
    """Every process of the topology, and how to reach and break them."""

    root: Path
    pg: Postgres
    s3: S3Server
    redis_port: int
    mlflow_port: int
    api_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    admin_token: str = ""

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def mlflow(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """A platform process's environment: its own home, the shared services."""
        return {
            **os.environ,
            **self.s3.env,
            "PYTHONUNBUFFERED": "1",
            "MLCHALLENGE_MODE": "production",
            "MLCHALLENGE_SECRET_KEY": SECRET,
            "MLCHALLENGE_HOME": str(home),
            "MLCHALLENGE_DATABASE_URL": self.pg.url("mlchallenge"),
            "MLCHALLENGE_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "MLCHALLENGE_MLFLOW_TRACKING_URI": self.mlflow,
            "MLCHALLENGE_STORAGE_URL": f"s3://{BUCKET}/platform",
            "MLCHALLENGE_LABELS_URL": f"s3://{BUCKET}-labels",
            "MLCHALLENGE_RATE_LIMITS": "false",
            "MLCHALLENGE_LEASE_SECONDS": "5",
            "MLCHALLENGE_REAPER_INTERVAL_S": "2",
            **extra,
        }

    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        with (self.root / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    # -- the services ------------------------------------------------------------------------

    def start_redis(self) -> None:
        self.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--dir",
                str(self.root / "redis"),
            ],
            dict(os.environ),
        )
        wait_for_port(self.redis_port, process=self.processes["redis"])

    def start_mlflow(self) -> None:
        self.spawn(
            "mlflow",
            [
                str(Path(sys.executable).parent / "mlflow"),
                "server",
                "--backend-store-uri",
                self.pg.url("mlflow"),
                "--artifacts-destination",
                f"s3://{BUCKET}/mlflow",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.mlflow_port),
                "--workers",
                "1",
            ],
            {**os.environ, **self.s3.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )
        wait_for_port(self.mlflow_port, timeout=120, process=self.processes["mlflow"])

    def start_api(self) -> None:
        home = self.root / "api-home"
        self.spawn(
            "api",
            [
                sys.executable,
                "-m",
                "challenge.cli.main",
                "api",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--workers",
                "2",
                "--no-migrate",
            ],
            self.env(home),
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/api/v1/health", timeout=5).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            assert self.processes["api"].poll() is None, "the api exited; see api.log"
            time.sleep(0.3)
        raise TimeoutError("the api did not answer within 90 s")

    def start_worker(self, name: str, concurrency: int = 2) -> None:
        """A worker on its own "machine": a home of its own, nothing shared with the api."""
        self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "challenge.cli.main",
                "worker",
                "--queues",
                "cpu",
                "--concurrency",
                str(concurrency),
            ],
            self.env(self.root / f"{name}-home"),
        )

    def wait_ready(self, name: str, timeout: float = 90.0) -> None:
        """Wait until a worker's log says Celery is ready to take tasks."""
        log = self.root / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.is_file() and " ready." in log.read_text(errors="replace"):
                return
            assert self.processes[name].poll() is None, f"{name} exited; see {log}"
            time.sleep(0.2)
        raise TimeoutError(f"{name} was not ready within {timeout} s")

    def platform(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "challenge.cli.main", *args],
            env=self.env(self.root / "admin-home"),
            input=stdin.encode(),
            capture_output=True,
            check=True,
            timeout=120,
        )
        return done.stdout.decode()


@contextmanager
def production_stack(root: Path, *, workers: int = 2) -> Iterator[Stack]:
    """Start the whole topology under `root`; stop every process on exit."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "redis").mkdir(exist_ok=True)
    with ExitStack() as cleanup:
        s3 = cleanup.enter_context(moto_server(root / "moto.log"))
        s3.create_bucket(BUCKET)
        s3.create_bucket(f"{BUCKET}-labels")
        # PostgreSQL runs as its own user, which cannot enter pytest's private folders
        pg_folder = Path(tempfile.mkdtemp(prefix="mlc-topology-pg-"))
        cleanup.callback(shutil.rmtree, pg_folder, True)
        pg = Postgres(pg_folder, free_port())
        pg.init()
        pg.start()
        cleanup.callback(pg.stop)
        for database in ("mlchallenge", "mlflow"):
            pg.create_database(database)
        stack = Stack(root, pg, s3, free_port(), free_port(), free_port())
        cleanup.callback(lambda: [stack.kill(name) for name in list(stack.processes)])
        stack.start_redis()
        stack.platform("migrate")
        created = stack.platform(
            "users",
            "create",
            "admin",
            "--email",
            "admin@example.org",
            "--role",
            "admin",
            "--json",
            stdin="a long admin password\n",
        )
        stack.admin_token = json.loads(created)["token"]
        stack.start_mlflow()
        stack.start_api()
        for number in range(1, workers + 1):
            stack.start_worker(f"worker{number}")
        yield stack


def client(stack: Stack, token: str = "") -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=stack.api, headers=headers, timeout=60)


def retrying(call: Any, *, attempts: int = 60) -> httpx.Response:
    """Send a request again while the platform is briefly unavailable (a fault in progress)."""
    for _ in range(attempts):
        try:
            response: httpx.Response = call()
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code < 500:
            return response
        time.sleep(0.5)
    raise AssertionError("the platform stayed unavailable")

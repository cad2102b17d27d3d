"""A real `mlchallenge serve` in a subprocess, on a free port with a fresh data directory."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int, *, depth: int = 1_000) -> list[int]:
    """Every process below `pid` down to `depth` generations (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [(pid, 0)]
    while stack:
        parent, level = stack.pop()
        if level >= depth:
            continue
        for child in parents.get(parent, []):
            found.append(child)
            stack.append((child, level + 1))
    return found


def cmdline(pid: int) -> str:
    """The command line of a process ('' if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class LiveServer:
    """A running `mlchallenge serve`."""

    process: subprocess.Popen[bytes]
    url: str
    home: Path
    log: Path

    @property
    def admin_token(self) -> str:
        return (self.home / "admin-token").read_text().strip()

    @property
    def login_link(self) -> str:
        """The one-time admin login link that serve printed."""
        found = re.search(r"log in on the web as admin: (\S+)", self.log.read_text())
        assert found, self.log.read_text()[-2000:]
        return found.group(1)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, as a person would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)


def start_server(
    home: Path,
    *,
    problems: str = "none",
    extra_env: dict[str, str] | None = None,
    startup_timeout: float = 240,
    concurrency: int = 1,
    mlflow_ui: bool = False,
) -> LiveServer:
    """Start `mlchallenge serve`; return once a worker reports (and the MLflow UI answers)."""
    port = free_port()
    log = home.parent / f"serve-{port}.log"
    env = {
        **os.environ,
        "MLCHALLENGE_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
        "MLCHALLENGE_REAPER_INTERVAL_S": "2",
        "MLCHALLENGE_LEASE_SECONDS": "10",
        **(extra_env or {}),
    }
    for key in (
        "MLCHALLENGE_DATABASE_URL",
        "MLCHALLENGE_BROKER_URL",
        "MLCHALLENGE_MLFLOW_UI_URL",
        "MLCHALLENGE_MLFLOW_UI_UPSTREAM",
    ):
        env.pop(key, None)
    command = [
        sys.executable,
        "-m",
        "challenge.cli.main",
        "serve",
        "--port",
        str(port),
        "--problems",
        problems,
        "--concurrency",
        str(concurrency),
    ]
    if mlflow_ui:
        command += ["--mlflow-ui"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = LiveServer(process, f"http://127.0.0.1:{port}", home, log)
    checks = {
        "api": lambda: (
            httpx.get(f"{server.url}/api/v1/health", timeout=2).json()["workers"]["count"] > 0
        )
    }
    if mlflow_ui:  # through the platform's proxy, as an admin
        checks["ui"] = lambda: (
            httpx.get(
                f"{server.url}/mlflow/health",
                headers={"Authorization": f"Bearer {server.admin_token}"},
                timeout=2,
            ).status_code
            == 200
        )
    ready = dict.fromkeys(checks, False)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline and not all(ready.values()):
        if process.poll() is not None:
            raise RuntimeError(f"serve exited early:\n{log.read_text()[-3000:]}")
        for name, check in checks.items():
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, OSError):
                ready[name] = ready[name] or bool(check())
        time.sleep(0.5)
    if not all(ready.values()):
        server.stop()
        raise RuntimeError(f"serve did not become ready ({ready}):\n{log.read_text()[-3000:]}")
    return server


def wait_for(client: httpx.Client, submission_id: int, timeout: float = 180) -> dict[str, object]:
    """Poll a submission until it reaches a terminal state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/api/v1/submissions/{submission_id}").json()
        if data["status"] in ("finished", "failed", "cancelled"):
            return dict(data)
        time.sleep(0.3)
    raise AssertionError(f"submission {submission_id} did not finish in {timeout} s: {data}")

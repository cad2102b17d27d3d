"""`mlchallenge migrate` and `mlchallenge users create` against SQLite and PostgreSQL, as
real subprocesses: how a production install gets its schema and its first admin."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from challenge.db.migrate import current_revision, head_revision
from tests.ops.databases import cli_env, mlchallenge

PASSWORD = "a long enough password"


def api_client(home: Path, url: str) -> TestClient:
    from challenge.app import create_app
    from challenge.config import Settings

    return TestClient(create_app(Settings(home=home, database_url=url)))


def test_migrate_then_create_the_first_admin_who_can_use_the_api(
    empty_url: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "home", empty_url)
    early = mlchallenge(
        env,
        "users",
        "create",
        "root",
        "--email",
        "r@example.org",
        "--role",
        "admin",
        stdin=PASSWORD + "\n",
    )
    assert early.returncode == 1 and "mlchallenge migrate" in early.stderr, early.stderr
    assert "Traceback" not in early.stderr

    first = mlchallenge(env, "migrate")
    assert first.returncode == 0, first.stderr
    assert "migrated" in first.stderr and current_revision(empty_url) == head_revision()
    again = mlchallenge(env, "migrate")
    assert again.returncode == 0 and "up to date" in again.stderr, again.stderr

    created = mlchallenge(
        env,
        "users",
        "create",
        "root",
        "--email",
        "r@example.org",
        "--role",
        "admin",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("mlc_") and len(created.stdout.splitlines()) == 1

    with api_client(tmp_path / "home", empty_url) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "admin", me.text
        login = client.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
        assert login.status_code == 200, login.text
        made = client.post(
            "/api/v1/users",
            json={"username": "hh", "email": "h@example.org", "password": PASSWORD, "role": "host"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text


def test_users_create_says_what_is_wrong_and_if_missing_is_idempotent(
    empty_url: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path / "home", empty_url)
    assert mlchallenge(env, "migrate").returncode == 0

    def create(
        name: str, *extra: str, stdin: str = PASSWORD + "\n"
    ) -> subprocess.CompletedProcess[str]:
        return mlchallenge(
            env, "users", "create", name, "--email", f"{name}@example.org", *extra, stdin=stdin
        )

    short = create("ann", stdin="short\n")
    assert short.returncode == 1 and "password" in short.stderr and "8" in short.stderr
    empty = create("ann", stdin="")
    assert empty.returncode == 1 and "standard input" in empty.stderr
    bad_role = create("ann", "--role", "king")
    assert bad_role.returncode == 2 and "participant" in bad_role.stderr
    bad_name = create("a b")
    assert bad_name.returncode == 1 and "username" in bad_name.stderr

    made = create("ann", "--role", "judge", "--json")
    assert made.returncode == 0, made.stderr
    body = json.loads(made.stdout)
    assert body["user"]["role"] == "judge" and body["token"].startswith("mlc_")
    taken = create("ann")
    assert taken.returncode == 1 and "taken" in taken.stderr
    quiet = create("ann", "--if-missing", stdin="")
    assert quiet.returncode == 0 and quiet.stdout == "" and "exists already" in quiet.stderr
    for result in (short, empty, bad_name, taken):
        assert "Traceback" not in result.stderr


def test_the_password_is_prompted_twice_on_a_terminal(empty_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home", empty_url)
    assert mlchallenge(env, "migrate").returncode == 0
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "challenge.cli.main",
            "users",
            "create",
            "tty",
            "--email",
            "tty@example.org",
            "--role",
            "host",
        ],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""

    def read_until(marker: bytes, timeout: float = 120) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
        assert marker in seen, seen

    try:
        read_until(b"Password:")
        os.write(leader, PASSWORD.encode() + b"\n")
        read_until(b"confirmation:")
        os.write(leader, PASSWORD.encode() + b"\n")
        read_until(b"mlc_")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert PASSWORD.encode() not in seen  # never echoed
    with api_client(tmp_path / "home", empty_url) as client:
        login = client.post("/api/v1/auth/login", json={"username": "tty", "password": PASSWORD})
        assert login.status_code == 200 and login.json()["user"]["role"] == "host"


def test_migrate_reports_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home", "postgresql+psycopg://someone:hunter2@127.0.0.1:1/nothing")
    result = mlchallenge(env, "migrate")
    assert result.returncode == 1
    assert "cannot use the database" in result.stderr and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr

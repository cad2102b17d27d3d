"""Issue 2's end-to-end path on a real `mlchallenge serve`: upload -> worker -> score -> board."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import LiveServer, cmdline, descendants, start_server, wait_for
from tests.platform.helpers import truth_predictions, write_regression_bundle, zip_folder
from tests.polling import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("serve") / "home")
    yield live
    live.stop()


def make_user(server: LiveServer, name: str, role: str) -> str:
    with server.client(server.admin_token) as admin:
        response = admin.post(
            "/api/v1/users",
            json={
                "username": name,
                "email": f"{name}@example.org",
                "password": "password123",
                "role": role,
            },
        )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_upload_scored_by_the_worker_lands_on_the_board(server: LiveServer, tmp_path: Path) -> None:
    assert (server.home / "admin-token").stat().st_mode & 0o077 == 0
    host, alice = make_user(server, "host", "host"), make_user(server, "alice", "participant")
    bundle = write_regression_bundle(tmp_path / "bundle")
    with server.client(host) as client:
        created = client.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
        assert created.status_code == 201, created.text
    with server.client(alice) as client:
        team = client.post("/api/v1/competitions/tiny/teams", json={"name": "Alpha"})
        assert team.status_code == 201
        good = client.post(
            "/api/v1/competitions/tiny/submissions",
            files={"file": ("pred.csv", truth_predictions(bundle, noise=0.2))},
            data={"format": "predictions"},
        )
        assert good.status_code == 201 and good.json()["status"] == "queued"
        result = wait_for(client, good.json()["id"])
        assert result["status"] == "finished", result
        public = result["scores"]["public"]  # type: ignore[index]
        assert 0.05 < public["mae"] < 0.4
        assert "private" not in result["scores"]  # type: ignore[operator]
        board = client.get("/api/v1/competitions/tiny/leaderboard").json()
        assert [(r["rank"], r["team"]["name"]) for r in board["rows"]] == [(1, "Alpha")]
        assert board["rows"][0]["score"] == pytest.approx(public["mae"])
        assert board["rows"][0]["submission_id"] == good.json()["id"]
        private = client.get("/api/v1/competitions/tiny/leaderboard", params={"board": "private"})
        assert private.status_code == 403
    with server.client(host) as client:
        private = client.get("/api/v1/competitions/tiny/leaderboard", params={"board": "private"})
        assert private.status_code == 200 and private.json()["rows"][0]["score"] is not None


def test_the_admin_logs_in_on_the_web_from_serves_output(server: LiveServer) -> None:
    link = server.login_link
    assert link.startswith(f"{server.url}/login/link/")
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        page = browser.get(link)
        assert page.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert csrf
        done = browser.post(
            link,
            data={"csrf_token": csrf.group(1), "password": "the admin pw"},
            headers={"Origin": server.url},
        )
        assert done.status_code == 200 and "You are logged in" in done.text
        assert browser.get(f"{server.url}/api/v1/users/me").json()["username"] == "admin"
        assert browser.get(link).status_code == 404  # single use
    with server.client() as anyone:
        login = anyone.post(
            "/api/v1/auth/login", json={"username": "admin", "password": "the admin pw"}
        )
        assert login.status_code == 200


def test_a_crashed_worker_is_restarted(server: LiveServer) -> None:
    workers = [p for p in descendants(server.process.pid, depth=1) if " worker " in cmdline(p)]
    assert workers, "the worker child is not running"
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = [p for p in descendants(server.process.pid, depth=1) if " worker " in cmdline(p)]
        if alive and alive != workers:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the worker was not restarted")
    assert "restarting" in server.log.read_text()


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    live = start_server(tmp_path / "home")
    children = descendants(live.process.pid)
    assert children
    assert live.stop() == 0
    wait_until(lambda: not [p for p in children if cmdline(p)], timeout=30, what="the children")

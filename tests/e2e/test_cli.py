"""The participant's CLI end to end against a running `mlchallenge serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.server import LiveServer, start_server
from tests.platform.helpers import truth_predictions, write_regression_bundle, zip_folder

pytestmark = pytest.mark.slow


@dataclass
class World:
    """A running server with a competition, its host and two participants."""

    live: LiveServer
    tokens: dict[str, str]
    bundle: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    live = start_server(tmp_path_factory.mktemp("cli") / "home")
    bundle = write_regression_bundle(tmp_path_factory.mktemp("bundle"))
    with live.client(live.admin_token) as admin:
        tokens = {}
        for name in ("clihost", "clialice", "clibob"):
            response = admin.post(
                "/api/v1/users",
                json={
                    "username": name,
                    "email": f"{name}@example.org",
                    "password": "password123",
                    "role": "host" if name == "clihost" else "participant",
                },
            )
            tokens[name] = response.json()["token"]
    with live.client(tokens["clihost"]) as host:
        assert (
            host.post(
                "/api/v1/competitions", files={"bundle": ("b.zip", zip_folder(bundle))}
            ).status_code
            == 201
        )
    yield World(live, tokens, bundle)
    live.stop()


def cli(server: World, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MLCHALLENGE_SERVER": server.live.url,
        "MLCHALLENGE_TOKEN": server.tokens[user],
    }
    return subprocess.run(
        [sys.executable, "-m", "challenge.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_participant_workflow(server: World, tmp_path: Path) -> None:
    listed = cli(server, "clialice", "competitions", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [c["slug"] for c in json.loads(listed.stdout)] == ["tiny"]
    assert "tiny" in cli(server, "clialice", "competitions").stdout

    created = cli(server, "clialice", "team", "create", "tiny", "Alpha", "--json")
    assert created.returncode == 0, created.stderr
    team = json.loads(created.stdout)
    joined = cli(server, "clibob", "team", "join", str(team["id"]), team["invite_code"])
    assert joined.returncode == 0 and "clialice, clibob" in joined.stdout

    downloaded = cli(server, "clialice", "download", "tiny", "--out", str(tmp_path / "data"))
    assert downloaded.returncode == 0, downloaded.stderr
    assert {p.name for p in (tmp_path / "data").iterdir()} >= {
        "train.parquet",
        "test.parquet",
        "description.md",
    }

    predictions = tmp_path / "pred.csv"
    predictions.write_bytes(truth_predictions(server.bundle, noise=0.2))
    good = cli(server, "clialice", "submit", "tiny", str(predictions), "--wait")
    assert good.returncode == 0, good.stdout + good.stderr
    assert ": finished" in good.stdout and "mae=" in good.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("id,y\n1,2.0\n")
    failed = cli(
        server, "clialice", "submit", "tiny", str(bad), "--format", "predictions", "--wait"
    )
    # a wrong shape is refused at upload, before it is queued or counted
    assert failed.returncode != 0
    assert "the test set has" in failed.stdout + failed.stderr

    mine = json.loads(cli(server, "clibob", "status", "1", "--json").stdout)
    assert mine["status"] == "finished" and mine["team"]["name"] == "Alpha"
    assert cli(server, "clialice", "logs", "1").returncode == 0
    board = cli(server, "clialice", "leaderboard", "tiny")
    assert board.returncode == 0 and "Alpha" in board.stdout and "mae" in board.stdout
    rows = json.loads(cli(server, "clialice", "leaderboard", "tiny", "--json").stdout)["rows"]
    assert rows[0]["rank"] == 1 and rows[0]["team"]["name"] == "Alpha"


def test_errors_are_readable(server: World, tmp_path: Path) -> None:
    missing = cli(server, "clialice", "leaderboard", "nope")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    unknown = tmp_path / "model.bin"
    unknown.write_bytes(b"x")
    guessed = cli(server, "clialice", "submit", "tiny", str(unknown))
    assert guessed.returncode != 0 and "--format" in guessed.stderr
    offline = subprocess.run(
        [
            sys.executable,
            "-m",
            "challenge.cli.main",
            "competitions",
            "--server",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert offline.returncode != 0 and "cannot reach" in offline.stderr

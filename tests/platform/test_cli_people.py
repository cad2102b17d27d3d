"""`mlchallenge login`, `select`, `unselect`, `cancel` against a real HTTP server."""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from challenge.cli.main import cli
from tests.platform.helpers import admin_token, create_user
from tests.platform.mailbox import free_port


@pytest.fixture
def live(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free local port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def run(config: Path, *args: str, given: str | None = None) -> Any:
    env = {"XDG_CONFIG_HOME": str(config), "MLCHALLENGE_SERVER": "", "MLCHALLENGE_TOKEN": ""}
    return CliRunner().invoke(cli, list(args), input=given, env=env, catch_exceptions=False)


def test_login_keeps_a_token_that_later_commands_use(
    live: str, client: TestClient, settings: Any, tmp_path: Path
) -> None:
    create_user(client, admin_token(settings), "clara")
    config = tmp_path / "config"
    before = run(config, "status", "999", "--server", live)
    assert before.exit_code != 0 and "401" in before.output
    wrong = run(config, "login", "--server", live, given="clara\nwrong password\n")
    assert wrong.exit_code != 0 and "wrong username or password" in wrong.output
    done = run(config, "login", "--server", live, given="clara\ncorrect horse battery\n")
    assert done.exit_code == 0, done.output
    stored = config / "mlchallenge" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    after = run(config, "status", "999")  # no --server, no --token: the stored ones
    assert after.exit_code != 0 and "404" in after.output and "401" not in after.output
    out = run(config, "logout")
    assert out.exit_code == 0 and "logged out" in out.output
    again = run(config, "status", "999", "--server", live)
    assert "401" in again.output


def test_select_unselect_and_cancel_from_the_cli(
    live: str, client: TestClient, settings: Any, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from challenge.db.session import transaction
    from challenge.submissions.models import Submission, SubmissionStatus
    from tests.arena import make_arena
    from tests.platform.helpers import regression_settings, truth_predictions

    arena = make_arena(
        client, settings, tmp_path, regression_settings(leaderboard={"final_selection": 2})
    )
    config = tmp_path / "config"
    assert (
        run(config, "login", "--server", live, given="alice\ncorrect horse battery\n").exit_code
        == 0
    )
    queued = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    cancelled = run(config, "cancel", str(queued))
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output, cancelled.output
    done = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    not_yet = run(config, "select", str(done))
    assert not_yet.exit_code != 0 and "only finished submissions" in not_yet.output
    with transaction(settings.database_url) as session:
        session.execute(
            update(Submission).where(Submission.id == done).values(status=SubmissionStatus.FINISHED)
        )
    chosen = run(config, "select", str(done), "--json")
    assert chosen.exit_code == 0 and '"selected_final": true' in chosen.output
    dropped = run(config, "unselect", str(done))
    assert dropped.exit_code == 0 and "no longer selected" in dropped.output


def test_submit_with_a_method_and_show_methods(
    live: str, client: TestClient, settings: Any, tmp_path: Path
) -> None:
    import json

    from tests.arena import make_arena
    from tests.platform.helpers import regression_settings, truth_predictions

    arena = make_arena(client, settings, tmp_path, regression_settings())
    predictions = tmp_path / "pred.csv"
    predictions.write_bytes(truth_predictions(arena.bundle))
    config = tmp_path / "config"
    login = run(config, "login", "--server", live, given="alice\ncorrect horse battery\n")
    assert login.exit_code == 0
    made = run(
        config,
        "submit",
        "tiny",
        str(predictions),
        "--method-name",
        "GBM",
        "--method-url",
        "https://example.org/code",
        "--public-method",
        "--json",
    )
    assert made.exit_code == 0, made.output
    method = json.loads(made.output)["method"]
    assert method == {
        "name": "GBM",
        "description": "",
        "url": "https://example.org/code",
        "public": True,
    }
    board = run(config, "leaderboard", "tiny", "--methods")
    assert board.exit_code == 0 and "method" in board.output

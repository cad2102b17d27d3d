"""The participant's CLI for challenges: `register` and `admission`, over the app's transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from challenge.cli import client as cli_client
from challenge.cli.main import cli
from tests.challenges.helpers import bundle_problem, challenge, organisation
from tests.platform.helpers import admin_token, auth, create_user


@pytest.fixture
def over_app(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's HTTP client talks to the test app instead of the network."""

    def connect(base_url: str, headers: dict[str, str], timeout: float) -> TestClient:
        return TestClient(app, base_url=base_url, headers=headers)

    monkeypatch.setattr(cli_client.httpx, "Client", connect)


def test_register_and_ask_from_the_command_line(
    client: TestClient, settings: Any, tmp_path: Path, over_app: None
) -> None:
    admin = admin_token(settings)
    host = create_user(client, admin, "host", "host")
    alice = create_user(client, admin, "alice")
    assert challenge(client, host).status_code == 201
    organisation(client, host, "acme", country="Brazil", region="Americas")
    assert bundle_problem(client, host, tmp_path, "tiny", challenge="fiveg").status_code == 201
    put = client.put(
        "/api/v1/competitions/tiny/conditions", json={"terms": "No sharing."}, headers=auth(host)
    )
    assert put.status_code == 200
    runner = CliRunner()
    common = ["--server", "http://cli.test", "--token", alice]
    profile = ["--affiliation", "UFPA", "--country", "Brazil", "--category", "student"]
    done = runner.invoke(cli, ["register", "fiveg", *profile, *common])
    assert done.exit_code == 0, done.output
    assert "registered to fiveg as student (UFPA, Brazil)" in done.output
    refused = runner.invoke(cli, ["admission", "tiny", *common])
    assert refused.exit_code != 0 and "accept_terms" in refused.output
    asked = runner.invoke(cli, ["admission", "tiny", "--accept-terms", *common])
    assert asked.exit_code == 0 and asked.output.startswith("admitted"), asked.output

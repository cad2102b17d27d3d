"""Chromium on the judge panel: a reproduction started there updates in place until it is done,
as submissions do (issue: reproductions update live), under the pages' Content Security Policy."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.server import LiveServer, start_server
from tests.web.test_browser import (
    PASSWORD,
    browser,  # noqa: F401 (a fixture)
    login,
    make_user,
    shot,
    watch_csp,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SLUG = "rlf"
SLOW_ZEROS = """import time


def predict(features):
    time.sleep(4)
    return [0] * len(features)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("repro-serve") / "home")
    try:
        yield live
    finally:
        live.stop()


def _model_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.py", SLOW_ZEROS)
    return buffer.getvalue()


def _wait_finished(server: LiveServer, token: str, submission_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    with server.client(token) as client:
        while time.monotonic() < deadline:
            data: dict[str, Any] = client.get(f"/api/v1/submissions/{submission_id}").json()
            if data["status"] in ("finished", "failed", "cancelled"):
                return data
            time.sleep(0.5)
    raise AssertionError(f"submission {submission_id} did not finish in 240 s")


def test_a_reproduction_updates_on_the_judge_panel_without_a_reload(
    server: LiveServer,
    browser: Any,  # noqa: F811 (the fixture imported above)
) -> None:
    make_user(server, "judge", "judge")
    make_user(server, "alice", "participant")
    with server.client(server.admin_token) as admin:
        created = admin.post(
            "/api/v1/competitions",
            json={"problem": "radio-link-failure", "slug": SLUG, "size": 300, "baseline": False},
        )
        assert created.status_code == 201, created.text
        staffed = admin.post(
            f"/api/v1/competitions/{SLUG}/staff", json={"username": "judge", "role": "judge"}
        )
        assert staffed.status_code == 201, staffed.text
    with server.client() as anonymous:
        logged = anonymous.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        )
    assert logged.status_code == 200, logged.text
    alice = logged.json()["token"]
    with server.client(alice) as client:
        team = client.post(f"/api/v1/competitions/{SLUG}/teams", json={"name": "Alpha"})
        assert team.status_code == 201, team.text
        uploaded = client.post(
            f"/api/v1/competitions/{SLUG}/submissions",
            files={"file": ("model.zip", _model_zip())},
            data={"format": "python"},
        )
        assert uploaded.status_code == 201, uploaded.text
    scored = _wait_finished(server, alice, uploaded.json()["id"])
    assert scored["status"] == "finished", scored

    violations: list[str] = []
    judge = watch_csp(
        browser.new_context(viewport={"width": 1200, "height": 900}).new_page(), violations
    )
    login(judge, server.url, "judge")
    judge.goto(f"{server.url}/competitions/{SLUG}/judge")
    judge.fill("#top-k", "1")
    judge.select_option("#repro-board", "public")
    with judge.expect_navigation():
        judge.click("button:has-text('Reproduce on fresh data')")
    table = judge.locator("[data-reproduction]").first
    # the re-run sleeps 4 s in the jail: the page shows the reproduction before it is done
    assert table.get_attribute("data-terminal") == "no"
    judge.evaluate("window.__stillTheSamePage = true")
    shot(judge, "10-reproduction-running")
    judge.wait_for_selector(
        "[data-reproduction] [data-repro-status]:text-is('finished')", timeout=240_000
    )
    assert judge.evaluate("window.__stillTheSamePage") is True, "the panel reloaded"
    assert table.get_attribute("data-terminal") == "yes"
    row = table.locator("tbody tr").first
    assert "Alpha" in row.inner_text()
    assert row.locator("td").nth(5).inner_text() != "-"  # the reproduced score
    shot(judge, "11-reproduction-finished")
    judge.context.close()
    assert violations == [], violations

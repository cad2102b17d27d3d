"""Issue 13's journeys in Chromium against a real `mlchallenge serve`, each as a person would:
the admin logs in from serve's output and invites a host; the host drafts, edits, publishes and
clones a competition; a newcomer signs up, forms a team, submits and selects a final; a judge
downloads a file, annotates and finalizes with confirmation.

Screenshots land in test-artifacts/journeys/ (git-ignored). The journeys share one server and
run in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import LiveServer, start_server
from tests.platform.helpers import (
    regression_settings,
    truth_predictions,
    write_regression_bundle,
    zip_folder,
)
from tests.web.test_browser import CHROMIUM_ARGS, watch_csp

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "journeys"
PASSWORD = "journey password"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("journeys") / "home")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What one journey hands the next (links, files)."""
    folder = tmp_path_factory.mktemp("journey-files")
    bundle = write_regression_bundle(
        folder / "bundle", settings=regression_settings(leaderboard={"final_selection": 1})
    )
    (folder / "bundle.zip").write_bytes(zip_folder(bundle))
    (folder / "pred.csv").write_bytes(truth_predictions(bundle, noise=0.1))
    return {"zip": folder / "bundle.zip", "predictions": folder / "pred.csv"}


def person(chromium: Any, violations: list[str]) -> Any:
    """A fresh browser context (its own cookies) and page, watched for CSP violations."""
    return watch_csp(chromium.new_context(accept_downloads=True).new_page(), violations)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_up(page: Any, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#username", username)
    page.fill("#email", f"{username}@example.org")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('Sign up')")
    assert page.locator("header .who").inner_text().startswith(username)


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main button:has-text('Log in')")
    assert page.locator("header .who").inner_text().startswith(username)


def test_admin_logs_in_from_serves_output_and_invites_a_host(
    live: LiveServer, chromium: Any, shared: dict[str, Any]
) -> None:
    violations: list[str] = []
    admin = person(chromium, violations)
    admin.goto(live.login_link)
    shot(admin, "01-admin-login-link")
    admin.fill("#password", PASSWORD)
    with admin.expect_navigation():
        admin.click("main button:has-text('Log in')")
    assert "You are logged in" in admin.locator("[role=status]").inner_text()
    admin.click("header >> text=Users")
    admin.select_option("#invite-role", "host")
    with admin.expect_navigation():
        admin.click("button:has-text('Make an invitation link')")
    link = admin.locator("#new-link code").inner_text()
    assert "/signup?invite=" in link
    shared["host_invite"] = link
    shot(admin, "02-admin-users-invitation")
    admin.fill("#q", "admin")
    with admin.expect_navigation():
        admin.click("form[role=search] button")
    assert "1 user matching" in admin.content()
    assert violations == []


def test_host_drafts_edits_publishes_and_clones(
    live: LiveServer, chromium: Any, shared: dict[str, Any]
) -> None:
    violations: list[str] = []
    host = person(chromium, violations)
    sign_up(host, shared["host_invite"], "hosta")
    assert "(host)" in host.locator("header .who").inner_text()
    host.click("header >> text=New competition")
    host.set_input_files("#bundle", str(shared["zip"]))
    host.fill("#bundle-slug", "journey")
    with host.expect_navigation(url=re.compile(r"/competitions/journey$")):
        host.click("button:has-text('Create from bundle')")
    host.click("nav.tabs >> text=Edit")
    host.fill("#title", "Journey regression")
    host.fill("#description", "# Journey\n\nPredict **y** well.")
    host.select_option("#status", "draft")
    with host.expect_navigation():
        host.click("button:has-text('Preview the description')")
    assert host.locator("#preview strong").inner_text() == "y"
    shot(host, "03-host-edit-preview")
    with host.expect_navigation():
        host.click("button:has-text('Save')")
    assert host.locator("[data-status=draft]").count() >= 1
    anonymous = person(chromium, violations)
    assert anonymous.goto(f"{live.url}/competitions/journey").status == 404
    host.select_option("#status", "published")
    with host.expect_navigation():
        host.click("button:has-text('Save')")
    assert anonymous.goto(f"{live.url}/competitions/journey").status == 200
    host.fill("#new_slug", "journey-next")
    with host.expect_navigation(url=re.compile(r"/competitions/journey-next/edit$")):
        host.click("button:has-text('Clone')")
    assert host.locator("[data-status=draft]").count() >= 1
    shot(host, "04-host-clone-draft")
    assert violations == []


def test_newcomer_signs_up_forms_a_team_submits_and_selects_a_final(
    live: LiveServer, chromium: Any, shared: dict[str, Any]
) -> None:
    violations: list[str] = []
    newcomer = person(chromium, violations)
    newcomer.goto(live.url)
    newcomer.click("header >> text=Sign up")
    sign_up(newcomer, newcomer.url, "newbie")
    newcomer.click("text=Journey regression")
    newcomer.click("nav.tabs >> text=Team")
    newcomer.fill("#team-name", "Newcomers")
    newcomer.click("button:has-text('Create team')")
    newcomer.click("nav.tabs >> text=Submit")
    newcomer.set_input_files("#file", str(shared["predictions"]))  # format from the name
    with newcomer.expect_navigation(url=re.compile(r"/submissions/\d+$")):
        newcomer.click("button:has-text('Upload')")
    shared["submission"] = newcomer.url
    newcomer.wait_for_selector("[data-status]:text-is('finished')", timeout=180_000)
    newcomer.reload()
    with newcomer.expect_navigation():
        newcomer.click("button:has-text('Select as final')")
    assert newcomer.locator("button:has-text('Unselect as final')").count() == 1
    shot(newcomer, "05-newcomer-final-selected")
    newcomer.click("header >> text=Notifications")
    assert "finished" in newcomer.locator("[data-notification=submission_finished]").inner_text()
    shot(newcomer, "06-newcomer-notifications")
    assert violations == []


def test_judge_downloads_annotates_and_finalizes_with_confirmation(
    live: LiveServer, chromium: Any, shared: dict[str, Any]
) -> None:
    violations: list[str] = []
    with live.client(live.admin_token) as admin:
        made = admin.post(
            "/api/v1/users",
            json={
                "username": "judy",
                "email": "judy@example.org",
                "password": PASSWORD,
                "role": "judge",
            },
        )
        assert made.status_code == 201, made.text
    host = person(chromium, violations)
    log_in(host, live.url, "hosta")
    host.goto(f"{live.url}/competitions/journey/staff")
    host.fill("#staff-username", "judy")
    host.select_option("#staff-role", "judge")
    with host.expect_navigation():
        host.click("button:has-text('Assign')")
    judge = person(chromium, violations)
    log_in(judge, live.url, "judy")
    judge.goto(shared["submission"])
    with judge.expect_download() as download:
        judge.click("text=Download the submitted file")
    assert download.value.suggested_filename == "pred.csv"
    judge.goto(f"{live.url}/competitions/journey/judge")
    sid = shared["submission"].rsplit("/", 1)[1]
    judge.click(f"summary:has-text('Actions for {sid}')")
    judge.fill(f"#note-{sid}", "looks clean")
    with judge.expect_navigation():
        judge.click(f"form[action$='/submissions/{sid}/annotate'] button")
    assert "looks clean" in judge.content()
    judge.fill("#final-reason", "end of the journey")
    judge.fill("#register-top", "0")
    judge.check("input[name=confirm]")
    shot(judge, "07-judge-before-finalize")
    with judge.expect_navigation():
        judge.click("button:has-text('Finalize phase main')")
    assert "Phase finalized" in judge.locator("[role=status]").inner_text()
    shot(judge, "08-judge-finalized")
    judge.set_viewport_size({"width": 390, "height": 844})  # a phone
    for path in ("/competitions/journey/judge", "/competitions/journey/leaderboard?board=private"):
        judge.goto(f"{live.url}{path}")
        width = judge.evaluate("document.documentElement.scrollWidth")
        shot(judge, "09-phone" + path.replace("/", "-").split("?")[0])
        assert width <= 390, (path, width)  # tables scroll inside their box
    shot(judge, "09-private-board-phone")
    assert violations == []

"""Chromium against a real `mlchallenge serve --mlflow-ui`: the participant's and the judge's path,
under the pages' Content Security Policy (no violation may reach the console), and the MLflow UI
behind the platform's login.

Screenshots land in test-artifacts/web/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import LiveServer, start_server
from tests.platform.helpers import truth_predictions, write_regression_bundle, zip_folder

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "password123"
SLOW_MODEL = """import time


def predict(features):
    print("predicting", len(features), "rows")
    time.sleep(3)
    return 2 * features["x1"] - features["x2"]
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    server = start_server(tmp_path_factory.mktemp("web-serve") / "home", mlflow_ui=True)
    try:
        yield server, f"{server.url}/mlflow"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def watch_csp(page: Any, violations: list[str]) -> Any:
    """Record every Content Security Policy violation the page reports (console and event)."""
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + "
        "e.blockedURI))"
    )
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def make_user(server: LiveServer, name: str, role: str) -> None:
    with server.client(server.admin_token) as admin:
        response = admin.post(
            "/api/v1/users",
            json={
                "username": name,
                "email": f"{name}@example.org",
                "password": PASSWORD,
                "role": role,
            },
        )
    assert response.status_code == 201, response.text


def login(page: Any, base: str, username: str) -> None:
    """Log in with the keyboard only: type, Tab, type, Enter."""
    page.goto(f"{base}/login")
    page.focus("#username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("header .who").inner_text().startswith(username)


def test_participant_submits_watches_it_finish_and_a_judge_finalizes(
    live: tuple[LiveServer, str], browser: Any, tmp_path: Path
) -> None:
    server, ui = live
    base = server.url
    make_user(server, "host", "host")
    make_user(server, "judge", "judge")
    make_user(server, "alice", "participant")
    bundle = write_regression_bundle(tmp_path / "bundle")
    with server.client(server.admin_token) as admin:
        created = admin.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
    assert created.status_code == 201, created.text
    predictions = tmp_path / "pred.csv"
    predictions.write_bytes(truth_predictions(bundle, noise=0.2))
    slow_model = tmp_path / "model.py"
    slow_model.write_text(SLOW_MODEL, encoding="utf-8")

    with server.client(server.admin_token) as admin:
        assigned = admin.post(
            "/api/v1/competitions/tiny/staff", json={"username": "judge", "role": "judge"}
        )
    assert assigned.status_code == 201, assigned.text
    violations: list[str] = []

    anonymous = watch_csp(browser.new_context().new_page(), violations)
    anonymous.goto(f"{ui}/")
    assert "/login" in anonymous.url  # the MLflow UI is behind the platform's login
    anonymous.context.close()

    alice = watch_csp(
        browser.new_context(viewport={"width": 1200, "height": 900}).new_page(), violations
    )
    login(alice, base, "alice")
    alice.click("text=Tiny regression")
    assert alice.locator("h1").inner_text() == "Tiny regression"
    shot(alice, "01-competition")

    alice.click("nav.tabs >> text=Team")
    alice.fill("#team-name", "Alpha")
    alice.click("button:has-text('Create team')")
    assert re.fullmatch(r"[0-9a-f]{16}", alice.locator("#invite-code").inner_text())
    shot(alice, "02-team")

    alice.click("nav.tabs >> text=Submit")
    alice.set_input_files("#file", str(predictions))
    alice.check("input[name=format][value=predictions]")
    alice.fill("#note", "noisy truth")
    with alice.expect_navigation(url=re.compile(r"/submissions/\d+$")):
        alice.click("button:has-text('Upload')")
    alice.evaluate("window.__stillTheSamePage = true")
    # selectors, not wait_for_function: the page's CSP forbids the eval that the latter needs
    alice.wait_for_selector("[data-status]:text-is('finished')", timeout=180_000)
    assert alice.evaluate("window.__stillTheSamePage") is True, "the page reloaded"
    alice.wait_for_selector("img.plot", timeout=30_000)
    assert alice.evaluate("document.querySelector('img.plot').naturalWidth") > 0
    assert alice.locator("[data-scores] td:has-text('public')").count() >= 1
    assert alice.locator("[data-scores] td:has-text('private')").count() == 0
    assert alice.locator("[data-mlflow] a").count() == 0  # participants are not sent there
    submission_url = alice.url
    shot(alice, "03-submission-finished")
    refused = alice.goto(f"{ui}/")
    assert refused is not None and refused.status == 403
    assert "hosts and judges" in alice.locator("main").inner_text()
    alice.goto(submission_url)

    alice.goto(f"{base}/competitions/tiny/submit")
    alice.set_input_files("#file", str(slow_model))
    alice.check("input[name=format][value=python]")
    with alice.expect_navigation(url=re.compile(r"/submissions/\d+$")):
        alice.click("button:has-text('Upload')")
    alice.click("text=Back to the submissions of tiny")
    alice.evaluate("window.__stillTheSamePage = true")
    newest = alice.locator("tbody tr").first
    assert newest.get_attribute("data-terminal") == "no"
    alice.wait_for_selector(
        "tbody tr:first-child [data-status]:text-is('finished')", timeout=180_000
    )
    assert alice.evaluate("window.__stillTheSamePage") is True, "the list reloaded"
    assert newest.locator("[data-score]").inner_text() != "-"
    shot(alice, "05-my-submissions")
    alice.click("nav.tabs >> text=Leaderboard")
    first = alice.locator("#board-public tbody tr").first
    assert first.locator("td").first.inner_text().strip() == "1"
    assert "Alpha" in first.inner_text()
    assert alice.locator("svg.chart polyline").count() == 1
    assert alice.locator("#board option[value=private]").count() == 0
    shot(alice, "06-leaderboard")

    judge = watch_csp(
        browser.new_context(viewport={"width": 1200, "height": 900}).new_page(), violations
    )
    login(judge, base, "judge")
    judge.goto(submission_url)
    judge.wait_for_selector("img.plot >> nth=1")  # the private-rows plot, for staff
    href = judge.locator("[data-mlflow] a").get_attribute("href")
    assert href is not None and href.startswith("/mlflow/#/runs/")
    mlflow = judge.context.new_page()
    mlflow.goto(f"{base}{href}")
    mlflow.wait_for_selector("text=/submission-\\d+/", timeout=90_000)
    shot(mlflow, "04-mlflow-run")
    mlflow.close()
    judge.goto(f"{base}/competitions/tiny/judge")
    assert judge.locator("#board-private tbody tr").count() == 1
    shot(judge, "07-judge-panel")
    judge.fill("#final-reason", "end of the challenge")
    judge.fill("#register-top", "0")
    judge.check("input[name=confirm]")
    with judge.expect_navigation():
        judge.click("button:has-text('Finalize phase main')")
    assert "Phase finalized" in judge.locator("[role=status]").inner_text()
    shot(judge, "08-finalized")

    alice.goto(f"{base}/competitions/tiny/leaderboard?board=private")
    assert "Alpha" in alice.locator("#board-private tbody tr").first.inner_text()
    assert "final" in alice.locator("#board-private caption").inner_text()
    shot(alice, "09-private-board")
    alice.goto(submission_url)
    alice.wait_for_selector("img[data-private-plot]")  # the phase is final: private rows shown
    alice.context.close()
    judge.context.close()
    assert violations == [], violations

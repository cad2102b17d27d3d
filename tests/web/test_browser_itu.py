"""Chromium against a real `mlchallenge serve`: the ITU journey under the pages' CSP.

An organisation's host restricts a problem statement of a challenge; a participant registers,
asks and is approved, submits and uploads a report; a judge of another organisation scores it on
the rubric; the host nominates the team, the jury ranks it, the results and certificates appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import LiveServer, start_server
from tests.platform.helpers import truth_predictions, write_regression_bundle, zip_folder
from tests.web.test_browser import login, make_user, shot, watch_csp

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("itu-serve") / "home")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        yield chromium
        chromium.close()


def _api(server: LiveServer, token: str, method: str, path: str, **kwargs: Any) -> Any:
    with server.client(token) as client:
        response = client.request(method, path, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response.json() if response.content else None


def test_the_itu_journey_in_a_browser(live: LiveServer, browser: Any, tmp_path: Path) -> None:
    base = live.url
    for name, role in (("ana", "host"), ("bob", "host"), ("jo", "judge"), ("alice", "participant")):
        make_user(live, name, role)
    tokens = {}
    for name in ("ana", "bob", "jo", "alice"):
        with live.client() as anonymous:
            logged = anonymous.post(
                "/api/v1/auth/login", json={"username": name, "password": "password123"}
            )
        assert logged.status_code == 200, logged.text
        tokens[name] = logged.json()["token"]
    ana = tokens["ana"]
    _api(live, ana, "POST", "/api/v1/challenges", json={"slug": "fiveg", "title": "AI/ML in 5G"})
    _api(
        live,
        ana,
        "POST",
        "/api/v1/organisations",
        json={"slug": "acme", "name": "Acme", "country": "Brazil", "region": "Americas"},
    )
    _api(
        live,
        tokens["bob"],
        "POST",
        "/api/v1/organisations",
        json={"slug": "bolt", "name": "Bolt", "country": "Japan", "region": "Asia-Pacific"},
    )
    _api(
        live,
        tokens["bob"],
        "POST",
        "/api/v1/organisations/bolt/members",
        json={"username": "jo", "role": "judge"},
    )
    bundle = write_regression_bundle(tmp_path / "bundle")
    with live.client(ana) as client:
        created = client.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
    assert created.status_code == 201, created.text
    _api(
        live,
        ana,
        "POST",
        "/api/v1/challenges/fiveg/problems",
        json={"competition": "tiny", "organisation": "acme", "level": "L3"},
    )
    _api(
        live,
        ana,
        "PUT",
        "/api/v1/competitions/tiny/conditions",
        json={"terms": "Keep the data private.", "manual_approval": True},
    )
    violations: list[str] = []

    alice = watch_csp(browser.new_context().new_page(), violations)
    login(alice, base, "alice")
    alice.goto(f"{base}/challenges/fiveg")
    assert alice.locator("[data-problem=tiny]").count() == 1
    alice.fill("#reg-affiliation", "UFPA")
    alice.fill("#reg-country", "Brazil")
    with alice.expect_navigation():
        alice.click("button:has-text('Register')")
    assert "You are registered as student" in alice.locator("main").inner_text()
    shot(alice, "itu-01-challenge")
    alice.goto(f"{base}/competitions/tiny")
    alice.check("input[name=accept_terms]")
    with alice.expect_navigation():
        alice.click("button:has-text('Ask to take part')")
    assert "waits for a host" in alice.locator("[data-refusal]").inner_text()

    host = watch_csp(browser.new_context().new_page(), violations)
    login(host, base, "ana")
    host.goto(f"{base}/competitions/tiny/admissions")
    with host.expect_navigation():
        host.click("button:has-text('Admit alice')")
    assert host.locator("[data-decided=alice]").count() == 1

    alice.goto(f"{base}/competitions/tiny")
    assert alice.locator("[data-admitted]").count() == 1
    alice.click("nav.tabs >> text=Team")
    alice.fill("#team-name", "Alpha")
    alice.click("button:has-text('Create team')")
    predictions = tmp_path / "pred.csv"
    predictions.write_bytes(truth_predictions(bundle))
    alice.click("nav.tabs >> text=Submit")
    alice.set_input_files("#file", str(predictions))
    alice.check("input[name=format][value=predictions]")
    with alice.expect_navigation():
        alice.click("button:has-text('Upload')")
    alice.wait_for_selector("[data-status]:text-is('finished')", timeout=180_000)
    report = tmp_path / "report.pdf"
    report.write_bytes(PDF)
    alice.goto(f"{base}/competitions/tiny/report")
    alice.set_input_files("#r-file", str(report))
    alice.fill("#r-code", "https://git.example.org/alpha")
    with alice.expect_navigation():
        alice.click("button:has-text('Upload the report')")
    assert alice.locator("[data-report]").count() == 1

    _api(
        live,
        ana,
        "PUT",
        "/api/v1/competitions/tiny/rubric",
        json={"criteria": [{"name": "novelty", "weight": 1}], "metric_weight": 0.5},
    )
    _api(live, ana, "POST", "/api/v1/competitions/tiny/rubric/judges", json={"username": "jo"})
    judge = watch_csp(browser.new_context().new_page(), violations)
    login(judge, base, "jo")
    judge.goto(f"{base}/competitions/tiny/rubric")
    judge.fill("[data-team=Alpha] input[type=number]", "8")
    with judge.expect_navigation():
        judge.click("button:has-text('Score Alpha')")
    assert "Scored." in judge.locator("main").inner_text()
    shot(judge, "itu-02-rubric")
    judge.goto(f"{base}/competitions/tiny/standings")
    assert judge.locator("[data-standing=Alpha]").count() == 1

    team_id = _api(live, ana, "GET", "/api/v1/competitions/tiny/leaderboard")["rows"][0]["team"][
        "id"
    ]
    finalist = _api(
        live,
        ana,
        "POST",
        "/api/v1/challenges/fiveg/finalists",
        json={"competition": "tiny", "team_id": team_id},
    )
    _api(
        live,
        ana,
        "PUT",
        "/api/v1/challenges/fiveg/rubric",
        json={"criteria": [{"name": "talk", "weight": 1}]},
    )
    _api(live, ana, "POST", "/api/v1/challenges/fiveg/jury", json={"username": "jo"})
    _api(
        live,
        tokens["jo"],
        "POST",
        "/api/v1/challenges/fiveg/final-scores",
        json={"finalist_id": finalist["id"], "scores": {"talk": 9}},
    )
    _api(
        live,
        ana,
        "POST",
        "/api/v1/challenges/fiveg/awards",
        json={"name": "First prize", "prize": "3000 CHF", "finalist_id": finalist["id"]},
    )
    _api(live, ana, "POST", "/api/v1/challenges/fiveg/results/publish")

    alice.goto(f"{base}/challenges/fiveg")
    assert alice.locator("[data-finalist=Alpha]").count() == 1
    assert "First prize: 3000 CHF" in alice.locator("[data-finalist=Alpha]").inner_text()
    alice.click("text=verify >> nth=0")
    assert alice.locator("[data-certificate]").count() == 1
    shot(alice, "itu-03-certificate")
    assert violations == []

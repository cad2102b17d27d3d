"""Chromium against a real `mlchallenge serve`: host text cannot run script, and a page on another
origin of the same site cannot act with a participant's login cookie (issue 19, items 1 and 4)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import LiveServer, free_port, start_server, wait_for
from tests.platform.helpers import regression_settings, write_regression_bundle, zip_folder
from tests.web.markup import unsafe_markup
from tests.web.test_browser import CHROMIUM_ARGS, PASSWORD, login, make_user

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SCRIPT_URLS = [
    "javascript:alert('plain')",
    "JaVaScRiPt:alert('case')",
    "javascript&#58;alert('decimal')",
    "javascript&#x3A;alert('hex')",
    "javascript&colon;alert('named')",
    "&#106;avascript:alert('first letter')",
    "java&#x09;script:alert('tab')",
    "java&NewLine;script:alert('newline')",
    "&#x20;javascript:alert('space')",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YScpPC9zY3JpcHQ+",
    "vbscript:msgbox('vb')",
]
DESCRIPTION = (
    "# Rules\n\nRead [the rules][rules] before you submit.\n\n"
    + "\n".join(f"- [link {i}]({url})" for i, url in enumerate(SCRIPT_URLS))
    + "\n\n[rules]: javascript&#58;alert('reference')\n"
)
TITLE = "XSS <img src=x onerror=alert('title')>"
PHASE = "main <script>alert('phase')</script>"
TEAM = "Carol team"  # team names are letters, digits, spaces, dots and dashes
NOTE = '"><script>alert("note")</script>'


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("browser-hardening") / "home")
    try:
        yield server
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


@pytest.fixture(scope="module")
def site(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Competition `xss` whose host wrote script into every field, and carol's team in it."""
    for name, role in (("host", "host"), ("carol", "participant")):
        make_user(live, name, role)
    tokens = {}
    for name in ("host", "carol"):
        with live.client() as client:
            answer = client.post(
                "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
            )
        tokens[name] = answer.json()["token"]
    settings = regression_settings("xss", title=TITLE)
    settings["phases"][0]["name"] = PHASE
    bundle = write_regression_bundle(tmp_path_factory.mktemp("xss") / "bundle", settings=settings)
    (bundle / "description.md").write_text(DESCRIPTION, encoding="utf-8")
    with live.client(tokens["host"]) as host:
        created = host.post(
            "/api/v1/competitions",
            files={"bundle": ("b.zip", zip_folder(bundle), "application/zip")},
        )
    assert created.status_code == 201, created.text
    with live.client(tokens["carol"]) as carol:
        team = carol.post("/api/v1/competitions/xss/teams", json={"name": TEAM})
        assert team.status_code == 201, team.text
        sent = carol.post(
            "/api/v1/competitions/xss/submissions",
            files={"file": ("pred.csv", (bundle / "test_labels.csv").read_bytes())},
            data={"format": "predictions", "note": NOTE},
        )
        assert sent.status_code == 201, sent.text
        wait_for(carol, sent.json()["id"])
    return {"tokens": tokens, "team": team.json()["id"], "submission": sent.json()["id"]}


def watch(page: Any) -> list[str]:
    """Every dialog a page opens (and dismisses): script that ran."""
    opened: list[str] = []

    def dismiss(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    return opened


def test_clicking_every_link_of_a_host_description_runs_nothing(
    live: LiveServer, browser: Any, site: dict[str, Any]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    dialogs = watch(page)
    make_user(live, "root", "admin")
    login(page, live.url, "root")
    page.goto(f"{live.url}/competitions/xss")
    links = page.locator("article.description a")
    assert links.count() == len(SCRIPT_URLS) + 1
    for index in range(links.count()):
        page.goto(f"{live.url}/competitions/xss")
        page.locator("article.description a").nth(index).click(timeout=5_000)
        page.wait_for_timeout(200)
    page.goto(f"{live.url}/competitions/xss")
    assert dialogs == []
    assert page.evaluate("document.title").startswith("XSS <img")
    assert unsafe_markup(page.content()) == []
    context.close()


def test_host_text_runs_nothing_on_any_page(
    live: LiveServer, browser: Any, site: dict[str, Any]
) -> None:
    pages = {
        "host": [
            "/",
            "/competitions/xss",
            "/competitions/xss/leaderboard",
            "/competitions/xss/submissions",
            f"/submissions/{site['submission']}",
            "/competitions/xss/phases",
        ],
        "carol": [
            "/competitions/xss/team",
            "/competitions/xss/submissions",
            f"/submissions/{site['submission']}",
        ],
    }
    for user, paths in pages.items():
        context = browser.new_context()
        page = context.new_page()
        dialogs = watch(page)
        login(page, live.url, user)
        for path in paths:
            page.goto(f"{live.url}{path}")
            page.wait_for_load_state("networkidle")
            assert unsafe_markup(page.content()) == [], path
        assert dialogs == [], dialogs
        context.close()


class _AttackPage(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:  # the http.server hook
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *_: Any) -> None:
        return


def attack_page(target: str, team_id: int) -> bytes:
    """What a page on another port of the same host does with a visitor's cookies."""
    return f"""<!doctype html><title>cat pictures</title>
<form id="leave" method="post" action="{target}/api/v1/teams/{team_id}/leave"></form>
<script>
const base = {target!r};
async function attack() {{
  const form = new FormData();
  form.append("file", new Blob(["id,y\\n10000,1\\n"], {{type: "text/csv"}}), "pred.csv");
  form.append("format", "predictions");
  const options = {{method: "POST", credentials: "include", mode: "no-cors"}};
  await fetch(base + "/api/v1/competitions/xss/submissions", {{...options, body: form}})
    .catch(() => null);
  await fetch(base + "/api/v1/teams/{team_id}/leave", options).catch(() => null);
  await fetch(base + "/api/v1/auth/logout", options).catch(() => null);
  document.title = "fetched";
  document.getElementById("leave").submit();
}}
attack();
</script>""".encode()


@pytest.fixture
def attacker(live: LiveServer, site: dict[str, Any]) -> Iterator[str]:
    handler = type("Attack", (_AttackPage,), {"html": attack_page(live.url, site["team"])})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/attack.html"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_origin_cannot_use_the_login_cookie(
    live: LiveServer, browser: Any, site: dict[str, Any], attacker: str, tmp_path: Path
) -> None:
    context = browser.new_context()
    page = context.new_page()
    login(page, live.url, "carol")
    with live.client(site["tokens"]["carol"]) as carol:
        before = carol.get("/api/v1/competitions/xss/submissions").json()
    with page.expect_navigation(url=f"{live.url}/api/v1/teams/{site['team']}/leave"):
        page.goto(attacker)
    refused = page.evaluate("document.body.innerText")
    assert "another site" in refused, refused
    with live.client(site["tokens"]["carol"]) as carol:
        after = carol.get("/api/v1/competitions/xss/submissions").json()
        team = carol.get(f"/api/v1/teams/{site['team']}").json()
    assert [s["id"] for s in after] == [s["id"] for s in before]
    assert "carol" in [m["username"] for m in team["members"]]
    page.goto(f"{live.url}/")
    assert page.locator("header .who").inner_text().startswith("carol")
    context.close()

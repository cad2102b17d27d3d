"""Upload forms read their body only after the login cookie is checked, and still need the CSRF
token (the upload routes read their form themselves)."""

from __future__ import annotations

from tests.platform.helpers import truth_predictions
from tests.web.conftest import Site, csrf_of


def test_upload_forms_check_login_then_the_csrf_token(site: Site) -> None:
    anonymous = site.browser()
    to_login = anonymous.post(
        "/competitions/tiny/submit",
        files={"file": ("pred.csv", truth_predictions(site.bundle))},
        data={"format": "predictions"},
        follow_redirects=False,
    )
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login")
    alice = site.browser("alice")
    alice.get("/competitions/tiny/submit")
    forged = alice.post(
        "/competitions/tiny/submit",
        files={"file": ("pred.csv", truth_predictions(site.bundle))},
        data={"format": "predictions", "csrf_token": "0" * 64},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "expired" in forged.text
    host = site.browser("host")
    page = host.get("/host/competitions/new")
    no_token = host.post(
        "/host/competitions/bundle",
        files={"bundle": ("b.zip", b"PK")},
        headers={"origin": "http://evil.example"},
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert no_token.status_code == 403 and "another site" in no_token.text
    submissions = site.api.get(
        "/api/v1/competitions/tiny/submissions",
        headers={"Authorization": f"Bearer {site.tokens['alice']}"},
    )
    assert submissions.json() == []


def test_a_json_body_over_the_cap_is_refused_as_it_streams(site: Site) -> None:
    def body() -> object:
        yield b'{"name": "'
        for _ in range(2000):
            yield b"x" * 1024
        yield b'"}'

    response = site.api.post(
        "/api/v1/competitions/tiny/teams",
        content=body(),
        headers={
            "Authorization": f"Bearer {site.tokens['bob']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413 and "max_body_kb" in response.json()["message"]

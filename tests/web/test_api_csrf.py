"""API calls authenticated by the login cookie need the CSRF token or a same-origin Origin."""

from __future__ import annotations

import re

import pytest

from tests.platform.helpers import auth
from tests.web.conftest import Site

META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def team_post(client: object, headers: dict[str, str], name: str = "Beta") -> object:
    return client.post(  # type: ignore[attr-defined]
        "/api/v1/competitions/tiny/teams", json={"name": name}, headers=headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "http://evil.example"},
        {"origin": "http://testserver.evil.example"},
        {"origin": "null"},
        {"referer": "http://evil.example/page"},
        {"x-csrf-token": "0" * 64},
        {"origin": "http://evil.example", "x-csrf-token": "{token}"},
    ],
)
def test_cookie_alone_cannot_change_state(site: Site, headers: dict[str, str]) -> None:
    bob = site.browser("bob")
    token = META.search(bob.get("/").text).group(1)  # type: ignore[union-attr]
    sent = {k: v.format(token=token) for k, v in headers.items()}
    response = team_post(bob, sent)
    assert response.status_code == 403, response.text  # type: ignore[attr-defined]
    assert "bob" not in str(site.api.get("/api/v1/competitions/tiny").json())
    mine = bob.get("/api/v1/users/me")
    assert mine.status_code == 200 and mine.json()["username"] == "bob"


@pytest.mark.parametrize("how", ["origin", "referer", "token", "null-origin-and-token"])
def test_same_site_page_may_call_the_api_with_its_cookie(site: Site, how: str) -> None:
    bob = site.browser("bob")
    token = META.search(bob.get("/").text).group(1)  # type: ignore[union-attr]
    headers = {
        "origin": {"origin": "http://testserver"},
        "referer": {"referer": "http://testserver/competitions/tiny"},
        "token": {"x-csrf-token": token},
        "null-origin-and-token": {"origin": "null", "x-csrf-token": token},
    }[how]
    response = team_post(bob, headers)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]


def test_bearer_tokens_need_no_csrf_token(site: Site) -> None:
    response = site.api.post(
        "/api/v1/competitions/tiny/teams",
        json={"name": "Beta"},
        headers={**auth(site.tokens["bob"]), "origin": "http://evil.example"},
    )
    assert response.status_code == 201, response.text


def test_cookie_logout_over_the_api_needs_the_token_too(site: Site) -> None:
    bob = site.browser("bob")
    assert bob.post("/api/v1/auth/logout").status_code == 403
    assert bob.get("/api/v1/users/me").status_code == 200
    token = META.search(bob.get("/").text).group(1)  # type: ignore[union-attr]
    assert bob.post("/api/v1/auth/logout", headers={"x-csrf-token": token}).status_code == 204

"""The login and CSRF cookies: HttpOnly, SameSite, and Secure over HTTPS or with the setting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from challenge.api.deps import TOKEN_COOKIE
from challenge.config import Settings
from challenge.web.security import CSRF_COOKIE
from tests.platform.helpers import admin_token, create_user
from tests.web.conftest import PASSWORD, csrf_of


@pytest.fixture
def alice(app: FastAPI, settings: Any) -> str:
    return create_user(TestClient(app), admin_token(settings), "alice")


def attributes(response: httpx.Response, name: str) -> set[str]:
    """The attributes of the cookie `name` that the response sets, lower-cased."""
    found = [
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{name}=")
    ]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return {part.strip().lower() for part in found[0].split(";")[1:]}


def log_in(client: TestClient, **headers: str) -> tuple[httpx.Response, httpx.Response]:
    """Open the login page and post its form; the CSRF cookie is sent by hand, as a browser on
    that site would, since a Secure cookie is not sent back over plain http by the client."""
    page = client.get("/login", headers=headers)
    assert page.status_code == 200, page.text
    seed = page.cookies[CSRF_COOKIE]
    done = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={**headers, "cookie": f"{CSRF_COOKIE}={seed}"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return page, done


def test_cookies_over_plain_http_are_httponly_samesite_and_not_secure(
    app: FastAPI, alice: str
) -> None:
    client = TestClient(app)
    page, login = log_in(client)
    assert attributes(page, CSRF_COOKIE) >= {"httponly", "samesite=strict", "path=/"}
    assert attributes(login, TOKEN_COOKIE) >= {"httponly", "samesite=lax", "path=/"}
    assert "secure" not in attributes(page, CSRF_COOKIE)
    assert "secure" not in attributes(login, TOKEN_COOKIE)
    assert client.get("/api/v1/users/me").json()["username"] == "alice"


def test_the_setting_makes_cookies_secure_over_plain_http(
    app: FastAPI, settings: Settings, alice: str
) -> None:
    settings.secure_cookies = True
    client = TestClient(app)
    page, login = log_in(client)
    assert attributes(page, CSRF_COOKIE) >= {"secure", "httponly", "samesite=strict"}
    assert attributes(login, TOKEN_COOKIE) >= {"secure", "httponly", "samesite=lax"}


def test_https_requests_get_secure_cookies_that_still_log_in(app: FastAPI, alice: str) -> None:
    client = TestClient(app, base_url="https://testserver")
    page, login = log_in(client)
    assert attributes(page, CSRF_COOKIE) >= {"secure", "httponly", "samesite=strict"}
    assert attributes(login, TOKEN_COOKIE) >= {"secure", "httponly", "samesite=lax"}
    assert client.get("/api/v1/users/me").json()["username"] == "alice"
    home = client.get("/")
    out = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert attributes(out, TOKEN_COOKIE) >= {"secure", "httponly", "max-age=0"}
    assert TOKEN_COOKIE not in client.cookies


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_api_login_cookie_follows_the_same_rule(app: FastAPI, alice: str, scheme: str) -> None:
    client = TestClient(app, base_url=f"{scheme}://testserver")
    login = client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert attributes(login, TOKEN_COOKIE) >= {"httponly", "samesite=lax", "path=/"}
    assert ("secure" in attributes(login, TOKEN_COOKIE)) is (scheme == "https")
    token = login.json()["token"]
    out = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204, out.text
    assert attributes(out, TOKEN_COOKIE) >= {"httponly", "max-age=0"}
    assert ("secure" in attributes(out, TOKEN_COOKIE)) is (scheme == "https")


@pytest.mark.parametrize(("trusted", "secure"), [("127.0.0.1", False), ("testclient", True)])
def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(
    app: FastAPI, alice: str, trusted: str, secure: bool
) -> None:
    # uvicorn wraps the app in this middleware; it trusts 127.0.0.1 unless FORWARDED_ALLOW_IPS says
    # otherwise, and TestClient's requests come from the host "testclient"
    client = TestClient(ProxyHeadersMiddleware(app, trusted_hosts=trusted))  # type: ignore[arg-type]
    page, login = log_in(client, **{"x-forwarded-proto": "https"})
    assert ("secure" in attributes(page, CSRF_COOKIE)) is secure
    assert ("secure" in attributes(login, TOKEN_COOKIE)) is secure


def test_the_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    assert Settings(home=tmp_path).secure_cookies is False
    monkeypatch.setenv("MLCHALLENGE_SECURE_COOKIES", "true")
    assert Settings(home=tmp_path).secure_cookies is True

"""Abuse protection: rate limits on credential endpoints (memory and Redis), security headers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from challenge.app import create_app
from tests.platform.helpers import admin_token, auth, create_user

PASSWORD = "correct horse battery"
LOGIN = "/api/v1/auth/login"


def caller(app: Any, address: str | None = None) -> TestClient:
    """A client whose requests come from `address` (a fresh one by default)."""
    return TestClient(app, client=(address or f"10.0.{uuid.uuid4().hex[:6]}", 40000))


def assert_limited(response: Any, what: str) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        assert body["error"] == "rate_limited" and body["detail"]["retry_after"] == retry_after
        message = body["message"]
    else:
        message = response.text
    assert what in message and re.search(r"retry in \d+ s, at \d\d:\d\d:\d\d UTC", message)
    return retry_after


def test_login_is_limited_per_address_and_per_username(app: Any, settings: Any) -> None:
    api = caller(app)
    create_user(api, admin_token(settings), "alice")
    attempts = [
        api.post(LOGIN, json={"username": "alice", "password": "wrong"}).status_code
        for _ in range(10)
    ]
    assert attempts == [401] * 10
    # the right password does not get past the limit either
    blocked = api.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert_limited(blocked, "login attempts from your address")
    assert (
        caller(app).post(LOGIN, json={"username": "alice", "password": PASSWORD}).status_code == 200
    )
    # spread over many addresses, one account still gets 30 guesses an hour
    for _ in range(19):  # 11 counted so far
        guess = caller(app).post(LOGIN, json={"username": "alice", "password": "wrong"})
        assert guess.status_code == 401
    spread = caller(app).post(LOGIN, json={"username": "Alice ", "password": PASSWORD})
    assert_limited(spread, "login attempts for this username")


def test_the_web_login_form_says_when_to_retry(app: Any, settings: Any) -> None:
    browser = caller(app)
    create_user(browser, admin_token(settings), "bob")
    page = browser.get("/login").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token is not None
    form = {"username": "bob", "password": "nope", "csrf_token": token.group(1), "next": "/"}
    codes = [browser.post("/login", data=form).status_code for _ in range(10)]
    assert codes == [401] * 10
    limited = browser.post("/login", data=form)
    assert "text/html" in limited.headers["content-type"]
    assert_limited(limited, "login attempts from your address")


def test_token_issuing_is_limited(app: Any, settings: Any) -> None:
    admin = caller(app)
    token = admin_token(settings)
    for number in range(30):
        create_user(admin, token, f"user{number}")
    refused = admin.post(
        "/api/v1/users",
        json={"username": "one_more", "email": "x@example.org", "password": PASSWORD},
        headers=auth(token),
    )
    assert_limited(refused, "requests for new tokens")


def test_redis_counters_are_shared_by_every_api_process(settings: Any, tmp_path: Path) -> None:
    shared = settings.model_copy(
        update={"rate_limit_storage": "redis://127.0.0.1:6379/0", "rate_limit_login": "3/minute"}
    )
    first, second = create_app(shared), create_app(shared)  # two API processes, one Redis
    assert first.state.rate_limiter.uri.startswith("redis://")
    address = f"redis-test-{uuid.uuid4().hex}"
    body = {"username": "nobody", "password": "wrong"}
    codes = [caller(app, address).post(LOGIN, json=body).status_code for app in (first, second)]
    codes.append(caller(first, address).post(LOGIN, json=body).status_code)
    assert codes == [401, 401, 401]
    assert_limited(caller(second, address).post(LOGIN, json=body), "login attempts")
    from_broker = settings.model_copy(update={"broker_url": "redis://127.0.0.1:6379/0"})
    assert create_app(from_broker).state.rate_limiter.uri == "redis://127.0.0.1:6379/0"
    assert create_app(settings).state.rate_limiter.uri == "memory://"


def test_security_headers(client: TestClient) -> None:
    page = client.get("/login")
    policy = page.headers["content-security-policy"]
    for rule in ("default-src 'self'", "script-src 'self'", "style-src 'self'"):
        assert rule in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    for response in (page, client.get("/api/v1/health"), client.get("/static/style.css")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
    docs = client.get("/docs")
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_templates_have_no_inline_script_or_style() -> None:
    templates = Path(__file__).resolve().parents[2] / "challenge" / "web" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text, re.IGNORECASE), template.name

"""Getting in on the web: sign-up, serve's login link, account page, forgotten passwords,
the admin's users page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from challenge.accounts import links
from challenge.accounts import service as accounts
from challenge.config import Registration, SmtpSecurity
from challenge.db.session import transaction
from tests.platform.helpers import admin_token, create_user
from tests.platform.mailbox import link_in, smtp_server
from tests.web.conftest import PASSWORD, csrf_of


@pytest.fixture(autouse=True)
def _no_rate_limits(app: FastAPI) -> None:
    app.state.rate_limiter.enabled = False


def post(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def log_in(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    browser = TestClient(app)
    done = post(browser, "/login", "/login", {"username": username, "password": password})
    assert done.status_code == 303, done.text
    return browser


def test_sign_up_and_land_logged_in(app: FastAPI) -> None:
    browser = TestClient(app)
    assert 'href="/signup"' in browser.get("/").text
    bad = post(browser, "/signup", "/signup", {"username": "n", "email": "x", "password": "s"})
    assert bad.status_code == 422 and "username" in bad.text
    made = post(
        browser,
        "/signup",
        "/signup",
        {"username": "newbie", "email": "newbie@example.org", "password": PASSWORD},
    )
    assert made.status_code == 303
    assert browser.get("/api/v1/users/me").json()["role"] == "participant"
    assert "newbie" in browser.get("/").text


def test_sign_up_page_says_when_closed_or_invite_only(app: FastAPI, settings: Any) -> None:
    browser = TestClient(app)
    settings.registration = Registration.CLOSED
    assert 'id="signup-closed"' in browser.get("/signup").text
    settings.registration = Registration.INVITE
    assert 'id="signup-invite-only"' in browser.get("/signup").text
    refused = post(
        browser,
        "/signup?invite=x",
        "/signup",
        {"username": "sneaky", "email": "s@example.org", "password": PASSWORD},
    )
    assert refused.status_code == 403 and "invitation" in refused.text


def test_serve_login_link_logs_the_admin_in_once(app: FastAPI, settings: Any) -> None:
    with transaction(settings.database_url) as session:
        admin, _ = accounts.ensure_admin(session)
        _, secret = links.login_link(session, user=admin, lifetime=timedelta(minutes=5))
    browser = TestClient(app)
    page = browser.get(f"/login/link/{secret}")
    assert page.status_code == 200 and "logs you in once" in page.text
    assert browser.get("/api/v1/users/me").status_code == 401  # the GET used nothing
    short = post(browser, f"/login/link/{secret}", f"/login/link/{secret}", {"password": "x"})
    assert short.status_code == 400 and "too short" in short.text
    done = post(
        browser, f"/login/link/{secret}", f"/login/link/{secret}", {"password": "admin pw 123"}
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/account")
    assert browser.get("/api/v1/users/me").json()["username"] == "admin"
    again = TestClient(app).get(f"/login/link/{secret}")
    assert again.status_code == 404 and "used or expired" in again.text
    log_in(app, "admin", "admin pw 123")


def test_account_page_password_and_tokens(client: TestClient, app: FastAPI, settings: Any) -> None:
    create_user(client, admin_token(settings), "ann")
    browser = log_in(app, "ann")
    page = browser.get("/account")
    assert page.status_code == 200 and "ann@example.org" in page.text
    made = post(browser, "/account", "/account/tokens", {"name": "laptop", "expires_in_days": "7"})
    assert made.status_code == 201 and 'id="new-token"' in made.text
    secret = made.text.split('id="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"}).json()[
            "username"
        ]
        == "ann"
    )
    listing = browser.get("/account").text
    assert "laptop" in listing and secret not in listing
    token_id = listing.split('data-token="')[1].split('"')[0]
    revoked = post(browser, "/account", f"/account/tokens/{token_id}/revoke", {})
    assert revoked.status_code == 303
    wrong = post(
        browser,
        "/account",
        "/account/password",
        {"current_password": "bad", "new_password": "another long one"},
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    changed = post(
        browser,
        "/account",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "another long one"},
    )
    assert changed.status_code == 303
    log_in(app, "ann", "another long one")


def test_forgotten_password_by_email(client: TestClient, app: FastAPI, settings: Any) -> None:
    create_user(client, admin_token(settings), "bea")
    browser = TestClient(app)
    assert "sends no email" in browser.get("/password/forgot").text
    with smtp_server() as (mailbox, port):
        settings.smtp_host, settings.smtp_port = "127.0.0.1", port
        settings.smtp_security = SmtpSecurity.NONE
        sent = post(browser, "/password/forgot", "/password/forgot", {"email": "bea@example.org"})
        assert sent.status_code == 200 and 'id="reset-sent"' in sent.text
        (message,) = mailbox.wait(1)
    secret = link_in(message, "/password/reset/")
    form = f"/password/reset/{secret}"
    done = post(browser, form, form, {"password": "bea new password"})
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    log_in(app, "bea", "bea new password")


def test_admin_users_page(client: TestClient, app: FastAPI, settings: Any) -> None:
    admin = admin_token(settings)
    for index in range(30):
        create_user(client, admin, f"p{index:02d}")
    with transaction(settings.database_url) as session:
        user = accounts.get_by_username(session, username="admin")
        assert user is not None
        from challenge.accounts.security import hash_password

        user.password_hash = hash_password(PASSWORD)
    browser = log_in(app, "admin")
    first = browser.get("/admin/users")
    assert "31 users" in first.text and "Page 1 of 2" in first.text
    found = browser.get("/admin/users", params={"q": "p07"})
    assert "1 user matching" in found.text and 'data-user="p07"' in found.text
    user_id = found.text.split('action="/admin/users/')[1].split('"')[0]
    promoted = post(browser, "/admin/users", f"/admin/users/{user_id}", {"role": "host"})
    assert promoted.status_code == 303
    off = post(browser, "/admin/users", f"/admin/users/{user_id}", {"active": "no"})
    assert off.status_code == 303
    refused = client.post("/api/v1/auth/login", json={"username": "p07", "password": PASSWORD})
    assert refused.status_code == 403
    reset = post(browser, "/admin/users", f"/admin/users/{user_id}/reset-link", {})
    assert reset.status_code == 201 and "/password/reset/" in reset.text
    invited = post(browser, "/admin/users", "/admin/invitations", {"role": "judge"})
    assert invited.status_code == 201 and "/signup?invite=" in invited.text
    participant = log_in(app, "p01")
    assert participant.get("/admin/users").status_code == 403

"""Getting in without an admin's help: sign-up, invitations, passwords, named tokens, users."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from challenge.accounts.models import ApiToken
from challenge.config import Registration, SmtpSecurity
from challenge.db.base import utcnow
from challenge.db.session import transaction
from tests.platform.helpers import admin_token, auth, create_user
from tests.platform.mailbox import link_in, smtp_server

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _no_rate_limits(client: TestClient) -> None:
    client.app.state.rate_limiter.enabled = False  # type: ignore[attr-defined]


@pytest.fixture
def smtp(settings: Any) -> Iterator[Any]:
    with smtp_server() as (mailbox, port):
        settings.smtp_host, settings.smtp_port = "127.0.0.1", port
        settings.smtp_security = SmtpSecurity.NONE
        yield mailbox


def register(client: TestClient, name: str, **extra: Any) -> Any:
    body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD, **extra}
    return client.post("/api/v1/auth/register", json=body)


def test_open_registration_makes_participants(client: TestClient, settings: Any) -> None:
    assert settings.sign_up is Registration.OPEN  # the embedded default
    made = register(client, "newcomer")
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    me = client.get("/api/v1/users/me", headers=auth(token)).json()
    assert me["username"] == "newcomer" and me["role"] == "participant"
    assert register(client, "newcomer").status_code == 409
    bad = register(client, "x", password="short")
    assert bad.status_code == 422


def test_production_closes_registration_by_default() -> None:
    from challenge.config import Mode, Settings

    production = Settings(mode=Mode.PRODUCTION, secret_key="s" * 40)
    assert production.sign_up is Registration.CLOSED
    assert Settings(mode=Mode.PRODUCTION, secret_key="s" * 40, registration="open").sign_up == (
        Registration.OPEN
    )


def test_closed_and_invite_only_say_why(client: TestClient, settings: Any) -> None:
    settings.registration = Registration.CLOSED
    closed = register(client, "shut")
    assert closed.status_code == 403 and "closed" in closed.json()["message"]
    settings.registration = Registration.INVITE
    invite_only = register(client, "shut")
    assert invite_only.status_code == 403 and "invitation" in invite_only.json()["message"]
    settings.registration = Registration.CLOSED
    admin = admin_token(settings)
    no_invites = client.post("/api/v1/invitations", json={}, headers=auth(admin))
    assert no_invites.status_code == 409 and "users create" in no_invites.json()["message"]


def test_invitation_sets_the_role_and_works_once(client: TestClient, settings: Any) -> None:
    settings.registration = Registration.INVITE
    admin = admin_token(settings)
    participant = create_user(client, admin, "pat")
    assert client.post("/api/v1/invitations", json={}, headers=auth(participant)).status_code == 403
    made = client.post("/api/v1/invitations", json={"role": "host"}, headers=auth(admin))
    assert made.status_code == 201 and made.json()["emailed"] is False
    secret = made.json()["url"].split("invite=")[1]
    joined = register(client, "hosty", invite=secret)
    assert joined.status_code == 201, joined.text
    assert joined.json()["user"]["role"] == "host"
    again = register(client, "hosty2", invite=secret)
    assert again.status_code == 404 and "used or expired" in again.json()["message"]


def test_invitation_by_email(client: TestClient, settings: Any, smtp: Any) -> None:
    settings.registration = Registration.INVITE
    admin = admin_token(settings)
    made = client.post(
        "/api/v1/invitations",
        json={"email": "judy@example.org", "role": "judge"},
        headers=auth(admin),
    )
    assert made.json()["emailed"] is True
    (message,) = smtp.wait(1)
    assert message["To"] == "judy@example.org"
    secret = link_in(message, "/signup?invite=")
    wrong = register(client, "judy", invite=secret, email="other@example.org")
    assert wrong.status_code == 400 and "judy@example.org" in wrong.json()["message"]
    ok = register(client, "judy", invite=secret, email="judy@example.org")
    assert ok.status_code == 201 and ok.json()["user"]["role"] == "judge"


def test_password_change(client: TestClient, settings: Any) -> None:
    token = create_user(client, admin_token(settings), "changer")
    wrong = client.post(
        "/api/v1/auth/password",
        json={"current_password": "nope", "new_password": "a new long one"},
        headers=auth(token),
    )
    assert wrong.status_code == 400 and "current password" in wrong.json()["message"]
    ok = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a new long one"},
        headers=auth(token),
    )
    assert ok.status_code == 204
    login = client.post(
        "/api/v1/auth/login", json={"username": "changer", "password": "a new long one"}
    )
    assert login.status_code == 200


def test_password_reset_by_email(client: TestClient, settings: Any, smtp: Any) -> None:
    old = create_user(client, admin_token(settings), "forgetful")
    asked = client.post("/api/v1/auth/password-reset", json={"email": "forgetful@example.org"})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.org"})
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()  # does not tell which addresses have accounts
    (message,) = smtp.wait(1)
    secret = link_in(message, "/password/reset/")
    done = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": secret, "password": "brand new pw"}
    )
    assert done.status_code == 204
    assert client.get("/api/v1/users/me", headers=auth(old)).status_code == 401  # revoked
    again = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": secret, "password": "another pw"}
    )
    assert again.status_code == 404
    login = client.post(
        "/api/v1/auth/login", json={"username": "forgetful", "password": "brand new pw"}
    )
    assert login.status_code == 200


def test_reset_link_from_an_admin_without_email(client: TestClient, settings: Any) -> None:
    admin = admin_token(settings)
    create_user(client, admin, "lost")
    said = client.post("/api/v1/auth/password-reset", json={"email": "lost@example.org"})
    assert said.status_code == 202 and "ask an admin" in said.json()["message"]
    users = client.get("/api/v1/users", params={"q": "lost"}, headers=auth(admin)).json()
    user_id = users["items"][0]["id"]
    link = client.post(f"/api/v1/users/{user_id}/reset-link", headers=auth(admin))
    assert link.status_code == 201
    secret = link.json()["url"].rsplit("/", 1)[1]
    done = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": secret, "password": "found again"}
    )
    assert done.status_code == 204


def test_expired_reset_link_is_refused(client: TestClient, settings: Any) -> None:
    from challenge.accounts.models import OneTimeLink

    admin = admin_token(settings)
    create_user(client, admin, "slow")
    user_id = client.get("/api/v1/users", params={"q": "slow"}, headers=auth(admin)).json()[
        "items"
    ][0]["id"]
    secret = (
        client.post(f"/api/v1/users/{user_id}/reset-link", headers=auth(admin))
        .json()["url"]
        .rsplit("/", 1)[1]
    )
    with transaction(settings.database_url) as session:
        session.execute(update(OneTimeLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": secret, "password": "too late now"}
    )
    assert late.status_code == 404 and "expired" in late.json()["message"]


def test_named_tokens(client: TestClient, settings: Any) -> None:
    token = create_user(client, admin_token(settings), "tokened")
    made = client.post(
        "/api/v1/users/me/tokens",
        json={"name": "laptop", "expires_in_days": 30},
        headers=auth(token),
    )
    assert made.status_code == 201
    laptop = made.json()
    assert laptop["token"].startswith("mlc_") and laptop["expires_at"]
    assert client.get("/api/v1/users/me", headers=auth(laptop["token"])).status_code == 200
    listed = client.get("/api/v1/users/me/tokens", headers=auth(token)).json()
    assert {row["name"] for row in listed} == {"default", "laptop"}
    assert all("token" not in row for row in listed)
    gone = client.delete(f"/api/v1/users/me/tokens/{laptop['id']}", headers=auth(token))
    assert gone.status_code == 204
    assert client.get("/api/v1/users/me", headers=auth(laptop["token"])).status_code == 401
    other = create_user(client, admin_token(settings), "other")
    mine = client.get("/api/v1/users/me/tokens", headers=auth(token)).json()[0]["id"]
    assert client.delete(f"/api/v1/users/me/tokens/{mine}", headers=auth(other)).status_code == 404


def test_expired_token_says_so(client: TestClient, settings: Any) -> None:
    token = create_user(client, admin_token(settings), "expiring")
    with transaction(settings.database_url) as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = client.get("/api/v1/users/me", headers=auth(token))
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_admin_lists_searches_pages_and_changes_users(client: TestClient, settings: Any) -> None:
    admin = admin_token(settings)
    for index in range(5):
        create_user(client, admin, f"member_{index}")
    create_user(client, admin, "memberXone")
    page = client.get(
        "/api/v1/users", params={"q": "MEMBER_", "per_page": 2, "page": 2}, headers=auth(admin)
    ).json()
    assert page["total"] == 5 and page["page"] == 2 and len(page["items"]) == 2
    assert [u["username"] for u in page["items"]] == ["member_2", "member_3"]
    everyone = client.get("/api/v1/users", headers=auth(admin)).json()
    assert everyone["total"] == 7  # with the admin
    target = page["items"][0]["id"]
    promoted = client.patch(f"/api/v1/users/{target}", json={"role": "judge"}, headers=auth(admin))
    assert promoted.json()["role"] == "judge"
    off = client.patch(f"/api/v1/users/{target}", json={"is_active": False}, headers=auth(admin))
    assert off.json()["is_active"] is False
    login = client.post("/api/v1/auth/login", json={"username": "member_2", "password": PASSWORD})
    assert login.status_code == 403 and "deactivated" in login.json()["message"]
    me = client.get("/api/v1/users/me", headers=auth(admin)).json()["id"]
    self_demote = client.patch(f"/api/v1/users/{me}", json={"role": "host"}, headers=auth(admin))
    assert self_demote.status_code == 400
    bad = client.patch(f"/api/v1/users/{target}", json={"role": "king"}, headers=auth(admin))
    assert bad.status_code == 422
    participant = create_user(client, admin, "nosy")
    assert client.get("/api/v1/users", headers=auth(participant)).status_code == 403

"""Users, roles, tokens stored hashed, password login."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from challenge.accounts.models import ApiToken, User
from challenge.accounts.security import hash_token
from challenge.db.session import transaction
from tests.platform.helpers import admin_token, auth, create_user


def test_admin_creates_users_with_roles(client: TestClient, settings: Any) -> None:
    admin = admin_token(settings)
    for role in ("host", "judge", "participant", "admin"):
        token = create_user(client, admin, f"user-{role}", role)
        me = client.get("/api/v1/users/me", headers=auth(token)).json()
        assert me["role"] == role and me["username"] == f"user-{role}"


def test_only_admins_create_users(client: TestClient, settings: Any) -> None:
    participant = create_user(client, admin_token(settings), "pat")
    response = client.post(
        "/api/v1/users",
        json={"username": "x1", "email": "x1@e.org", "password": "longenough", "role": "admin"},
        headers=auth(participant),
    )
    assert response.status_code == 403
    assert "admin" in response.json()["message"]


def test_tokens_and_passwords_are_stored_hashed(client: TestClient, settings: Any) -> None:
    token = create_user(client, admin_token(settings), "hashme")
    with transaction(settings.database_url) as session:
        user = session.scalar(select(User).where(User.username == "hashme"))
        assert user is not None
        assert "correct horse" not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
        stored = session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user.id))
        assert list(stored) == [hash_token(token)]


def test_login_with_password(client: TestClient, settings: Any) -> None:
    create_user(client, admin_token(settings), "logme")
    ok = client.post(
        "/api/v1/auth/login", json={"username": "logme", "password": "correct horse battery"}
    )
    assert ok.status_code == 200
    assert client.get("/api/v1/users/me", headers=auth(ok.json()["token"])).status_code == 200
    bad = client.post("/api/v1/auth/login", json={"username": "logme", "password": "nope"})
    assert bad.status_code == 401 and "wrong username or password" in bad.json()["message"]


def test_bad_credentials_are_401(client: TestClient) -> None:
    assert client.get("/api/v1/users/me").status_code == 401
    assert client.get("/api/v1/users/me", headers=auth("mlc_unknown")).status_code == 401
    wrong_scheme = client.get("/api/v1/users/me", headers={"Authorization": "Basic abc"})
    assert wrong_scheme.status_code == 401
    assert "Bearer" in wrong_scheme.json()["message"]


def test_duplicate_and_invalid_users(client: TestClient, settings: Any) -> None:
    admin = admin_token(settings)
    create_user(client, admin, "dupe")
    again = client.post(
        "/api/v1/users",
        json={"username": "dupe", "email": "other@e.org", "password": "longenough"},
        headers=auth(admin),
    )
    assert again.status_code == 409 and "taken" in again.json()["message"]
    invalid = client.post(
        "/api/v1/users",
        json={"username": "a b", "email": "nope", "password": "x", "role": "king"},
        headers=auth(admin),
    )
    assert invalid.status_code == 422
    message = invalid.json()["message"]
    for field in ("username", "email", "password", "role"):
        assert field in message


def test_logout_revokes_the_token(client: TestClient, settings: Any) -> None:
    token = create_user(client, admin_token(settings), "leaver")
    assert client.post("/api/v1/auth/logout", headers=auth(token)).status_code == 204
    after = client.get("/api/v1/users/me", headers=auth(token))
    assert after.status_code == 401 and "revoked" in after.json()["message"]


def test_nul_bytes_are_a_client_error(client: TestClient, settings: Any) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "\x00", "password": "x"})
    assert response.status_code in (401, 422)
    missing = client.get("/api/v1/competitions/a%00b")
    assert missing.status_code in (404, 422)

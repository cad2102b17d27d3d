"""Accounts: create users, authenticate by token or password, issue tokens."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import ApiToken, Role, User
from challenge.accounts.security import (
    hash_password,
    hash_token,
    new_token,
    verify_password_or_dummy,
)
from challenge.db.base import utcnow
from challenge.errors import Conflict, Forbidden, NotFound, Unauthenticated


def get(session: Session, *, user_id: int) -> User | None:
    """The user with this id, if any."""
    return session.get(User, user_id)


def get_or_raise(session: Session, *, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = get(session, user_id=user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def get_by_username(session: Session, *, username: str) -> User | None:
    """The user with this username, if any."""
    return session.scalar(select(User).where(User.username == username))


def create(
    session: Session, *, username: str, email: str, password: str, role: Role
) -> tuple[User, str]:
    """Create a user and its first API token; returns both (the token in clear, once)."""
    if get_by_username(session, username=username) is not None:
        raise Conflict(f"username {username!r} is taken; choose another")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"email {email!r} is already registered")
    user = User(username=username, email=email, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user, issue_token(session, user=user)


def issue_token(
    session: Session, *, user: User, name: str = "default", expires_at: datetime | None = None
) -> str:
    """A new API token for the user (optionally expiring)."""
    token = new_token()
    session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, expires_at=expires_at)
    )
    session.flush()
    return token


def authenticate_token(session: Session, *, token: str) -> User:
    """The active user holding this token, or Unauthenticated."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.is_active:
        raise Unauthenticated(
            "unknown or revoked API token; log in again (`mlchallenge login`, or the page "
            "/login) or ask an admin for a token"
        )
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Unauthenticated(
            f"this API token ({row.name!r}) expired on {row.expires_at:%Y-%m-%d %H:%M} UTC; "
            "make a new one on the page /account or with `mlchallenge login`"
        )
    return row.user


def revoke_token(session: Session, *, token: str) -> None:
    """Revoke a token (logging out); an unknown token is ignored."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def login(
    session: Session, *, username: str, password: str, token_name: str = "web"
) -> tuple[User, str]:
    """Check a password and issue a token (named `web` for the web session)."""
    user = get_by_username(session, username=username)
    matches = verify_password_or_dummy(user.password_hash if user else None, password)
    if user is None or not matches:
        raise Unauthenticated("wrong username or password")
    if not user.is_active:
        raise Forbidden("this account is deactivated; ask an admin to reactivate it")
    return user, issue_token(session, user=user, name=token_name)


def require_role(user: User, *roles: Role) -> None:
    """Raise Forbidden unless the user has one of the roles (admins always pass)."""
    if user.role is Role.ADMIN or user.role in roles:
        return
    allowed = ", ".join(r.value for r in roles)
    raise Forbidden(f"this needs the role {allowed}; you are {user.role.value}")


def ensure_admin(session: Session, *, username: str = "admin") -> tuple[User, str]:
    """The admin user, created with a random password if missing, and a fresh token."""
    user = get_by_username(session, username=username)
    if user is None:
        user, token = create(
            session,
            username=username,
            email=f"{username}@localhost",
            password=secrets.token_urlsafe(18),
            role=Role.ADMIN,
        )
        return user, token
    return user, issue_token(session, user=user, name="serve")

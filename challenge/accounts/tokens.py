"""Named API tokens a user makes, sees once, lists and revokes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import ApiToken, User
from challenge.accounts.security import hash_token
from challenge.db.base import utcnow
from challenge.errors import NotFound

MAX_DAYS = 3650


def create(
    session: Session, *, user: User, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new named token, optionally expiring after some days; the clear token is shown once."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    secret = accounts.issue_token(session, user=user, name=name.strip(), expires_at=expires_at)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).one()
    return row, secret


def get_all(session: Session, *, user: User) -> list[ApiToken]:
    """The user's tokens that still work (not revoked, not expired), newest first."""
    now = utcnow()
    rows = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc())
    )
    return [row for row in rows if row.expires_at is None or row.expires_at > now]


def revoke(session: Session, *, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens by id."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"you have no token {token_id}; list yours on the page /account")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row

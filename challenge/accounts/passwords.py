"""Changing and resetting passwords."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.accounts import links
from challenge.accounts import service as accounts
from challenge.accounts.models import ApiToken, LinkKind, OneTimeLink, Role, User
from challenge.accounts.security import hash_password, verify_password
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.errors import BadRequest
from challenge.mail import send_after_commit

MIN_LENGTH = 8


def check_new(password: str) -> None:
    """Refuse a password that is too short."""
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"the new password is too short; use at least {MIN_LENGTH} characters")


def change(session: Session, *, user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise BadRequest("the current password is wrong; type it again")
    check_new(new)
    user.password_hash = hash_password(new)
    session.flush()


def set_password(session: Session, *, user: User, new: str) -> None:
    """Set a password without the current one (right after a one-time login link)."""
    check_new(new)
    user.password_hash = hash_password(new)
    session.flush()


def request_reset(session: Session, *, settings: Settings, email: str, base_url: str) -> bool:
    """Email a reset link to the account with this address; True when email is configured.

    The answer is the same whether or not the address has an account, so it does not tell
    which addresses are registered.
    """
    if not settings.mail_enabled:
        return False
    user = session.scalar(select(User).where(User.email == email.strip()))
    if user is None or not user.is_active:
        return True
    link, secret = links.issue(
        session,
        kind=LinkKind.RESET,
        lifetime=timedelta(minutes=settings.reset_link_minutes),
        user=user,
    )
    send_after_commit(
        session,
        settings,
        to=user.email,
        subject="Reset your mlchallenge password",
        body=(
            f"Someone (hopefully you) asked to reset the password of {user.username}.\n\n"
            f"Open this link to choose a new one (it works once, until "
            f"{link.expires_at:%Y-%m-%d %H:%M} UTC):\n\n"
            f"{links.url(base_url, LinkKind.RESET, secret)}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n"
        ),
    )
    return True


def reset_link(
    session: Session, *, settings: Settings, admin: User, user: User, base_url: str
) -> tuple[OneTimeLink, str]:
    """A reset link an admin hands to the user (when no email is configured)."""
    accounts.require_role(admin, Role.ADMIN)
    link, secret = links.issue(
        session,
        kind=LinkKind.RESET,
        lifetime=timedelta(minutes=settings.reset_link_minutes),
        user=user,
        created_by=admin,
    )
    return link, links.url(base_url, LinkKind.RESET, secret)


def reset(session: Session, *, secret: str, new: str) -> User:
    """Set the password of a reset link's user and revoke every token of theirs."""
    check_new(new)
    link = links.use(session, kind=LinkKind.RESET, secret=secret)
    user = accounts.get_or_raise(session, user_id=link.user_id or 0)
    user.password_hash = hash_password(new)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return user

"""One-time links: log in once, reset a password, accept an invitation.

A link's secret is shown once (in a URL) and stored as its SHA-256. Using it is a conditional
update (`used_at` still empty, not expired), so two clicks on one link succeed once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.accounts.models import LinkKind, OneTimeLink, Role, User
from challenge.accounts.security import hash_token, new_token
from challenge.db.base import utcnow
from challenge.errors import Forbidden, NotFound

PATHS = {
    LinkKind.LOGIN: "/login/link/",
    LinkKind.RESET: "/password/reset/",
    LinkKind.INVITE: "/signup?invite=",
}
"""Where each kind of link leads on the web (followed by the secret)."""

_WHAT = {
    LinkKind.LOGIN: "login link",
    LinkKind.RESET: "password reset link",
    LinkKind.INVITE: "invitation",
}
_NEXT = {
    LinkKind.LOGIN: "restart `mlchallenge serve` for a new one, or log in with your password",
    LinkKind.RESET: "ask for a new one on the page /password/forgot, or ask an admin",
    LinkKind.INVITE: "ask whoever invited you for a new invitation",
}


def issue(
    session: Session,
    *,
    kind: LinkKind,
    lifetime: timedelta,
    user: User | None = None,
    email: str | None = None,
    role: Role | None = None,
    created_by: User | None = None,
) -> tuple[OneTimeLink, str]:
    """A new link and its secret (in clear, once)."""
    secret = new_token()
    link = OneTimeLink(
        kind=kind,
        token_hash=hash_token(secret),
        user_id=user.id if user else None,
        email=email,
        role=role,
        created_by_id=created_by.id if created_by else None,
        expires_at=utcnow() + lifetime,
    )
    session.add(link)
    session.flush()
    return link, secret


def url(base: str, kind: LinkKind, secret: str) -> str:
    """The web address of a link."""
    return base.rstrip("/") + PATHS[kind] + secret


def peek(session: Session, *, kind: LinkKind, secret: str) -> OneTimeLink:
    """The unused, unexpired link with this secret (without using it), or NotFound."""
    link = session.scalar(
        select(OneTimeLink).where(
            OneTimeLink.token_hash == hash_token(secret), OneTimeLink.kind == kind
        )
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise NotFound(f"this {_WHAT[kind]} is unknown, used or expired; {_NEXT[kind]}")
    return link


def use(session: Session, *, kind: LinkKind, secret: str) -> OneTimeLink:
    """Mark the link used and return it; NotFound if it is unknown, used or expired."""
    link = peek(session, kind=kind, secret=secret)
    now = utcnow()
    claimed = session.execute(
        update(OneTimeLink)
        .where(
            OneTimeLink.id == link.id,
            OneTimeLink.used_at.is_(None),
            OneTimeLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise NotFound(f"this {_WHAT[kind]} is unknown, used or expired; {_NEXT[kind]}")
    session.refresh(link)
    return link


def login_link(session: Session, *, user: User, lifetime: timedelta) -> tuple[OneTimeLink, str]:
    """A link that logs `user` in on the web once (what `mlchallenge serve` prints)."""
    return issue(session, kind=LinkKind.LOGIN, lifetime=lifetime, user=user)


def log_in(session: Session, *, secret: str) -> tuple[User, str]:
    """Use a login link: its active user and a new web token."""
    from challenge.accounts import service as accounts

    link = use(session, kind=LinkKind.LOGIN, secret=secret)
    user = accounts.get_or_raise(session, user_id=link.user_id or 0)
    if not user.is_active:
        raise Forbidden("this account is deactivated; ask an admin to reactivate it")
    return user, accounts.issue_token(session, user=user, name="web")

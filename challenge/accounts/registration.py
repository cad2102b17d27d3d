"""Signing up: open registration, invitations, and the policy that governs both."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from challenge.accounts import links
from challenge.accounts import service as accounts
from challenge.accounts.models import LinkKind, OneTimeLink, Role, User
from challenge.config import Registration, Settings
from challenge.errors import BadRequest, Conflict, Forbidden
from challenge.mail import send_after_commit


def register(
    session: Session,
    *,
    settings: Settings,
    username: str,
    email: str,
    password: str,
    invite: str | None = None,
) -> tuple[User, str]:
    """Make an account as the registration policy allows; returns the user and a token.

    `open`: anyone, as a participant (an invitation, if given, still sets the role).
    `invite`: only with an unused invitation. `closed`: nobody (an admin makes accounts).
    """
    policy = settings.sign_up
    if policy is Registration.CLOSED:
        raise Forbidden(
            "registration is closed on this server; ask an admin to make your account "
            "(`mlchallenge users create`)"
        )
    invitation: OneTimeLink | None = None
    if invite:
        invitation = links.use(session, kind=LinkKind.INVITE, secret=invite)
    elif policy is Registration.INVITE:
        raise Forbidden(
            "registration on this server is by invitation only; ask an admin for an invitation "
            "link and open it to sign up"
        )
    if invitation is not None and invitation.email and invitation.email.lower() != email.lower():
        raise BadRequest(
            f"this invitation was sent to {invitation.email}; sign up with that address"
        )
    role = invitation.role if invitation is not None and invitation.role else Role.PARTICIPANT
    return accounts.create(session, username=username, email=email, password=password, role=role)


def invite(
    session: Session,
    *,
    settings: Settings,
    inviter: User,
    base_url: str,
    role: Role = Role.PARTICIPANT,
    email: str | None = None,
) -> tuple[OneTimeLink, str, bool]:
    """An invitation link (admins only); emailed when an address is given and SMTP is set.

    Returns the link, its URL and whether an email is on its way.
    """
    accounts.require_role(inviter, Role.ADMIN)
    if settings.sign_up is Registration.CLOSED:
        raise Conflict(
            "registration is closed on this server, so an invitation could not be used; set "
            "MLCHALLENGE_REGISTRATION=invite, or make the account with `mlchallenge users create`"
        )
    link, secret = links.issue(
        session,
        kind=LinkKind.INVITE,
        lifetime=timedelta(days=settings.invite_days),
        email=email,
        role=role,
        created_by=inviter,
    )
    address = links.url(base_url, LinkKind.INVITE, secret)
    mailed = bool(email) and settings.mail_enabled
    if email and mailed:
        send_after_commit(
            session,
            settings,
            to=email,
            subject="Your invitation to mlchallenge",
            body=(
                f"{inviter.username} invites you to join mlchallenge as a {role.value}.\n\n"
                f"Open this link to choose a username and password (it works once, until "
                f"{link.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{address}\n"
            ),
        )
    return link, address, mailed

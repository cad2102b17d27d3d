"""Send, list and read notifications; email them unless the user muted the kind."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.mail import send_after_commit
from challenge.notifications.models import EmailOptOut, Notification, NotificationKind
from challenge.teams.models import Team, TeamMember


def notify(
    session: Session,
    *,
    settings: Settings,
    user_ids: Iterable[int],
    kind: NotificationKind,
    title: str,
    body: str = "",
    link: str = "",
) -> int:
    """Add a notification for each user; email those who did not mute the kind (after commit).

    Returns how many were added."""
    ids = sorted(set(user_ids))
    for user_id in ids:
        session.add(
            Notification(user_id=user_id, kind=kind, title=title[:200], body=body, link=link)
        )
    session.flush()
    if settings.mail_enabled and ids:
        muted = set(
            session.scalars(
                select(EmailOptOut.user_id).where(
                    EmailOptOut.kind == kind, EmailOptOut.user_id.in_(ids)
                )
            )
        )
        site = settings.public_url.rstrip("/")
        text = body + (f"\n\n{site}{link}" if link and site else f"\n\n{link}" if link else "")
        footer = "\n\nMute this kind of email on the page /notifications."
        for user in session.scalars(select(User).where(User.id.in_(ids), User.is_active)):
            if user.id not in muted:
                send_after_commit(
                    session, settings, to=user.email, subject=title, body=text + footer
                )
    return len(ids)


def team_members(session: Session, *, team_id: int) -> list[int]:
    """The ids of a team's members."""
    return list(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))


def competitors(session: Session, *, competition: Competition) -> list[int]:
    """The ids of every member of the competition's teams."""
    return list(
        session.scalars(
            select(TeamMember.user_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.competition_id == competition.id)
        )
    )


def search(
    session: Session, *, user: User, unread_only: bool = False, offset: int = 0, limit: int = 50
) -> tuple[list[Notification], int, int]:
    """One page of the user's notifications, newest first; the total shown and the unread."""
    condition = Notification.user_id == user.id
    unread = Notification.read_at.is_(None)
    listed = select(Notification).where(condition)
    if unread_only:
        listed = listed.where(unread)
    total = session.scalar(select(func.count()).select_from(listed.subquery())) or 0
    unread_count = session.scalar(select(func.count()).where(condition, unread)) or 0
    rows = session.scalars(listed.order_by(Notification.id.desc()).offset(offset).limit(limit))
    return list(rows), int(total), int(unread_count)


def unread_count(session: Session, *, user: User) -> int:
    """How many of the user's notifications are unread."""
    return int(
        session.scalar(
            select(func.count()).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(session: Session, *, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (those ids, or all); returns how many changed."""
    statement = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    changed = session.execute(
        statement.values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(changed, "rowcount", 0) or 0)


def muted_kinds(session: Session, *, user: User) -> list[NotificationKind]:
    """The kinds the user does not want by email."""
    return sorted(session.scalars(select(EmailOptOut.kind).where(EmailOptOut.user_id == user.id)))


def set_muted_kinds(session: Session, *, user: User, kinds: Iterable[NotificationKind]) -> None:
    """Replace the kinds the user does not want by email."""
    session.execute(delete(EmailOptOut).where(EmailOptOut.user_id == user.id))
    for kind in sorted(set(kinds)):
        session.add(EmailOptOut(user_id=user.id, kind=kind))
    session.flush()

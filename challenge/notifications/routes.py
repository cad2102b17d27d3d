"""HTTP routes of notifications: the in-app list, reading them, email opt-outs, announcements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from challenge.api.deps import CurrentUser, SessionDep, SettingsDep
from challenge.competitions import lifecycle
from challenge.notifications import events, service
from challenge.notifications.schemas import (
    AnnouncementCreate,
    EmailSettings,
    MarkRead,
    NotificationPage,
    NotificationRead,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    """Your notifications, newest first (only the unread ones with `unread=true`)."""
    rows, total, unread_count = service.search(
        session, user=user, unread_only=unread, offset=(page - 1) * per_page, limit=per_page
    )
    return NotificationPage(
        items=[NotificationRead.model_validate(row) for row in rows],
        total=total,
        unread=unread_count,
        page=page,
        per_page=per_page,
    )


@router.post("/notifications/read", response_model=dict[str, int])
def mark_read(body: MarkRead, session: SessionDep, user: CurrentUser) -> dict[str, int]:
    """Mark notifications read: `{"ids": [...]}` or `{"all": true}`."""
    changed = service.mark_read(session, user=user, ids=None if body.all else body.ids)
    return {"marked": changed}


@router.get("/users/me/email-settings", response_model=EmailSettings)
def email_settings(session: SessionDep, user: CurrentUser) -> EmailSettings:
    """The kinds of notification you do not get by email."""
    return EmailSettings(muted=service.muted_kinds(session, user=user))


@router.put("/users/me/email-settings", response_model=EmailSettings)
def set_email_settings(
    body: EmailSettings, session: SessionDep, user: CurrentUser
) -> EmailSettings:
    """Choose the kinds of notification you do not want by email."""
    service.set_muted_kinds(session, user=user, kinds=body.muted)
    return EmailSettings(muted=service.muted_kinds(session, user=user))


@router.post("/competitions/{slug}/announcements", response_model=dict[str, int], status_code=201)
def announce(
    slug: str,
    body: AnnouncementCreate,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> dict[str, int]:
    """Notify every member of the competition's teams (its hosts and admins)."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    sent = events.announce(
        session,
        settings=settings,
        competition=competition,
        actor=user,
        title=body.title,
        body=body.body,
    )
    return {"notified": sent}

"""Request and response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from challenge.notifications.models import NotificationKind


class NotificationRead(BaseModel):
    """One notification."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: NotificationKind
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    """One page of notifications, how many there are and how many are unread."""

    items: list[NotificationRead]
    total: int
    unread: int
    page: int
    per_page: int


class MarkRead(BaseModel):
    """Notifications to mark read: these ids, or every one with `all`."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(default_factory=list, max_length=1000)
    all: bool = False


class EmailSettings(BaseModel):
    """The kinds of notification not sent by email (they stay in the in-app list)."""

    model_config = ConfigDict(extra="forbid")

    muted: list[NotificationKind] = Field(default_factory=list)


class AnnouncementCreate(BaseModel):
    """A host's message to every competitor."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=150)
    body: str = Field(default="", max_length=5000)

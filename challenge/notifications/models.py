"""Notifications of a user, and the kinds a user does not want by email."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from challenge.db.base import Base, utcnow


class NotificationKind(StrEnum):
    """What happened."""

    SUBMISSION_FINISHED = "submission_finished"
    SUBMISSION_FAILED = "submission_failed"
    PHASE_OPENED = "phase_opened"
    PHASE_CLOSED = "phase_closed"
    PHASE_FINALIZED = "phase_finalized"
    ANNOUNCEMENT = "announcement"


class Notification(Base):
    """One message to one user; unread until `read_at`."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(
            NotificationKind,
            native_enum=False,
            length=32,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class EmailOptOut(Base):
    """A kind of notification a user does not want by email (the in-app list keeps it)."""

    __tablename__ = "email_opt_outs"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(
            NotificationKind,
            native_enum=False,
            length=32,
            values_callable=lambda e: [m.value for m in e],
        ),
        primary_key=True,
    )

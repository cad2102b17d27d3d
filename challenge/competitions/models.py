"""Competitions and their phases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenge.accounts.models import User
from challenge.db.base import Base, utcnow


class CompetitionStatus(StrEnum):
    """Where a competition is in its life: drafts are seen by their staff only; archived ones
    are read-only."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Competition(Base):
    """A problem statement with data, an ML intent, phases and rules."""

    __tablename__ = "competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    problem_id: Mapped[str | None] = mapped_column(String(64), default=None)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    intent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data_files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """public file name -> {"size": bytes, "sha256": hex}"""
    test_sha256: Mapped[str] = mapped_column(String(64), default="")
    labels_sha256: Mapped[str] = mapped_column(String(64), default="")
    data_version: Mapped[int] = mapped_column(default=1)
    max_team_size: Mapped[int] = mapped_column(default=4)
    final_selection: Mapped[int] = mapped_column(default=0)
    status: Mapped[CompetitionStatus] = mapped_column(
        Enum(
            CompetitionStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=CompetitionStatus.PUBLISHED,
        server_default=CompetitionStatus.PUBLISHED.value,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    phases: Mapped[list[Phase]] = relationship(
        back_populates="competition", cascade="all, delete-orphan", order_by="Phase.position"
    )
    staff: Mapped[list[CompetitionStaff]] = relationship(
        cascade="all, delete-orphan", order_by="CompetitionStaff.id"
    )


class Phase(Base):
    """A window of time with per-team submission limits."""

    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("competition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None] = mapped_column(default=None)
    max_per_day: Mapped[int] = mapped_column(default=5)
    max_total: Mapped[int] = mapped_column(default=100)
    max_pending: Mapped[int] = mapped_column(default=2)
    finalized_at: Mapped[datetime | None] = mapped_column(default=None)
    opened_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    """When competitors were told that the phase opened (set once, by the first worker)."""
    closed_notified_at: Mapped[datetime | None] = mapped_column(default=None)

    competition: Mapped[Competition] = relationship(back_populates="phases")


class StaffRole(StrEnum):
    """What a staff member may do on one competition: a host also manages it and its staff."""

    HOST = "host"
    JUDGE = "judge"


class CompetitionStaff(Base):
    """A user assigned to one competition as its host or judge (rights there and nowhere else)."""

    __tablename__ = "competition_staff"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[StaffRole] = mapped_column(
        Enum(
            StaffRole, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])

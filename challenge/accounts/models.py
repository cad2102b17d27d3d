"""Users and their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenge.db.base import Base, utcnow


class Role(StrEnum):
    """What a user may do on the platform."""

    ADMIN = "admin"
    HOST = "host"
    JUDGE = "judge"
    PARTICIPANT = "participant"


class User(Base):
    """A person with a role; authenticates with a password (web) or an API token."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="default")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="tokens")


class LinkKind(StrEnum):
    """What a one-time link does when it is used."""

    LOGIN = "login"
    RESET = "reset"
    INVITE = "invite"


class OneTimeLink(Base):
    """A link that works once before it expires: log in, reset a password, accept an invitation.

    Only the SHA-256 of its secret is stored. An invitation carries the role the new account gets
    (and the address it was sent to, if any); the other kinds belong to a user.
    """

    __tablename__ = "one_time_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LinkKind] = mapped_column(
        Enum(LinkKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    role: Mapped[Role | None] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=None,
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

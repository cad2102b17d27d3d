"""Request and response bodies of the accounts API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from challenge.accounts.models import Role


class UserCreate(BaseModel):
    """A new user (admin only)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.PARTICIPANT


class UserRead(BaseModel):
    """A user as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    role: Role
    created_at: datetime


class UserWithToken(BaseModel):
    """A created user and its first API token (shown once)."""

    user: UserRead
    token: str


class LoginRequest(BaseModel):
    """Username and password."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    token_name: str = Field(
        default="web", min_length=1, max_length=64, description="the name the new token gets"
    )


class TokenResponse(BaseModel):
    """A fresh API token."""

    token: str
    user: UserRead


USERNAME = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
EMAIL = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class RegisterRequest(BaseModel):
    """Signing up (`MLCHALLENGE_REGISTRATION` decides who may)."""

    model_config = ConfigDict(extra="forbid")

    username: str = USERNAME
    email: str = EMAIL
    password: str = Field(min_length=8, max_length=256)
    invite: str | None = Field(
        default=None, max_length=128, description="the secret of an invitation link"
    )


class PasswordChange(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class ResetRequest(BaseModel):
    """Ask for a password reset link by email."""

    model_config = ConfigDict(extra="forbid")

    email: str = EMAIL


class ResetConfirm(BaseModel):
    """The secret of a reset link and the new password."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=8, max_length=256)


class Message(BaseModel):
    """A sentence for the person."""

    message: str


class LinkRead(BaseModel):
    """A one-time link (its URL shown once)."""

    url: str
    expires_at: datetime
    emailed: bool = False


class InvitationCreate(BaseModel):
    """An invitation: the role the new account gets, optionally the address it is sent to."""

    model_config = ConfigDict(extra="forbid")

    role: Role = Role.PARTICIPANT
    email: str | None = Field(
        default=None, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"
    )


class TokenCreate(BaseModel):
    """A named API token, optionally expiring after some days."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenRead(BaseModel):
    """A token as listed (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None


class TokenCreated(TokenRead):
    """A new token: the secret is in `token`, shown this once."""

    token: str


class AdminUserRead(UserRead):
    """A user as an admin sees it."""

    is_active: bool


class UserPage(BaseModel):
    """One page of users and the total that match."""

    items: list[AdminUserRead]
    total: int
    page: int
    per_page: int


class UserUpdate(BaseModel):
    """What an admin may change on an account."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None

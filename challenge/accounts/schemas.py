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


class TokenResponse(BaseModel):
    """A fresh API token."""

    token: str
    user: UserRead

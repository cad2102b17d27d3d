"""Request and response bodies of the teams API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TeamCreate(BaseModel):
    """A new team."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=64, pattern=r"^[\w .-]+$")


class TeamJoin(BaseModel):
    """The invite code a team member shared."""

    model_config = ConfigDict(extra="forbid")

    invite_code: str = Field(min_length=4, max_length=32)


class MemberRead(BaseModel):
    """A team member."""

    user_id: int
    username: str
    joined_at: datetime


class TeamRead(BaseModel):
    """A team; the invite code only for its members, hosts and judges."""

    id: int
    name: str
    competition: str
    members: list[MemberRead]
    invite_code: str | None = None
    created_at: datetime

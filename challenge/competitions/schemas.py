"""Request and response bodies of the competitions API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from challenge.competitions.bundle import SLUG_PATTERN
from challenge.competitions.models import CompetitionStatus, StaffRole


class CompetitionCreate(BaseModel):
    """Create a competition from a built-in problem (JSON); a bundle zip goes as multipart."""

    model_config = ConfigDict(extra="forbid")

    problem: str = Field(min_length=1, max_length=64, description="a built-in problem id")
    slug: str | None = Field(default=None, pattern=SLUG_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    size: int | None = Field(default=None, ge=100, le=1_000_000)
    baseline: bool = True
    challenge: str | None = Field(
        default=None, pattern=SLUG_PATTERN, description="join this challenge as a problem statement"
    )
    organisation: str | None = Field(
        default=None, pattern=SLUG_PATTERN, description="the organisation hosting it"
    )


class PhaseRead(BaseModel):
    """A phase with its window and limits."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    start_at: datetime
    end_at: datetime | None
    max_per_day: int
    max_total: int
    max_pending: int
    finalized_at: datetime | None


class CompetitionSummary(BaseModel):
    """A competition in a list."""

    slug: str
    title: str
    task: str
    problem_id: str | None
    metric: str
    formats: list[str]
    phases: list[PhaseRead]
    status: CompetitionStatus


class CompetitionRead(CompetitionSummary):
    """A competition's page."""

    description: str
    metrics: list[dict[str, Any]]
    id_column: str
    target: str
    classes: list[Any] | None
    data_files: dict[str, Any]
    limits: dict[str, Any]
    max_team_size: int
    final_selection: int
    ranking: dict[str, Any]
    created_at: datetime
    challenge: str | None = None
    """the slug of the challenge this competition is a problem statement of"""
    organisation: str | None = None
    """the slug of the organisation hosting it"""


def competition_summary(competition: Any) -> dict[str, Any]:
    """The fields of a competition shared by list and detail views."""
    intent = competition.intent
    return {
        "slug": competition.slug,
        "title": competition.title,
        "task": intent["task"],
        "problem_id": competition.problem_id,
        "metric": intent["metrics"][0]["name"],
        "formats": intent["model"]["formats"],
        "phases": [PhaseRead.model_validate(p) for p in competition.phases],
        "status": competition.status,
    }


def competition_read(competition: Any) -> CompetitionRead:
    """A competition's full public view."""
    intent = competition.intent
    return CompetitionRead(
        **competition_summary(competition),
        description=competition.description,
        metrics=intent["metrics"],
        id_column=intent["id_column"],
        target=intent["target"],
        classes=intent.get("classes"),
        data_files=competition.data_files,
        limits=intent["model"]["limits"],
        max_team_size=competition.max_team_size,
        final_selection=competition.final_selection,
        ranking=intent.get("ranking", {}),
        created_at=competition.created_at,
        **_challenge_of(competition),
    )


def _challenge_of(competition: Any) -> dict[str, str | None]:
    """The slugs of the competition's challenge and organisation (None outside a challenge)."""
    from sqlalchemy import inspect

    from challenge.challenges.scoping import challenge_and_organisation

    state = inspect(competition, raiseerr=False)  # None for a plain object
    session = state.session if state is not None else None
    if session is None:
        return {"challenge": None, "organisation": None}
    challenge, organisation = challenge_and_organisation(session, competition_id=competition.id)
    return {"challenge": challenge, "organisation": organisation}


class StaffCreate(BaseModel):
    """Assign a user to a competition as its host or judge."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: StaffRole


class StaffRead(BaseModel):
    """A host or judge of a competition."""

    user_id: int
    username: str
    role: StaffRole
    added_by: str | None
    created_at: datetime


def staff_read(member: Any) -> StaffRead:
    """A staff assignment as the API shows it (users are loaded through the session)."""
    return StaffRead(
        user_id=member.user_id,
        username=member.user.username,
        role=member.role,
        added_by=member.added_by.username if member.added_by is not None else None,
        created_at=member.created_at,
    )


class PhaseEdit(BaseModel):
    """A phase to change (by name), add (a new name) or delete (`delete: true`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    start_at: datetime | None = None
    end_at: datetime | None = None
    max_per_day: int | None = Field(default=None, ge=1, le=1_000_000)
    max_total: int | None = Field(default=None, ge=1, le=1_000_000)
    max_pending: int | None = Field(default=None, ge=1, le=1_000_000)
    delete: bool = False


class LimitsEdit(BaseModel):
    """The model's resource limits to change (the rest stay)."""

    model_config = ConfigDict(extra="forbid")

    time_s: float | None = Field(default=None, gt=0, le=86_400)
    train_time_s: float | None = Field(default=None, gt=0, le=86_400)
    memory_mb: int | None = Field(default=None, ge=64, le=1_048_576)


class CompetitionUpdate(BaseModel):
    """What its hosts (and admins) may change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=200_000)
    status: CompetitionStatus | None = None
    max_team_size: int | None = Field(default=None, ge=1, le=1000)
    limits: LimitsEdit | None = None
    phases: list[PhaseEdit] | None = Field(default=None, max_length=50)


class CompetitionClone(BaseModel):
    """A copy of a competition as a new draft: same data, intent, phases and description."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=200)

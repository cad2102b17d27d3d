"""HTTP routes of a challenge's announcements, events and data-sharing guideline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from challenge.api.deps import CurrentUser, RowId, SessionDep
from challenge.challenges import news, service
from challenge.competitions.bundle import SLUG_PATTERN
from challenge.competitions.models import Competition

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["challenges"])
URL = r"^(https?://\S+)?$"


class AnnouncementWrite(BaseModel):
    """An announcement (to one problem statement with `competition`)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=50_000)
    competition: str | None = Field(default=None, pattern=SLUG_PATTERN)


class AnnouncementRead(BaseModel):
    """An announcement."""

    id: int
    title: str
    body: str
    competition: str | None
    created_at: datetime


class EventWrite(BaseModel):
    """An event: a webinar with its link (and its recording, once there is one)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webinar", "workshop", "ceremony", "meeting"] = "webinar"
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    starts_at: AwareDatetime
    link_url: str = Field(default="", max_length=500, pattern=URL)
    recording_url: str = Field(default="", max_length=500, pattern=URL)
    competition: str | None = Field(default=None, pattern=SLUG_PATTERN)


class RecordingWrite(BaseModel):
    """An event's recording."""

    model_config = ConfigDict(extra="forbid")

    recording_url: str = Field(max_length=500, pattern=URL)


class EventRead(BaseModel):
    """An event."""

    id: int
    kind: str
    title: str
    description: str
    starts_at: datetime
    link_url: str
    recording_url: str
    competition: str | None


class Guideline(BaseModel):
    """The data-sharing guideline (Markdown)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=100_000)


def _slug_of(session: Any, competition_id: int | None) -> str | None:
    if competition_id is None:
        return None
    competition = session.get(Competition, competition_id)
    return competition.slug if competition else None


def _announcement(session: Any, row: Any) -> AnnouncementRead:
    return AnnouncementRead(
        id=row.id,
        title=row.title,
        body=row.body,
        competition=_slug_of(session, row.competition_id),
        created_at=row.created_at,
    )


def _event(session: Any, row: Any) -> EventRead:
    return EventRead(
        id=row.id,
        kind=row.kind,
        title=row.title,
        description=row.description,
        starts_at=row.starts_at,
        link_url=row.link_url,
        recording_url=row.recording_url,
        competition=_slug_of(session, row.competition_id),
    )


@router.get("/announcements", response_model=list[AnnouncementRead])
def list_announcements(slug: str, session: SessionDep) -> list[AnnouncementRead]:
    """The challenge's announcements, newest first."""
    challenge = service.get_or_raise(session, slug=slug)
    return [_announcement(session, a) for a in news.announcements(session, challenge=challenge)]


@router.post("/announcements", response_model=AnnouncementRead, status_code=201)
def announce(
    slug: str, body: AnnouncementWrite, session: SessionDep, user: CurrentUser
) -> AnnouncementRead:
    """Post an announcement (the organiser; a host for their problem statement)."""
    challenge = service.get_or_raise(session, slug=slug)
    row = news.announce(
        session,
        challenge=challenge,
        actor=user,
        title=body.title,
        body=body.body,
        competition_slug=body.competition,
    )
    return _announcement(session, row)


@router.get("/events", response_model=list[EventRead])
def list_events(slug: str, session: SessionDep) -> list[EventRead]:
    """The challenge's events in date order."""
    challenge = service.get_or_raise(session, slug=slug)
    return [_event(session, e) for e in news.events(session, challenge=challenge)]


@router.post("/events", response_model=EventRead, status_code=201)
def add_event(slug: str, body: EventWrite, session: SessionDep, user: CurrentUser) -> EventRead:
    """Schedule an event (the organiser; a host for their problem statement)."""
    challenge = service.get_or_raise(session, slug=slug)
    fields = body.model_dump(exclude={"competition"})
    row = news.add_event(
        session, challenge=challenge, actor=user, competition_slug=body.competition, **fields
    )
    return _event(session, row)


@router.patch("/events/{event_id}", response_model=EventRead)
def set_recording(
    slug: str, event_id: RowId, body: RecordingWrite, session: SessionDep, user: CurrentUser
) -> EventRead:
    """Add the recording of an event."""
    challenge = service.get_or_raise(session, slug=slug)
    row = news.set_recording(
        session,
        challenge=challenge,
        actor=user,
        event_id=event_id,
        recording_url=body.recording_url,
    )
    return _event(session, row)


@router.get("/guideline", response_model=Guideline)
def get_guideline(slug: str, session: SessionDep) -> Guideline:
    """The data-sharing guideline."""
    return Guideline(text=service.get_or_raise(session, slug=slug).data_guideline)


@router.put("/guideline", response_model=Guideline)
def set_guideline(slug: str, body: Guideline, session: SessionDep, user: CurrentUser) -> Guideline:
    """Set the data-sharing guideline (the organiser)."""
    challenge = service.get_or_raise(session, slug=slug)
    news.set_guideline(session, challenge=challenge, actor=user, text=body.text)
    return Guideline(text=challenge.data_guideline)

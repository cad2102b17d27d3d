"""Resources of a challenge: announcements, events (webinars with links and recordings) and the
data-sharing guideline. The organiser posts for the whole challenge; a host of a problem statement
posts for that problem statement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges import service
from challenge.challenges.models import Announcement, Challenge, Event
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.competitions.staff import can_manage
from challenge.errors import Forbidden, NotFound, ValidationFailed


def _scope(
    session: Session, *, challenge: Challenge, actor: User, competition_slug: str | None
) -> Competition | None:
    """The problem statement posted to (None: the whole challenge), checking the actor's right."""
    if competition_slug is None:
        if not service.is_organiser(actor, challenge):
            raise Forbidden(
                f"only the organiser of {challenge.slug!r} posts for the whole challenge; a host "
                "posts for their problem statement with `competition`"
            )
        return None
    competition = competitions.get_or_raise(session, slug=competition_slug)
    problem = service.problem_of(session, competition_id=competition.id)
    if problem is None or problem.challenge_id != challenge.id:
        raise ValidationFailed(
            f"{competition_slug!r} is not a problem statement of {challenge.slug!r}"
        )
    if not (service.is_organiser(actor, challenge) or can_manage(actor, competition)):
        raise Forbidden(f"only a host of {competition_slug!r} or the organiser posts for it")
    return competition


def announce(
    session: Session,
    *,
    challenge: Challenge,
    actor: User,
    title: str,
    body: str,
    competition_slug: str | None,
) -> Announcement:
    """Post an announcement to the challenge or one of its problem statements."""
    competition = _scope(
        session, challenge=challenge, actor=actor, competition_slug=competition_slug
    )
    announcement = Announcement(
        challenge_id=challenge.id,
        competition_id=competition.id if competition else None,
        title=title,
        body=body,
        author_id=actor.id,
    )
    session.add(announcement)
    session.flush()
    return announcement


def announcements(
    session: Session, *, challenge: Challenge, competition_id: int | None = None
) -> list[Announcement]:
    """The challenge's announcements, newest first (with `competition_id`: that problem's and the
    challenge-wide ones)."""
    query = select(Announcement).where(Announcement.challenge_id == challenge.id)
    if competition_id is not None:
        query = query.where(
            (Announcement.competition_id == competition_id) | Announcement.competition_id.is_(None)
        )
    return list(
        session.scalars(query.order_by(Announcement.created_at.desc(), Announcement.id.desc()))
    )


def add_event(
    session: Session,
    *,
    challenge: Challenge,
    actor: User,
    competition_slug: str | None,
    kind: str,
    title: str,
    description: str,
    starts_at: datetime,
    link_url: str,
    recording_url: str,
) -> Event:
    """Schedule an event (a webinar, a workshop, the final ceremony)."""
    competition = _scope(
        session, challenge=challenge, actor=actor, competition_slug=competition_slug
    )
    event = Event(
        challenge_id=challenge.id,
        competition_id=competition.id if competition else None,
        kind=kind,
        title=title,
        description=description,
        starts_at=starts_at,
        link_url=link_url,
        recording_url=recording_url,
    )
    session.add(event)
    session.flush()
    return event


def set_recording(
    session: Session, *, challenge: Challenge, actor: User, event_id: int, recording_url: str
) -> Event:
    """Add (or change) the recording of an event once it took place."""
    event = session.get(Event, event_id)
    if event is None or event.challenge_id != challenge.id:
        raise NotFound(f"event {event_id} is not an event of {challenge.slug!r}")
    slug = None
    if event.competition_id is not None:
        competition = session.get(Competition, event.competition_id)
        slug = competition.slug if competition else None
    _scope(session, challenge=challenge, actor=actor, competition_slug=slug)
    event.recording_url = recording_url
    session.flush()
    return event


def events(session: Session, *, challenge: Challenge) -> list[Event]:
    """The challenge's events in date order."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.challenge_id == challenge.id)
            .order_by(Event.starts_at, Event.id)
        )
    )


def set_guideline(session: Session, *, challenge: Challenge, actor: User, text: str) -> Challenge:
    """Set the challenge's data-sharing guideline (the organiser)."""
    if not service.is_organiser(actor, challenge):
        raise Forbidden(f"only the organiser of {challenge.slug!r} sets its data guideline")
    challenge.data_guideline = text
    session.flush()
    return challenge

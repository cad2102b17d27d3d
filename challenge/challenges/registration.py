"""Registering once per challenge: the profile that admits a participant to all its problems."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges.models import Category, Challenge, ChallengeProblem, Registration
from challenge.competitions.models import Competition
from challenge.db.base import utcnow
from challenge.errors import Conflict, Forbidden


def get(session: Session, *, challenge: Challenge, user: User) -> Registration | None:
    """The user's registration to the challenge, if any."""
    return session.scalar(
        select(Registration).where(
            Registration.challenge_id == challenge.id, Registration.user_id == user.id
        )
    )


def get_all(session: Session, *, challenge: Challenge) -> list[Registration]:
    """Every registration to the challenge, oldest first."""
    return list(
        session.scalars(
            select(Registration)
            .where(Registration.challenge_id == challenge.id)
            .order_by(Registration.id)
        )
    )


def register(
    session: Session,
    *,
    challenge: Challenge,
    user: User,
    affiliation: str,
    country: str,
    category: Category,
) -> tuple[Registration, bool]:
    """Register the user (or update their profile); returns the registration and if it is new."""
    now = utcnow()
    if challenge.registration_opens_at is not None and now < challenge.registration_opens_at:
        raise Forbidden(
            f"registration to {challenge.slug!r} opens at "
            f"{challenge.registration_opens_at.isoformat()}"
        )
    current = get(session, challenge=challenge, user=user)
    closes = challenge.registration_closes_at
    if closes is not None and now >= closes and current is None:
        raise Forbidden(f"registration to {challenge.slug!r} closed at {closes.isoformat()}")
    if current is not None:
        current.affiliation, current.country, current.category = affiliation, country, category
        session.flush()
        return current, False
    registration = Registration(
        challenge_id=challenge.id,
        user_id=user.id,
        affiliation=affiliation,
        country=country,
        category=category,
    )
    session.add(registration)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("you registered to this challenge at the same moment; reload") from exc
    return registration, True


def of_competition(
    session: Session, *, competition: Competition, user: User
) -> Registration | None:
    """The user's registration to the challenge the competition belongs to, if any."""
    return session.scalar(
        select(Registration)
        .join(ChallengeProblem, ChallengeProblem.challenge_id == Registration.challenge_id)
        .where(ChallengeProblem.competition_id == competition.id, Registration.user_id == user.id)
    )


def require_registered(session: Session, *, competition: Competition, user: User) -> None:
    """Raise Forbidden when the competition is part of a challenge the user has not joined."""
    challenge = session.scalar(
        select(Challenge)
        .join(ChallengeProblem, ChallengeProblem.challenge_id == Challenge.id)
        .where(ChallengeProblem.competition_id == competition.id)
    )
    if challenge is None or get(session, challenge=challenge, user=user) is not None:
        return
    raise Forbidden(
        f"{competition.slug!r} is a problem statement of the challenge {challenge.slug!r}: "
        "register to the challenge first, once for all its problem statements: on its page "
        f"/challenges/{challenge.slug}, or `mlchallenge register {challenge.slug} --affiliation A "
        "--country C --category student|professional`"
    )

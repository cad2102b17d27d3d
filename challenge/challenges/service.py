"""Challenges: create, read, the problem statements they group, their timeline and statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.challenges import organisations
from challenge.challenges.models import Challenge, ChallengeProblem, Organisation, Registration
from challenge.competitions.models import Competition
from challenge.competitions.staff import require_manager
from challenge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from challenge.submissions.models import Submission
from challenge.teams.models import Team, TeamMember

LEVELS = tuple(f"L{n}" for n in range(6))
"""The ITU-T Y.3173 levels of intelligence, L0 to L5."""


def get(session: Session, *, slug: str) -> Challenge | None:
    """The challenge with this slug, if any."""
    return session.scalar(select(Challenge).where(Challenge.slug == slug))


def get_or_raise(session: Session, *, slug: str) -> Challenge:
    """The challenge with this slug, or NotFound."""
    challenge = get(session, slug=slug)
    if challenge is None:
        raise NotFound(f"challenge {slug!r} does not exist; GET /api/v1/challenges lists them")
    return challenge


def get_all(session: Session) -> list[Challenge]:
    """Every challenge, newest first."""
    return list(
        session.scalars(
            select(Challenge).order_by(Challenge.created_at.desc(), Challenge.id.desc())
        )
    )


def create(
    session: Session,
    *,
    actor: User,
    slug: str,
    title: str,
    description: str = "",
    registration_opens_at: datetime | None = None,
    registration_closes_at: datetime | None = None,
    final_at: datetime | None = None,
) -> Challenge:
    """Create a challenge (hosts and admins); its creator organises it."""
    accounts.require_role(actor, Role.HOST)
    if (
        registration_opens_at is not None
        and registration_closes_at is not None
        and registration_closes_at <= registration_opens_at
    ):
        raise ValidationFailed("registration_closes_at must be after registration_opens_at")
    if get(session, slug=slug) is not None:
        raise Conflict(f"a challenge with slug {slug!r} exists; choose another slug")
    challenge = Challenge(
        slug=slug,
        title=title,
        description=description,
        registration_opens_at=registration_opens_at,
        registration_closes_at=registration_closes_at,
        final_at=final_at,
        owner_id=actor.id,
    )
    session.add(challenge)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"challenge {slug!r} was created at the same moment") from exc
    return challenge


def is_organiser(user: User | None, challenge: Challenge) -> bool:
    """Admins and the challenge's creator organise it."""
    return user is not None and (user.role is Role.ADMIN or user.id == challenge.owner_id)


def problem_of(session: Session, *, competition_id: int) -> ChallengeProblem | None:
    """The competition's place in a challenge, if it has one."""
    return session.scalar(
        select(ChallengeProblem).where(ChallengeProblem.competition_id == competition_id)
    )


def attach(
    session: Session,
    *,
    competition: Competition,
    actor: User,
    challenge_slug: str,
    organisation_slug: str | None = None,
    level: str | None = None,
    data_profile: dict[str, Any] | None = None,
) -> ChallengeProblem:
    """Make a competition a problem statement of a challenge, hosted by an organisation.

    The actor manages the competition, and either organises the challenge or hosts the named
    organisation. A competition is in one challenge at most; attaching again moves nothing but
    the organisation and the declared level and data profile.
    """
    require_manager(actor, competition)
    challenge = get_or_raise(session, slug=challenge_slug)
    organisation: Organisation | None = None
    if organisation_slug is not None:
        organisation = organisations.get_or_raise(session, slug=organisation_slug)
        organisations.require_host(actor, organisation)
    elif not is_organiser(actor, challenge):
        raise Forbidden(
            f"name the `organisation` you host to add a problem statement to {challenge.slug!r} "
            "(or ask its organiser)"
        )
    current = problem_of(session, competition_id=competition.id)
    if current is not None and current.challenge_id != challenge.id:
        raise Conflict(
            f"{competition.slug!r} is already a problem statement of another challenge; "
            "a competition belongs to one challenge"
        )
    if organisation is not None:
        _refuse_competing_members(session, organisation=organisation, competition=competition)
    problem = current or ChallengeProblem(challenge_id=challenge.id, competition_id=competition.id)
    if organisation is not None:
        problem.organisation_id = organisation.id
    if level is not None:
        if level not in LEVELS:
            raise ValidationFailed(f"the Y.3173 level is one of {', '.join(LEVELS)}; got {level!r}")
        problem.level = level
    if data_profile is not None:
        problem.data_profile = _checked_profile(data_profile)
    if current is None:
        session.add(problem)
    session.flush()
    session.refresh(problem)
    return problem


def _checked_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """A Y.3174 data profile validated by its schema, or ValidationFailed saying what to fix."""
    from pydantic import ValidationError

    from challenge.challenges.schemas import DataProfile
    from challenge.competitions.bundle import format_validation_error

    try:
        return DataProfile.model_validate(profile).model_dump()
    except ValidationError as exc:
        raise ValidationFailed(format_validation_error(exc, "data_handling")) from exc


def _refuse_competing_members(
    session: Session, *, organisation: Organisation, competition: Competition
) -> None:
    member_ids = [m.user_id for m in organisation.members]
    competing = session.scalar(
        select(TeamMember.user_id)
        .where(TeamMember.competition_id == competition.id, TeamMember.user_id.in_(member_ids))
        .limit(1)
    )
    if competing is not None:
        raise Conflict(
            f"a member of {organisation.slug!r} is in a team of {competition.slug!r}; the "
            "organisation's members are its staff and cannot compete in it"
        )


@dataclass
class ProblemRow:
    """A problem statement as a challenge lists it."""

    problem: ChallengeProblem
    competition: Competition


@dataclass
class OrganisationGroup:
    """The problem statements of one organisation (None: not attached to one)."""

    organisation: Organisation | None
    problems: list[ProblemRow] = field(default_factory=list)


def problems(session: Session, *, challenge: Challenge) -> list[ProblemRow]:
    """The challenge's problem statements with their competitions, in the order they joined."""
    rows = session.execute(
        select(ChallengeProblem, Competition)
        .join(Competition, Competition.id == ChallengeProblem.competition_id)
        .where(ChallengeProblem.challenge_id == challenge.id)
        .order_by(ChallengeProblem.id)
    )
    return [ProblemRow(problem, competition) for problem, competition in rows]


def by_region(rows: list[ProblemRow]) -> dict[str, list[OrganisationGroup]]:
    """Problem statements grouped by the region, then the organisation, that hosts them."""
    regions: dict[str, dict[int | None, OrganisationGroup]] = {}
    for row in rows:
        organisation = row.problem.organisation
        region = (organisation.region or organisation.country) if organisation else ""
        groups = regions.setdefault(region or "Unspecified", {})
        key = organisation.id if organisation else None
        groups.setdefault(key, OrganisationGroup(organisation)).problems.append(row)
    return {
        name: sorted(groups.values(), key=lambda g: g.organisation.name if g.organisation else "~")
        for name, groups in sorted(regions.items())
    }


@dataclass(frozen=True)
class Milestone:
    """A dated step of a challenge: registration, a problem's phase, the final."""

    at: datetime
    label: str


def timeline(challenge: Challenge, rows: list[ProblemRow]) -> list[Milestone]:
    """Registration, every problem statement's phases and the final, in date order."""
    steps: list[Milestone] = []
    if challenge.registration_opens_at is not None:
        steps.append(Milestone(challenge.registration_opens_at, "Registration opens"))
    if challenge.registration_closes_at is not None:
        steps.append(Milestone(challenge.registration_closes_at, "Registration closes"))
    for row in rows:
        for phase in row.competition.phases:
            steps.append(Milestone(phase.start_at, f"{row.competition.title}: {phase.name} opens"))
            if phase.end_at is not None:
                steps.append(
                    Milestone(phase.end_at, f"{row.competition.title}: {phase.name} closes")
                )
    if challenge.final_at is not None:
        steps.append(Milestone(challenge.final_at, "Final"))
    return sorted(steps, key=lambda m: m.at)


@dataclass(frozen=True)
class Statistics:
    """How big a challenge is."""

    problems: int
    organisations: int
    registered: int
    teams: int
    people: int
    countries: int
    submissions: int


def statistics(session: Session, *, challenge: Challenge) -> Statistics:
    """Problem statements, organisations, registrations, teams, people, countries, submissions.

    People are the distinct users in the problems' teams and the registered participants;
    countries are those the registered participants gave.
    """
    competition_ids = select(ChallengeProblem.competition_id).where(
        ChallengeProblem.challenge_id == challenge.id
    )
    problem_count, organisation_count = session.execute(
        select(func.count(), func.count(distinct(ChallengeProblem.organisation_id))).where(
            ChallengeProblem.challenge_id == challenge.id
        )
    ).one()
    registered = select(Registration.user_id).where(Registration.challenge_id == challenge.id)
    in_teams = select(TeamMember.user_id).where(TeamMember.competition_id.in_(competition_ids))
    people = session.scalar(select(func.count()).select_from(registered.union(in_teams).subquery()))
    teams = session.scalar(
        select(func.count())
        .select_from(Team)
        .where(Team.competition_id.in_(competition_ids), Team.is_baseline.is_(False))
    )
    submissions = session.scalar(
        select(func.count())
        .select_from(Submission)
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.competition_id.in_(competition_ids), Team.is_baseline.is_(False))
    )
    registrations, countries = session.execute(
        select(func.count(), func.count(distinct(func.lower(Registration.country)))).where(
            Registration.challenge_id == challenge.id
        )
    ).one()
    return Statistics(
        problems=problem_count,
        organisations=organisation_count,
        registered=registrations,
        teams=teams or 0,
        people=people or 0,
        countries=countries,
        submissions=submissions or 0,
    )


@dataclass(frozen=True)
class Overview:
    """Everything a challenge's page shows."""

    challenge: Challenge
    problems: list[ProblemRow]
    regions: dict[str, list[OrganisationGroup]]
    timeline: list[Milestone]
    statistics: Statistics


def overview(session: Session, *, challenge: Challenge) -> Overview:
    """The challenge's problems by region and organisation, its timeline and its statistics."""
    rows = problems(session, challenge=challenge)
    return Overview(
        challenge=challenge,
        problems=rows,
        regions=by_region(rows),
        timeline=timeline(challenge, rows),
        statistics=statistics(session, challenge=challenge),
    )


@dataclass(frozen=True)
class Place:
    """Where a competition sits: its challenge and its row there (organisation, level, data)."""

    challenge: Challenge
    problem: ChallengeProblem


def place_of(session: Session, *, competition_id: int) -> Place | None:
    """The competition's challenge and problem row, if it is part of one."""
    problem = problem_of(session, competition_id=competition_id)
    if problem is None:
        return None
    challenge = session.get(Challenge, problem.challenge_id)
    assert challenge is not None
    return Place(challenge, problem)

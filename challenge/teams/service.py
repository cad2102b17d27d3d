"""Teams: create with an invite code, join, leave; one team per user per competition."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges.registration import require_registered
from challenge.competitions import lifecycle
from challenge.competitions.models import Competition
from challenge.competitions.staff import refuse_competing
from challenge.errors import Conflict, Forbidden, NotFound
from challenge.teams.models import Team, TeamMember


def get(session: Session, *, team_id: int) -> Team | None:
    """The team with this id, if any."""
    return session.get(Team, team_id)


def get_or_raise(session: Session, *, team_id: int) -> Team:
    """The team with this id, or NotFound."""
    team = get(session, team_id=team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team


def team_of(session: Session, *, competition_id: int, user_id: int) -> Team | None:
    """The user's team in this competition, if any."""
    return session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.competition_id == competition_id, TeamMember.user_id == user_id)
    )


def get_all(session: Session, *, competition_id: int) -> list[Team]:
    """Every team of a competition."""
    return list(session.scalars(select(Team).where(Team.competition_id == competition_id)))


def create(
    session: Session, *, competition: Competition, user: User, name: str, is_baseline: bool = False
) -> Team:
    """Create a team with the user as its first member (a baseline team has none: it is the
    platform's entry, which `user` only sets up)."""
    if not is_baseline:
        lifecycle.require_entries_open(competition)
        refuse_competing(user, competition)
        require_registered(session, competition=competition, user=user)
    if not is_baseline and team_of(session, competition_id=competition.id, user_id=user.id):
        raise Conflict(
            f"you are already in a team of {competition.slug!r}; leave it before creating another"
        )
    taken = session.scalar(
        select(Team.id).where(Team.competition_id == competition.id, Team.name == name)
    )
    if taken is not None:
        raise Conflict(f"a team named {name!r} exists in {competition.slug!r}; choose another name")
    team = Team(
        competition_id=competition.id,
        name=name,
        invite_code=secrets.token_hex(8),
        created_by_id=user.id,
        is_baseline=is_baseline,
    )
    session.add(team)
    session.flush()
    if not is_baseline:
        _add_member(session, team=team, user=user)
    return team


def join(session: Session, *, team: Team, user: User, invite_code: str, max_size: int) -> Team:
    """Join a team with its invite code (never the baseline, never as staff of the competition)."""
    competition = session.get(Competition, team.competition_id)
    assert competition is not None
    lifecycle.require_entries_open(competition)
    refuse_competing(user, competition)
    require_registered(session, competition=competition, user=user)
    if team.is_baseline:
        raise Forbidden("the baseline is the platform's entry; nobody can join it")
    if not secrets.compare_digest(team.invite_code.encode(), invite_code.encode()):
        raise NotFound("wrong invite code for this team; ask a member for the current code")
    if team_of(session, competition_id=team.competition_id, user_id=user.id) is not None:
        raise Conflict("you are already in a team of this competition; leave it first")
    _lock(session, team)  # two joins cannot both pass the size check
    size = session.scalar(select(func.count()).where(TeamMember.team_id == team.id)) or 0
    if size >= max_size:
        raise Conflict(f"team {team.name!r} is full ({max_size} members at most)")
    _add_member(session, team=team, user=user)
    return team


def leave(session: Session, *, team: Team, user: User) -> None:
    """Leave a team; an empty team without submissions is deleted."""
    member = session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    )
    if member is None:
        raise NotFound("you are not a member of this team")
    _lock(session, team)  # an upload of the team in flight finishes (or waits) first
    session.delete(member)
    session.flush()
    remaining = session.scalar(select(func.count()).where(TeamMember.team_id == team.id)) or 0
    if remaining == 0 and team.submission_seq == 0:
        session.delete(team)
        session.flush()


def _lock(session: Session, team: Team) -> None:
    """Lock the team's row until the transaction ends (SQLite: the database write lock)."""
    session.execute(
        update(Team).where(Team.id == team.id).values(submission_seq=Team.submission_seq)
    )


def _add_member(session: Session, *, team: Team, user: User) -> None:
    try:
        with session.begin_nested():
            session.add(
                TeamMember(team_id=team.id, user_id=user.id, competition_id=team.competition_id)
            )
    except IntegrityError as exc:
        raise Conflict("you are already in a team of this competition") from exc
    session.refresh(team)


def is_member(session: Session, *, team_id: int, user_id: int) -> bool:
    """True if the user belongs to the team."""
    return (
        session.scalar(
            select(TeamMember.id).where(
                TeamMember.team_id == team_id, TeamMember.user_id == user_id
            )
        )
        is not None
    )

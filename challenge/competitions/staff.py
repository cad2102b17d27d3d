"""Staff of a competition: who may judge it and who may manage it. The one home of these checks.

Admins act everywhere. A host or judge acts only on the competitions they are assigned to (the
creator of a competition is its first host); a platform-wide `host` or `judge` role alone gives
no rights on any competition. Hosts also change the competition and its staff. Staff of a
competition never compete in it.
"""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.challenges.scoping import organisation_competition_ids, organisation_role
from challenge.competitions.models import Competition, CompetitionStaff, StaffRole
from challenge.errors import Conflict, Forbidden, NotFound
from challenge.teams.models import Team, TeamMember


def role_in(user: User, competition: Competition) -> StaffRole | None:
    """The user's staff role on this competition, if assigned (admins need none).

    An assignment to the competition comes first; else a member of the organisation hosting it
    (`challenge.challenges`) holds their organisation role here.
    """
    for member in competition.staff:
        if member.user_id == user.id:
            return member.role
    state = inspect(competition, raiseerr=False)  # None for a plain object (unit tests)
    session = state.session if state is not None else None
    if session is None or competition.id is None:
        return None
    return organisation_role(session, user_id=user.id, competition_id=competition.id)


def is_staff(user: User | None, competition: Competition) -> bool:
    """Admins, and the hosts and judges assigned to this competition."""
    if user is None:
        return False
    return user.role is Role.ADMIN or role_in(user, competition) is not None


def can_manage(user: User | None, competition: Competition) -> bool:
    """Admins and this competition's hosts may change it and its staff."""
    if user is None:
        return False
    return user.role is Role.ADMIN or role_in(user, competition) is StaffRole.HOST


def require_staff(user: User, competition: Competition) -> None:
    """Raise Forbidden unless the user is staff of this competition."""
    if not is_staff(user, competition):
        raise Forbidden(
            f"this needs a host or judge assigned to {competition.slug!r} (or an admin); "
            f"its hosts assign staff on the page /competitions/{competition.slug}/staff"
        )


def require_manager(user: User, competition: Competition) -> None:
    """Raise Forbidden unless the user may change this competition."""
    if not can_manage(user, competition):
        raise Forbidden(f"only a host of {competition.slug!r} or an admin may change it")


def get_all(competition: Competition) -> list[CompetitionStaff]:
    """The competition's staff, in the order they were assigned."""
    return list(competition.staff)


def staffed_competition_ids(session: Session, *, user: User) -> set[int]:
    """The ids of the competitions the user is assigned to, directly or through their
    organisation (admins: see `is_staff`)."""
    rows = session.scalars(
        select(CompetitionStaff.competition_id).where(CompetitionStaff.user_id == user.id)
    )
    return set(rows) | organisation_competition_ids(session, user_id=user.id)


def add(
    session: Session, *, competition: Competition, actor: User, username: str, role: StaffRole
) -> tuple[CompetitionStaff, bool]:
    """Assign a user as host or judge (or change their role); returns the row and if it is new."""
    require_manager(actor, competition)
    user = accounts.get_by_username(session, username=username)
    if user is None or not user.is_active:
        raise NotFound(f"there is no active user {username!r}; an admin creates users")
    team = session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.competition_id == competition.id, TeamMember.user_id == user.id)
    )
    if team is not None:
        raise Conflict(
            f"{username!r} is a member of team {team.name!r} in {competition.slug!r}; staff "
            "cannot compete: they leave the team before they can be assigned"
        )
    current = next((m for m in competition.staff if m.user_id == user.id), None)
    if current is not None:
        if current.role is StaffRole.HOST and role is not StaffRole.HOST:
            _keep_a_host(competition, leaving=current)
        current.role = role
        session.flush()
        return current, False
    member = CompetitionStaff(user_id=user.id, role=role, added_by_id=actor.id)
    competition.staff.append(member)
    session.flush()
    return member, True


def remove(session: Session, *, competition: Competition, actor: User, username: str) -> None:
    """Take a user off the competition's staff (its last host stays)."""
    require_manager(actor, competition)
    user = accounts.get_by_username(session, username=username)
    current = (
        None if user is None else next((m for m in competition.staff if m.user_id == user.id), None)
    )
    if current is None:
        raise NotFound(f"{username!r} is not staff of {competition.slug!r}")
    if current.role is StaffRole.HOST:
        _keep_a_host(competition, leaving=current)
    competition.staff.remove(current)
    session.flush()


def _keep_a_host(competition: Competition, *, leaving: CompetitionStaff) -> None:
    hosts = [m for m in competition.staff if m.role is StaffRole.HOST and m is not leaving]
    if not hosts:
        raise Conflict(f"{competition.slug!r} keeps at least one host; assign another host first")


def add_creator(competition: Competition, *, creator: User) -> None:
    """Make the creator of a new competition its first host."""
    competition.staff.append(
        CompetitionStaff(user_id=creator.id, role=StaffRole.HOST, added_by_id=creator.id)
    )


def refuse_competing(user: User, competition: Competition) -> None:
    """Raise Forbidden when staff of the competition (admins included) try to be in a team."""
    if is_staff(user, competition):
        raise Forbidden(
            f"you are staff of {competition.slug!r} (its host, judge or an admin): staff see "
            "private scores, so they cannot be members of its teams; compete with an account "
            "that is not staff"
        )

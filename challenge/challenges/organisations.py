"""Host organisations and their members (hosts and judges of the organisation's problems only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.challenges.models import ChallengeProblem, Organisation, OrganisationMember
from challenge.competitions.models import StaffRole
from challenge.errors import Conflict, Forbidden, NotFound
from challenge.teams.models import TeamMember


def get(session: Session, *, slug: str) -> Organisation | None:
    """The organisation with this slug, if any."""
    return session.scalar(select(Organisation).where(Organisation.slug == slug))


def get_or_raise(session: Session, *, slug: str) -> Organisation:
    """The organisation with this slug, or NotFound."""
    organisation = get(session, slug=slug)
    if organisation is None:
        raise NotFound(
            f"organisation {slug!r} does not exist; GET /api/v1/organisations lists them"
        )
    return organisation


def get_all(session: Session) -> list[Organisation]:
    """Every organisation, by name."""
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def role_of(user: User, organisation: Organisation) -> StaffRole | None:
    """The user's role in the organisation, if a member."""
    for member in organisation.members:
        if member.user_id == user.id:
            return member.role
    return None


def require_host(user: User, organisation: Organisation) -> None:
    """Raise Forbidden unless the user is a host of the organisation (or an admin)."""
    if user.role is Role.ADMIN or role_of(user, organisation) is StaffRole.HOST:
        return
    raise Forbidden(
        f"only a host of organisation {organisation.slug!r} or an admin may do this; its hosts "
        f"add members with POST /api/v1/organisations/{organisation.slug}/members"
    )


def create(
    session: Session,
    *,
    actor: User,
    slug: str,
    name: str,
    country: str = "",
    region: str = "",
    logo_url: str = "",
    website: str = "",
    contact_email: str = "",
) -> Organisation:
    """Create an organisation; its creator becomes its first host."""
    accounts.require_role(actor, Role.HOST)
    if get(session, slug=slug) is not None:
        raise Conflict(f"an organisation with slug {slug!r} exists; choose another slug")
    organisation = Organisation(
        slug=slug,
        name=name,
        country=country,
        region=region,
        logo_url=logo_url,
        website=website,
        contact_email=contact_email,
        created_by_id=actor.id,
    )
    organisation.members.append(OrganisationMember(user_id=actor.id, role=StaffRole.HOST))
    session.add(organisation)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"organisation {slug!r} was created at the same moment") from exc
    return organisation


def add_member(
    session: Session, *, organisation: Organisation, actor: User, username: str, role: StaffRole
) -> tuple[OrganisationMember, bool]:
    """Add a host or judge to the organisation (or change their role); returns it and if new.

    Someone who competes in one of the organisation's problem statements cannot join it: members
    are staff of every problem the organisation hosts.
    """
    require_host(actor, organisation)
    user = accounts.get_by_username(session, username=username)
    if user is None or not user.is_active:
        raise NotFound(f"there is no active user {username!r}; an admin creates users")
    competing = session.scalar(
        select(TeamMember.competition_id)
        .join(ChallengeProblem, ChallengeProblem.competition_id == TeamMember.competition_id)
        .where(ChallengeProblem.organisation_id == organisation.id, TeamMember.user_id == user.id)
        .limit(1)
    )
    if competing is not None:
        raise Conflict(
            f"{username!r} is in a team of a problem statement of {organisation.slug!r}; "
            "members are its staff and cannot compete: they leave the team first"
        )
    current = next((m for m in organisation.members if m.user_id == user.id), None)
    if current is not None:
        if current.role is StaffRole.HOST and role is not StaffRole.HOST:
            _keep_a_host(organisation, leaving=current)
        current.role = role
        session.flush()
        return current, False
    member = OrganisationMember(user_id=user.id, role=role)
    organisation.members.append(member)
    session.flush()
    return member, True


def remove_member(
    session: Session, *, organisation: Organisation, actor: User, username: str
) -> None:
    """Take a member off the organisation (its last host stays)."""
    require_host(actor, organisation)
    current = next((m for m in organisation.members if m.user.username == username), None)
    if current is None:
        raise NotFound(f"{username!r} is not a member of {organisation.slug!r}")
    if current.role is StaffRole.HOST:
        _keep_a_host(organisation, leaving=current)
    organisation.members.remove(current)
    session.flush()


def _keep_a_host(organisation: Organisation, *, leaving: OrganisationMember) -> None:
    hosts = [m for m in organisation.members if m.role is StaffRole.HOST and m is not leaving]
    if not hosts:
        raise Conflict(f"{organisation.slug!r} keeps at least one host; add another host first")

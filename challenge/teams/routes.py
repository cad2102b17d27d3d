"""HTTP routes of teams."""

from __future__ import annotations

from fastapi import APIRouter

from challenge.accounts.models import Role, User
from challenge.api.deps import CurrentUser, RowId, SessionDep
from challenge.competitions import lifecycle
from challenge.competitions.models import Competition
from challenge.errors import NotFound
from challenge.teams import service
from challenge.teams.models import Team
from challenge.teams.schemas import MemberRead, TeamCreate, TeamJoin, TeamRead

router = APIRouter(prefix="/api/v1", tags=["teams"])


def team_read(team: Team, competition: Competition, viewer: User) -> TeamRead:
    """A team as `viewer` may see it (the invite code only for its members and admins)."""
    show_code = viewer.role is Role.ADMIN or any(m.user_id == viewer.id for m in team.members)
    return TeamRead(
        id=team.id,
        name=team.name,
        competition=competition.slug,
        members=[
            MemberRead(user_id=m.user_id, username=m.user.username, joined_at=m.joined_at)
            for m in team.members
        ],
        invite_code=team.invite_code if show_code else None,
        created_at=team.created_at,
    )


@router.post("/competitions/{slug}/teams", response_model=TeamRead, status_code=201)
def create_team(slug: str, body: TeamCreate, session: SessionDep, user: CurrentUser) -> TeamRead:
    """Create a team in a competition; the response holds its invite code."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    team = service.create(session, competition=competition, user=user, name=body.name)
    return team_read(team, competition, user)


@router.get("/competitions/{slug}/team", response_model=TeamRead)
def my_team(slug: str, session: SessionDep, user: CurrentUser) -> TeamRead:
    """The caller's team in a competition."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    team = service.team_of(session, competition_id=competition.id, user_id=user.id)
    if team is None:
        raise NotFound(f"you have no team in {slug!r}; create one or join one with an invite code")
    return team_read(team, competition, user)


@router.get("/teams/{team_id}", response_model=TeamRead)
def get_team(team_id: RowId, session: SessionDep, user: CurrentUser) -> TeamRead:
    """A team and its members."""
    team = service.get_or_raise(session, team_id=team_id)
    competition = session.get(Competition, team.competition_id)
    assert competition is not None
    return team_read(team, competition, user)


@router.post("/teams/{team_id}/join", response_model=TeamRead)
def join_team(team_id: RowId, body: TeamJoin, session: SessionDep, user: CurrentUser) -> TeamRead:
    """Join a team with its invite code."""
    team = service.get_or_raise(session, team_id=team_id)
    competition = session.get(Competition, team.competition_id)
    assert competition is not None
    service.join(
        session,
        team=team,
        user=user,
        invite_code=body.invite_code,
        max_size=competition.max_team_size,
    )
    return team_read(team, competition, user)


@router.post("/teams/{team_id}/leave", status_code=204)
def leave_team(team_id: RowId, session: SessionDep, user: CurrentUser) -> None:
    """Leave a team."""
    team = service.get_or_raise(session, team_id=team_id)
    service.leave(session, team=team, user=user)

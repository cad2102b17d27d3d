"""Judging beyond the metric: a rubric per problem, assigned judges, conflicts of interest.

A judge never scores a team they are a member of, nor a team of their own organisation: one whose
member also belongs to an organisation the judge is a member of, or whose member registered to the
challenge with that organisation's name (or slug) as affiliation. Every score is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.challenges.models import (
    Organisation,
    OrganisationMember,
    Registration,
    Rubric,
    RubricJudge,
    RubricScore,
)
from challenge.competitions.models import Competition
from challenge.competitions.staff import is_staff, require_manager
from challenge.db.base import utcnow
from challenge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from challenge.judging import audit
from challenge.teams.models import Team, TeamMember


def get(session: Session, *, competition: Competition) -> Rubric | None:
    """The competition's rubric, if defined."""
    return session.scalar(select(Rubric).where(Rubric.competition_id == competition.id))


def get_or_raise(session: Session, *, competition: Competition) -> Rubric:
    """The competition's rubric, or NotFound."""
    rubric = get(session, competition=competition)
    if rubric is None:
        raise NotFound(
            f"{competition.slug!r} has no rubric; its hosts define one with "
            f"PUT /api/v1/competitions/{competition.slug}/rubric"
        )
    return rubric


def set_rubric(
    session: Session,
    *,
    competition: Competition,
    actor: User,
    criteria: list[dict[str, Any]],
    scale_min: int,
    scale_max: int,
    instructions: str,
    metric_weight: float,
) -> Rubric:
    """Define (or change) the rubric (its hosts); audited."""
    require_manager(actor, competition)
    if scale_max <= scale_min:
        raise ValidationFailed("scale_max must be greater than scale_min")
    names = [c["name"] for c in criteria]
    if len(set(names)) != len(names):
        raise ValidationFailed(f"criterion names must be unique, got {names}")
    rubric = get(session, competition=competition) or Rubric(competition_id=competition.id)
    rubric.criteria = {"items": criteria}
    rubric.scale_min, rubric.scale_max = scale_min, scale_max
    rubric.instructions, rubric.metric_weight = instructions, metric_weight
    rubric.updated_at = utcnow()
    session.add(rubric)
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=actor,
        action="rubric.set",
        target=competition.slug,
        reason=f"criteria: {', '.join(names)}; metric weight {metric_weight:g}",
    )
    return rubric


def judges(session: Session, *, competition: Competition) -> list[RubricJudge]:
    """The judges assigned to score the competition's reports."""
    return list(
        session.scalars(
            select(RubricJudge)
            .where(RubricJudge.competition_id == competition.id)
            .order_by(RubricJudge.id)
        )
    )


def is_judge(session: Session, *, competition: Competition, user: User) -> bool:
    """True when the user is assigned to score this competition's reports."""
    return (
        session.scalar(
            select(RubricJudge.id).where(
                RubricJudge.competition_id == competition.id, RubricJudge.user_id == user.id
            )
        )
        is not None
    )


def assign_judge(
    session: Session, *, competition: Competition, actor: User, username: str
) -> RubricJudge:
    """Assign a judge (a user with the judge, host or admin role) to score reports; audited."""
    require_manager(actor, competition)
    user = accounts.get_by_username(session, username=username)
    if user is None or not user.is_active:
        raise NotFound(f"there is no active user {username!r}")
    if user.role is Role.PARTICIPANT:
        raise Forbidden(f"{username!r} is a participant; judges have the judge or host role")
    in_team = session.scalar(
        select(TeamMember.id).where(
            TeamMember.competition_id == competition.id, TeamMember.user_id == user.id
        )
    )
    if in_team is not None:
        raise Conflict(f"{username!r} competes in {competition.slug!r} and cannot judge it")
    current = session.scalar(
        select(RubricJudge).where(
            RubricJudge.competition_id == competition.id, RubricJudge.user_id == user.id
        )
    )
    if current is not None:
        return current
    judge = RubricJudge(competition_id=competition.id, user_id=user.id)
    session.add(judge)
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=actor,
        action="rubric.judge_assigned",
        target=username,
        reason="",
    )
    return judge


def conflict_of(session: Session, *, judge: User, team: Team) -> str | None:
    """Why the judge may not score this team, or None."""
    member_ids = [m.user_id for m in team.members]
    if judge.id in member_ids:
        return f"you are a member of team {team.name!r}"
    organisations = list(
        session.scalars(
            select(Organisation)
            .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
            .where(OrganisationMember.user_id == judge.id)
        )
    )
    if not organisations or not member_ids:
        return None
    shared = session.scalar(
        select(Organisation.name)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .where(
            OrganisationMember.user_id.in_(member_ids),
            Organisation.id.in_([o.id for o in organisations]),
        )
        .limit(1)
    )
    if shared is not None:
        return f"team {team.name!r} has a member of your organisation {shared}"
    names = {n.casefold(): o.name for o in organisations for n in (o.name, o.slug)}
    affiliations = session.scalars(
        select(Registration.affiliation).where(Registration.user_id.in_(member_ids))
    )
    for affiliation in affiliations:
        if affiliation.casefold() in names:
            return (
                f"team {team.name!r} has a member affiliated with your organisation "
                + (names[affiliation.casefold()])
            )
    return None


def score(
    session: Session,
    *,
    competition: Competition,
    judge: User,
    team_id: int,
    scores: dict[str, float],
    comment: str,
) -> RubricScore:
    """Record (or revise) a judge's scores of a team's report; conflicts refused; audited."""
    rubric = get_or_raise(session, competition=competition)
    if not is_judge(session, competition=competition, user=judge):
        raise Forbidden(
            f"only judges assigned to {competition.slug!r} score its reports; its hosts assign "
            f"them with POST /api/v1/competitions/{competition.slug}/rubric/judges"
        )
    team = session.get(Team, team_id)
    if team is None or team.competition_id != competition.id or team.is_baseline:
        raise NotFound(f"team {team_id} is not a team of {competition.slug!r}")
    conflict = conflict_of(session, judge=judge, team=team)
    if conflict is not None:
        raise Forbidden(f"conflict of interest: {conflict}; another judge scores this team")
    check_scores(rubric.criteria["items"], rubric.scale_min, rubric.scale_max, scores)
    total = weighted_total(rubric, scores)
    row = session.scalar(
        select(RubricScore).where(RubricScore.team_id == team.id, RubricScore.judge_id == judge.id)
    ) or RubricScore(competition_id=competition.id, team_id=team.id, judge_id=judge.id)
    row.scores, row.total, row.comment, row.updated_at = dict(scores), total, comment, utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=judge,
        action="rubric.scored",
        target=team.name,
        reason=", ".join(f"{k}={v:g}" for k, v in sorted(scores.items())) + f"; total {total:.3f}",
    )
    return row


def check_scores(
    items: list[dict[str, Any]], scale_min: int, scale_max: int, scores: dict[str, float]
) -> None:
    """Raise ValidationFailed unless every criterion, and only those, is scored on the scale."""
    criteria = [c["name"] for c in items]
    missing = sorted(set(criteria) - set(scores))
    unknown = sorted(set(scores) - set(criteria))
    if missing or unknown:
        raise ValidationFailed(
            f"score every criterion and only those: missing {missing}, unknown {unknown}; "
            f"criteria: {', '.join(criteria)}"
        )
    for name, value in scores.items():
        if not scale_min <= value <= scale_max:
            raise ValidationFailed(f"{name}: {value} is outside the scale {scale_min}..{scale_max}")


def scaled_total(
    items: list[dict[str, Any]], scale_min: int, scale_max: int, scores: dict[str, float]
) -> float:
    """The weighted mean of the scores, each scaled to 0..1 on the scale."""
    span = scale_max - scale_min
    weight = sum(float(c["weight"]) for c in items)
    total = sum(float(c["weight"]) * (scores[c["name"]] - scale_min) / span for c in items)
    return total / weight if weight else 0.0


def weighted_total(rubric: Rubric, scores: dict[str, float]) -> float:
    """A judge's total on the problem statement's rubric (0..1)."""
    return scaled_total(rubric.criteria["items"], rubric.scale_min, rubric.scale_max, scores)


def scores_of(session: Session, *, competition: Competition, actor: User) -> list[RubricScore]:
    """Every rubric score of the competition (its staff)."""
    if not is_staff(actor, competition):
        raise Forbidden(f"only the staff of {competition.slug!r} see every rubric score")
    return list(
        session.scalars(
            select(RubricScore)
            .where(RubricScore.competition_id == competition.id)
            .order_by(RubricScore.id)
        )
    )


def may_read_report(session: Session, *, competition: Competition, user: User, team: Team) -> bool:
    """Team members, the competition's staff and assigned judges without a conflict."""
    if any(m.user_id == user.id for m in team.members) or is_staff(user, competition):
        return True
    return is_judge(session, competition=competition, user=user) and (
        conflict_of(session, judge=user, team=team) is None
    )

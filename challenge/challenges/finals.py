"""The global round: hosts nominate finalists, the jury scores them, awards, published results.

The challenge's organiser (or an admin) sets the jury's rubric, appoints the jury, names the awards
and publishes the results, which issues the certificates (`certificates.py`). A host nominates teams
of the problem statements they manage. Jurors score finalists under the same conflict-of-interest
rule as rubric judges. Nominations and scores are audited on the finalist's problem statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.challenges import rubrics, service
from challenge.challenges.models import Award, Challenge, Finalist, FinalScore, JuryMember
from challenge.competitions.models import Competition
from challenge.competitions.staff import require_manager
from challenge.db.base import utcnow
from challenge.errors import Conflict, Forbidden, NotFound, ValidationFailed
from challenge.judging import audit
from challenge.teams.models import Team


def require_organiser(user: User, challenge: Challenge) -> None:
    """Raise Forbidden unless the user organises the challenge (or is an admin)."""
    if not service.is_organiser(user, challenge):
        raise Forbidden(f"only the organiser of {challenge.slug!r} or an admin may do this")


def set_rubric(
    session: Session,
    *,
    challenge: Challenge,
    actor: User,
    criteria: list[dict[str, Any]],
    scale_min: int,
    scale_max: int,
    instructions: str,
) -> Challenge:
    """Set the jury's rubric (the organiser)."""
    require_organiser(actor, challenge)
    if scale_max <= scale_min:
        raise ValidationFailed("scale_max must be greater than scale_min")
    names = [c["name"] for c in criteria]
    if len(set(names)) != len(names):
        raise ValidationFailed(f"criterion names must be unique, got {names}")
    challenge.final_rubric = {
        "criteria": criteria,
        "scale_min": scale_min,
        "scale_max": scale_max,
        "instructions": instructions,
    }
    session.flush()
    return challenge


def finalists(session: Session, *, challenge: Challenge) -> list[Finalist]:
    """The challenge's finalists, in the order they were nominated."""
    return list(
        session.scalars(
            select(Finalist).where(Finalist.challenge_id == challenge.id).order_by(Finalist.id)
        )
    )


def nominate(
    session: Session,
    *,
    challenge: Challenge,
    actor: User,
    competition: Competition,
    team_id: int,
    presentation_url: str,
) -> Finalist:
    """Nominate a team of a problem statement the actor hosts; audited."""
    require_manager(actor, competition)
    problem = service.problem_of(session, competition_id=competition.id)
    if problem is None or problem.challenge_id != challenge.id:
        raise ValidationFailed(
            f"{competition.slug!r} is not a problem statement of {challenge.slug!r}"
        )
    if challenge.results_published_at is not None:
        raise Conflict(f"the results of {challenge.slug!r} are published; finalists are fixed")
    team = session.get(Team, team_id)
    if team is None or team.competition_id != competition.id or team.is_baseline:
        raise NotFound(f"team {team_id} is not a team of {competition.slug!r}")
    if team.disqualified_reason:
        raise Conflict(f"team {team.name!r} is disqualified: {team.disqualified_reason}")
    current = session.scalar(
        select(Finalist).where(Finalist.challenge_id == challenge.id, Finalist.team_id == team.id)
    )
    if current is not None:
        current.presentation_url = presentation_url or current.presentation_url
        session.flush()
        return current
    finalist = Finalist(
        challenge_id=challenge.id,
        competition_id=competition.id,
        team_id=team.id,
        presentation_url=presentation_url,
        nominated_by_id=actor.id,
    )
    session.add(finalist)
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=actor,
        action="final.nominated",
        target=team.name,
        reason=f"finalist of {challenge.slug}",
    )
    return finalist


def jury(session: Session, *, challenge: Challenge) -> list[JuryMember]:
    """The challenge's jury."""
    return list(
        session.scalars(
            select(JuryMember)
            .where(JuryMember.challenge_id == challenge.id)
            .order_by(JuryMember.id)
        )
    )


def appoint(session: Session, *, challenge: Challenge, actor: User, username: str) -> JuryMember:
    """Appoint a juror (a user with the judge or host role) (the organiser)."""
    require_organiser(actor, challenge)
    user = accounts.get_by_username(session, username=username)
    if user is None or not user.is_active:
        raise NotFound(f"there is no active user {username!r}")
    if user.role is Role.PARTICIPANT:
        raise Forbidden(f"{username!r} is a participant; jurors have the judge or host role")
    current = session.scalar(
        select(JuryMember).where(
            JuryMember.challenge_id == challenge.id, JuryMember.user_id == user.id
        )
    )
    if current is not None:
        return current
    member = JuryMember(challenge_id=challenge.id, user_id=user.id)
    session.add(member)
    session.flush()
    return member


def score(
    session: Session,
    *,
    challenge: Challenge,
    juror: User,
    finalist_id: int,
    scores: dict[str, float],
    comment: str,
) -> FinalScore:
    """A juror scores a finalist's presentation on the challenge's rubric; audited."""
    rubric = challenge.final_rubric
    if not rubric:
        raise NotFound(
            f"{challenge.slug!r} has no jury rubric yet; its organiser sets it with "
            f"PUT /api/v1/challenges/{challenge.slug}/rubric"
        )
    if not any(m.user_id == juror.id for m in jury(session, challenge=challenge)):
        raise Forbidden(f"only the jury of {challenge.slug!r} scores its finalists")
    if challenge.results_published_at is not None:
        raise Conflict(f"the results of {challenge.slug!r} are published; scores are final")
    finalist = session.get(Finalist, finalist_id)
    if finalist is None or finalist.challenge_id != challenge.id:
        raise NotFound(f"finalist {finalist_id} is not a finalist of {challenge.slug!r}")
    team = session.get(Team, finalist.team_id)
    assert team is not None
    conflict = rubrics.conflict_of(session, judge=juror, team=team)
    if conflict is not None:
        raise Forbidden(f"conflict of interest: {conflict}; another juror scores this finalist")
    items = rubric["criteria"]
    rubrics.check_scores(items, rubric["scale_min"], rubric["scale_max"], scores)
    total = rubrics.scaled_total(items, rubric["scale_min"], rubric["scale_max"], scores)
    row = session.scalar(
        select(FinalScore).where(
            FinalScore.finalist_id == finalist.id, FinalScore.juror_id == juror.id
        )
    ) or FinalScore(challenge_id=challenge.id, finalist_id=finalist.id, juror_id=juror.id)
    row.scores, row.total, row.comment, row.updated_at = dict(scores), total, comment, utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        competition_id=finalist.competition_id,
        actor=juror,
        action="final.scored",
        target=team.name,
        reason=", ".join(f"{k}={v:g}" for k, v in sorted(scores.items())) + f"; total {total:.3f}",
    )
    return row


@dataclass(frozen=True)
class Ranked:
    """A finalist's place in the global ranking."""

    rank: int
    finalist: Finalist
    team: Team
    competition: Competition
    score: float | None
    jurors: int
    awards: list[Award]


def can_see_ranking(session: Session, *, challenge: Challenge, user: User | None) -> bool:
    """Everyone once published; before, the organiser, admins and the jury."""
    if challenge.results_published_at is not None or service.is_organiser(user, challenge):
        return True
    return user is not None and any(
        m.user_id == user.id for m in jury(session, challenge=challenge)
    )


def ranking(session: Session, *, challenge: Challenge, user: User | None) -> list[Ranked]:
    """Finalists by their mean jury score (unscored last), with their awards."""
    if not can_see_ranking(session, challenge=challenge, user=user):
        raise Forbidden(f"the global ranking of {challenge.slug!r} is shown once published")
    totals: dict[int, list[float]] = {}
    for finalist_id, total in session.execute(
        select(FinalScore.finalist_id, FinalScore.total).where(
            FinalScore.challenge_id == challenge.id
        )
    ):
        totals.setdefault(finalist_id, []).append(total)
    awards: dict[int, list[Award]] = {}
    for award in awards_of(session, challenge=challenge):
        awards.setdefault(award.finalist_id, []).append(award)
    rows = []
    for finalist in finalists(session, challenge=challenge):
        team = session.get(Team, finalist.team_id)
        competition = session.get(Competition, finalist.competition_id)
        assert team is not None and competition is not None
        given = totals.get(finalist.id, [])
        mean = round(sum(given) / len(given), 6) if given else None
        rows.append((finalist, team, competition, mean, len(given)))
    rows.sort(key=lambda r: (r[3] is None, -(r[3] or 0.0), r[0].id))
    return [
        Ranked(position, f, t, c, mean, count, awards.get(f.id, []))
        for position, (f, t, c, mean, count) in enumerate(rows, start=1)
    ]


def awards_of(session: Session, *, challenge: Challenge) -> list[Award]:
    """The challenge's awards."""
    return list(
        session.scalars(select(Award).where(Award.challenge_id == challenge.id).order_by(Award.id))
    )


def add_award(
    session: Session,
    *,
    challenge: Challenge,
    actor: User,
    name: str,
    category: str,
    prize: str,
    finalist_id: int,
) -> Award:
    """Give an award (a prize or an award category) to a finalist (the organiser)."""
    require_organiser(actor, challenge)
    if challenge.results_published_at is not None:
        raise Conflict(f"the results of {challenge.slug!r} are published; awards are fixed")
    finalist = session.get(Finalist, finalist_id)
    if finalist is None or finalist.challenge_id != challenge.id:
        raise NotFound(f"finalist {finalist_id} is not a finalist of {challenge.slug!r}")
    award = Award(
        challenge_id=challenge.id,
        name=name,
        category=category,
        prize=prize,
        finalist_id=finalist.id,
    )
    session.add(award)
    session.flush()
    return award


def publish(session: Session, *, challenge: Challenge, actor: User) -> Challenge:
    """Publish the global ranking and awards, and issue the certificates (the organiser)."""
    from challenge.challenges import certificates

    require_organiser(actor, challenge)
    if challenge.results_published_at is None:
        challenge.results_published_at = utcnow()
        session.flush()
    certificates.issue(session, challenge=challenge)
    return challenge

"""Judges' actions on teams and submissions: annotate, flag, disqualify and reinstate (audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.competitions.staff import require_staff
from challenge.errors import Conflict, NotFound
from challenge.judging import audit
from challenge.judging.models import Annotation
from challenge.submissions.models import Submission
from challenge.teams.models import Team
from leaderboards.entries import refresh_team


def competition_of(session: Session, *, competition_id: int) -> Competition:
    """The competition with this id (it exists: rows refer to it)."""
    competition = session.get(Competition, competition_id)
    assert competition is not None
    return competition


def judged_submission(session: Session, *, submission_id: int, user: User) -> Submission:
    """A submission the user may judge, or NotFound / Forbidden."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"submission {submission_id} does not exist")
    require_staff(user, competition_of(session, competition_id=submission.competition_id))
    return submission


def judged_team(session: Session, *, team_id: int, user: User) -> Team:
    """A team the user may judge, or NotFound / Forbidden."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    require_staff(user, competition_of(session, competition_id=team.competition_id))
    return team


def annotate_submission(
    session: Session, *, submission: Submission, user: User, text: str
) -> Annotation:
    """Add a judge's note to a submission."""
    annotation = Annotation(
        competition_id=submission.competition_id,
        team_id=submission.team_id,
        submission_id=submission.id,
        author_id=user.id,
        text=text,
    )
    session.add(annotation)
    session.flush()
    return annotation


def annotate_team(session: Session, *, team: Team, user: User, text: str) -> Annotation:
    """Add a judge's note to a team."""
    annotation = Annotation(
        competition_id=team.competition_id, team_id=team.id, author_id=user.id, text=text
    )
    session.add(annotation)
    session.flush()
    return annotation


def get_annotations(
    session: Session,
    *,
    competition_id: int,
    team_id: int | None = None,
    submission_id: int | None = None,
) -> list[Annotation]:
    """A competition's annotations (optionally of one team or one submission), oldest first."""
    query = select(Annotation).where(Annotation.competition_id == competition_id)
    if team_id is not None:
        query = query.where(Annotation.team_id == team_id)
    if submission_id is not None:
        query = query.where(Annotation.submission_id == submission_id)
    return list(session.scalars(query.order_by(Annotation.created_at, Annotation.id)))


def get_annotations_for(
    session: Session,
    *,
    slug: str,
    user: User,
    team_id: int | None = None,
    submission_id: int | None = None,
) -> list[Annotation]:
    """The annotations of a competition the user judges (optionally of one team or submission)."""
    competition = competitions.get_or_raise(session, slug=slug)
    require_staff(user, competition)
    return get_annotations(
        session, competition_id=competition.id, team_id=team_id, submission_id=submission_id
    )


def flag_submission(
    session: Session, *, submission: Submission, user: User, flagged: bool, reason: str
) -> Submission:
    """Flag a submission for review (or clear the flag); audited, the board is unchanged."""
    if submission.flagged == flagged:
        state = "flagged" if flagged else "not flagged"
        raise Conflict(f"submission {submission.id} is already {state}")
    submission.flagged = flagged
    audit.record(
        session,
        competition_id=submission.competition_id,
        actor=user,
        action="flag_submission" if flagged else "unflag_submission",
        target=f"submission:{submission.id}",
        reason=reason,
    )
    return submission


def disqualify_submission(
    session: Session, *, submission: Submission, user: User, reason: str
) -> Submission:
    """Stop a submission from counting on the boards; audited, the boards update at once."""
    if submission.disqualified_reason:
        raise Conflict(
            f"submission {submission.id} is already disqualified ({submission.disqualified_reason})"
        )
    submission.disqualified_reason = reason
    _record_and_refresh(
        session, submission=submission, user=user, action="disqualify_submission", reason=reason
    )
    return submission


def reinstate_submission(
    session: Session, *, submission: Submission, user: User, reason: str
) -> Submission:
    """Undo a submission's disqualification; audited, the boards update at once."""
    if not submission.disqualified_reason:
        raise Conflict(f"submission {submission.id} is not disqualified")
    submission.disqualified_reason = None
    _record_and_refresh(
        session, submission=submission, user=user, action="reinstate_submission", reason=reason
    )
    return submission


def _record_and_refresh(
    session: Session, *, submission: Submission, user: User, action: str, reason: str
) -> None:
    session.flush()
    audit.record(
        session,
        competition_id=submission.competition_id,
        actor=user,
        action=action,
        target=f"submission:{submission.id}",
        reason=reason,
    )
    refresh_team(
        session,
        competition=competition_of(session, competition_id=submission.competition_id),
        phase_id=submission.phase_id,
        team_id=submission.team_id,
    )


def disqualify_team(session: Session, *, team: Team, user: User, reason: str) -> Team:
    """Remove a team from the rankings and refuse its uploads; audited."""
    if team.disqualified_reason:
        raise Conflict(f"team {team.name!r} is already disqualified ({team.disqualified_reason})")
    team.disqualified_reason = reason
    session.flush()
    audit.record(
        session,
        competition_id=team.competition_id,
        actor=user,
        action="disqualify_team",
        target=f"team:{team.id}",
        reason=reason,
    )
    _refresh_everywhere(session, team=team)
    return team


def reinstate_team(session: Session, *, team: Team, user: User, reason: str) -> Team:
    """Undo a team's disqualification; audited."""
    if not team.disqualified_reason:
        raise Conflict(f"team {team.name!r} is not disqualified")
    team.disqualified_reason = None
    session.flush()
    audit.record(
        session,
        competition_id=team.competition_id,
        actor=user,
        action="reinstate_team",
        target=f"team:{team.id}",
        reason=reason,
    )
    _refresh_everywhere(session, team=team)
    return team


def _refresh_everywhere(session: Session, *, team: Team) -> None:
    """Recompute the team's entries in every phase, so that cached boards see the change."""
    competition = competition_of(session, competition_id=team.competition_id)
    for phase in competition.phases:
        refresh_team(session, competition=competition, phase_id=phase.id, team_id=team.id)

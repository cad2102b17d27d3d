"""The platform's events that notify people: results, finalization, announcements."""

from __future__ import annotations

from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import require_manager
from challenge.config import Settings
from challenge.notifications.models import NotificationKind
from challenge.notifications.service import competitors, notify, team_members
from challenge.submissions.models import Submission, SubmissionStatus


def submission_done(session: Session, *, settings: Settings, submission: Submission) -> None:
    """Tell the team that its submission finished or failed (cancellations stay silent)."""
    if submission.is_baseline or submission.status is SubmissionStatus.CANCELLED:
        return
    finished = submission.status is SubmissionStatus.FINISHED
    score = submission.public_score
    if finished:
        title = f"Submission {submission.id} finished" + (
            f": public score {score:.6g}" if score is not None else ""
        )
        body = f"{submission.file_name} was scored; see its page for the scores and the board."
    else:
        reason = submission.failure_reason.value if submission.failure_reason else "failed"
        title = f"Submission {submission.id} failed ({reason})"
        body = (submission.error or "See its page for the logs.")[:1000]
    notify(
        session,
        settings=settings,
        user_ids=team_members(session, team_id=submission.team_id),
        kind=NotificationKind.SUBMISSION_FINISHED
        if finished
        else NotificationKind.SUBMISSION_FAILED,
        title=title,
        body=body,
        link=f"/submissions/{submission.id}",
    )


def phase_finalized(
    session: Session, *, settings: Settings, competition: Competition, phase: Phase
) -> None:
    """Tell every competitor that a phase's private board is published."""
    notify(
        session,
        settings=settings,
        user_ids=competitors(session, competition=competition),
        kind=NotificationKind.PHASE_FINALIZED,
        title=f"{competition.title}: phase {phase.name} is finalized",
        body="The final standings and the private leaderboard are published.",
        link=f"/competitions/{competition.slug}/leaderboard?board=private&phase={phase.name}",
    )


def announce(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    actor: User,
    title: str,
    body: str,
) -> int:
    """A host's announcement to every competitor of the competition; returns how many got it."""
    require_manager(actor, competition)
    return notify(
        session,
        settings=settings,
        user_ids=competitors(session, competition=competition),
        kind=NotificationKind.ANNOUNCEMENT,
        title=f"{competition.title}: {title}",
        body=body,
        link=f"/competitions/{competition.slug}",
    )

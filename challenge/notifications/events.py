"""The platform's events that notify people: results, finalization, announcements."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, CompetitionStatus, Phase
from challenge.competitions.staff import require_manager
from challenge.config import Settings
from challenge.db.base import utcnow
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


def phase_changes(session: Session, *, settings: Settings) -> int:
    """Tell competitors of published competitions that a phase opened or closed, once per phase
    and change (a conditional update claims it, so several workers send it once); returns how
    many changes were announced."""
    now = utcnow()
    announced = 0
    checks = (
        (Phase.opened_notified_at, Phase.start_at, NotificationKind.PHASE_OPENED, "is open"),
        (Phase.closed_notified_at, Phase.end_at, NotificationKind.PHASE_CLOSED, "has closed"),
    )
    for marker, moment, kind, what in checks:
        due = session.execute(
            select(Phase, Competition)
            .join(Competition, Competition.id == Phase.competition_id)
            .where(
                marker.is_(None),
                moment.is_not(None),
                moment <= now,
                Competition.status == CompetitionStatus.PUBLISHED,
            )
        ).all()
        for phase, competition in due:
            claimed = session.execute(
                update(Phase)
                .where(Phase.id == phase.id, marker.is_(None))
                .values({marker.key: now})
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                continue
            notify(
                session,
                settings=settings,
                user_ids=competitors(session, competition=competition),
                kind=kind,
                title=f"{competition.title}: phase {phase.name} {what}",
                body=(
                    "Submit on the competition's page or with `mlchallenge submit`."
                    if kind is NotificationKind.PHASE_OPENED
                    else "It takes no more submissions; the judges finalize it next."
                ),
                link=f"/competitions/{competition.slug}",
            )
            announced += 1
    return announced

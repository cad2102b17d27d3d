"""Re-running submissions (one, a set, or a whole competition) and their score history."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition
from challenge.competitions.staff import require_staff
from challenge.config import Settings
from challenge.db.session import after_commit
from challenge.errors import BadRequest, Conflict, NotFound
from challenge.judging import audit
from challenge.judging.service import competition_of, judged_submission
from challenge.submissions import lifecycle
from challenge.submissions.models import ScoreRecord, Submission, SubmissionStatus
from challenge.submissions.service import get_visible, may_see_private, queue_of
from mlfo.worker.dispatch import dispatch


@dataclass
class RescoreReport:
    """What a re-score request did: the ids put back in the queue, and those left as they are."""

    queued: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def rescore(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    user: User,
    reason: str,
    submission_ids: list[int] | None = None,
) -> RescoreReport:
    """Put finished or failed submissions back in the queue (all of the competition's if no ids).

    Quotas are untouched (no new submission is created); each run's result becomes a new version
    in the submission's score history, with `reason`.
    """
    require_staff(user, competition)
    query = select(Submission).where(Submission.competition_id == competition.id)
    if submission_ids is not None:
        query = query.where(Submission.id.in_(submission_ids))
    rows = {s.id: s for s in session.scalars(query.order_by(Submission.id).with_for_update())}
    report = RescoreReport()
    if submission_ids is not None:
        missing = sorted(set(submission_ids) - set(rows))
        if missing:
            raise NotFound(
                f"no submission {', '.join(map(str, missing))} in {competition.slug!r}; "
                "re-score only this competition's submissions"
            )
    for submission in rows.values():
        status = SubmissionStatus(submission.status)
        if status not in lifecycle.RERUNNABLE:
            report.skipped[submission.id] = f"it is {status.value}"
            continue
        lifecycle.rerun(submission, reason=reason)
        report.queued.append(submission.id)
    if submission_ids is not None and len(submission_ids) == 1 and not report.queued:
        only = submission_ids[0]
        raise Conflict(
            f"submission {only} cannot be re-run: {report.skipped[only]}; only finished or "
            "failed submissions can"
        )
    if not report.queued:
        raise BadRequest(f"no finished or failed submission to re-run in {competition.slug!r}")
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=user,
        action="rescore",
        target=_target(report.queued),
        reason=f"{reason} (submissions {', '.join(map(str, report.queued))})",
    )
    queue, ids = queue_of(competition), list(report.queued)
    after_commit(session, lambda: [dispatch(settings, i, queue) for i in ids])
    return report


def _target(ids: list[int]) -> str:
    return f"submission:{ids[0]}" if len(ids) == 1 else f"submissions:{len(ids)}"


def history(session: Session, *, submission: Submission) -> list[ScoreRecord]:
    """Every evaluation result of a submission, oldest version first (none is ever overwritten)."""
    return list(
        session.scalars(
            select(ScoreRecord)
            .where(ScoreRecord.submission_id == submission.id)
            .order_by(ScoreRecord.version, ScoreRecord.id)
        )
    )


def rescore_submission(
    session: Session, *, settings: Settings, submission_id: int, user: User, reason: str
) -> RescoreReport:
    """Re-run one submission (finished or failed) for a judge."""
    submission = judged_submission(session, submission_id=submission_id, user=user)
    competition = competition_of(session, competition_id=submission.competition_id)
    return rescore(
        session,
        settings=settings,
        competition=competition,
        user=user,
        reason=reason,
        submission_ids=[submission.id],
    )


def visible_history(
    session: Session, *, submission_id: int, user: User
) -> tuple[list[ScoreRecord], bool]:
    """A submission's score history for its team or staff, and whether private scores show."""
    submission = get_visible(session, submission_id=submission_id, user=user)
    show_private = may_see_private(session, submission=submission, user=user)
    return history(session, submission=submission), show_private

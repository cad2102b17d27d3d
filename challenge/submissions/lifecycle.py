"""The life of a submission: the one module that changes its status and failure reason.

    queued  --claim (a worker's lease)-->  running
    running --a result is recorded-->      finished | failed | cancelled
    running --platform fault, lost worker-> queued (retried), or failed as `infrastructure_error`
                                           past the retry limit: no quota used
    queued  --cancel-->                    cancelled   (a running one is asked to stop, and ends
                                                        cancelled when its worker records it)
    finished | failed --a judge's re-run--> queued     (the next result is a new score version)

The claim and the lease renewals are conditional updates of the lease machinery
(`mlfo.worker.leases`); every other change goes through the functions below, and a change the
table does not allow raises `IllegalTransition`.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.db.base import utcnow
from challenge.db.session import after_commit
from challenge.errors import BadRequest
from challenge.observability import metrics
from challenge.submissions.models import (
    FailureReason,
    ScoreRecord,
    Submission,
    SubmissionStatus,
)
from mlfo.evaluation import EvaluationResult
from sandbox import Outcome

QUEUED, RUNNING = SubmissionStatus.QUEUED, SubmissionStatus.RUNNING
FINISHED, FAILED = SubmissionStatus.FINISHED, SubmissionStatus.FAILED
CANCELLED = SubmissionStatus.CANCELLED

TRANSITIONS: dict[SubmissionStatus, frozenset[SubmissionStatus]] = {
    QUEUED: frozenset({RUNNING, CANCELLED}),
    RUNNING: frozenset({FINISHED, FAILED, CANCELLED, QUEUED}),
    FINISHED: frozenset({QUEUED}),
    FAILED: frozenset({QUEUED}),
    CANCELLED: frozenset(),
}
"""The status changes a submission may make (the diagram above)."""
RERUNNABLE = frozenset({FINISHED, FAILED})
"""Statuses a judge can re-run from."""
LOG_CAP = 256 * 1024
"""The model's captured output kept with the submission (head and tail when longer)."""


class IllegalTransition(RuntimeError):
    """A status change the life cycle does not allow: a bug in the caller, never a user error."""


def require(current: SubmissionStatus, new: SubmissionStatus) -> None:
    """Raise IllegalTransition unless a submission may go from `current` to `new`."""
    if new not in TRANSITIONS[SubmissionStatus(current)]:
        raise IllegalTransition(f"a submission cannot go from {current} to {new}")


def _move(submission: Submission, new: SubmissionStatus, **values: Any) -> None:
    require(submission.status, new)
    submission.status = new
    for name, value in values.items():
        setattr(submission, name, value)


def record(
    session: Session, *, submission: Submission, result: EvaluationResult, reason: str = "initial"
) -> ScoreRecord:
    """Record a running submission's result: its status, scores and a new score version.

    A platform fault is not a result (see `after_platform_fault`); a failure of the submission
    uses quota, a cancelled run does not count as a failure."""
    if submission.rescore_reason:  # a judge's re-run: its reason goes into the ScoreRecord
        reason, submission.rescore_reason = submission.rescore_reason, None
    outcome = Outcome(result.outcome)
    ok = outcome is Outcome.OK
    if ok:
        _move(submission, FINISHED, failure_reason=None)
    elif outcome is Outcome.CANCELLED:
        _move(submission, CANCELLED, failure_reason=FailureReason.CANCELLED)
    else:
        counts = outcome is not Outcome.INFRASTRUCTURE_ERROR
        _move(submission, FAILED, failure_reason=outcome, counts_toward_quota=counts)
    submission.error = (result.message or "")[:10_000]
    submission.logs = cap_logs(result.logs or "")
    submission.kpis = {k: float(v) for k, v in (result.kpis or {}).items()}
    submission.scores = _scores_json(result)
    submission.intervals = {
        split: list(interval) if interval else None
        for split, interval in (result.intervals or {}).items()
    }
    ranking = result.ranking_score or {}
    submission.valid = bool(result.valid)
    submission.public_score = ranking.get("public") if ok else None
    submission.private_score = ranking.get("private") if ok else None
    if ok and not result.valid:
        submission.error = result.invalid_reason or "below a validity floor of the competition"
    submission.mlflow_run_id = result.mlflow_run_id
    submission.finished_at = utcnow()
    submission.lease_expires_at = None
    submission.cancel_requested = False
    submission.score_version += 1
    competition = session.get(Competition, submission.competition_id)
    score = ScoreRecord(
        submission_id=submission.id,
        version=submission.score_version,
        reason=reason,
        status=submission.status.value,
        failure_reason=None if ok else outcome.value,
        scores=submission.scores,
        kpis=submission.kpis,
        public_score=submission.public_score,
        private_score=submission.private_score,
        mlflow_run_id=submission.mlflow_run_id,
        data_version=competition.data_version if competition else 1,
    )
    session.add(score)
    session.flush()
    after_commit(session, partial(metrics.count_outcome, outcome.value))
    return score


def _scores_json(result: EvaluationResult) -> dict[str, Any]:
    scores: dict[str, Any] = {split: dict(m) for split, m in (result.scores or {}).items()}
    if result.metric_errors:
        scores["errors"] = dict(result.metric_errors)
    return scores


def cap_logs(text: str) -> str:
    """The logs as kept: at most LOG_CAP characters, the start and the end of longer ones."""
    if len(text) <= LOG_CAP:
        return text
    return text[: LOG_CAP - 200] + "\n[... logs truncated by the platform ...]\n" + text[-150:]


def platform_fault(
    *, attempts: int, max_attempts: int, cause: str, now: datetime
) -> dict[str, Any]:
    """The columns of a running submission the platform failed to evaluate (a fault of ours, or
    its worker lost): back on its queue, or past `max_attempts` failed without using quota."""
    if attempts < max_attempts:
        require(RUNNING, QUEUED)
        return {
            "status": QUEUED,
            "claim_token": None,
            "lease_expires_at": None,
            "dispatched_at": None,
        }
    require(RUNNING, FAILED)
    return {
        "status": FAILED,
        "failure_reason": FailureReason.INFRASTRUCTURE_ERROR,
        "counts_toward_quota": False,
        "error": (
            f"the platform failed to evaluate this submission {attempts} times ({cause}); "
            "it does not count toward your limits, please submit again"
        ),
        "finished_at": now,
        "lease_expires_at": None,
    }


def after_platform_fault(
    session: Session, submission: Submission, *, max_attempts: int, cause: str
) -> bool:
    """Apply `platform_fault` to a loaded running submission; True when it is queued again."""
    values = platform_fault(
        attempts=submission.attempts, max_attempts=max_attempts, cause=cause, now=utcnow()
    )
    _move(submission, values.pop("status"), **values)
    if submission.status is FAILED:
        after_commit(session, partial(metrics.count_outcome, Outcome.INFRASTRUCTURE_ERROR.value))
    return submission.status is QUEUED


def rerun(submission: Submission, *, reason: str) -> None:
    """Put a finished or failed submission back on its queue for a judge's re-run (no quota)."""
    if submission.status not in RERUNNABLE:
        raise IllegalTransition(f"a {submission.status} submission cannot be re-run")
    _move(
        submission,
        QUEUED,
        rescore_reason=reason[:200],
        claim_token=None,
        worker=None,
        lease_expires_at=None,
        dispatched_at=None,
        cancel_requested=False,
        attempts=0,
    )


def cancel(session: Session, *, submission: Submission, by: str) -> None:
    """Cancel a queued submission, or ask the worker of a running one to stop."""
    if SubmissionStatus(submission.status).is_terminal:
        raise BadRequest(f"submission {submission.id} is already {submission.status}")
    require(QUEUED, CANCELLED)
    cancelled = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == QUEUED)
        .values(
            status=CANCELLED,
            failure_reason=FailureReason.CANCELLED,
            error=f"cancelled by {by}",
            finished_at=utcnow(),
        )
    )
    if cancelled.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            update(Submission).where(Submission.id == submission.id).values(cancel_requested=True)
        )
    session.refresh(submission)

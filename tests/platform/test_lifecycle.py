"""The submission life cycle: one table of transitions, and nothing else changes a status."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from challenge.submissions import lifecycle
from challenge.submissions.lifecycle import IllegalTransition
from challenge.submissions.models import FailureReason, Submission, SubmissionStatus
from mlfo.evaluation import EvaluationResult

S = SubmissionStatus
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_every_status_has_its_transitions_and_cancelled_is_final() -> None:
    assert set(lifecycle.TRANSITIONS) == set(SubmissionStatus)
    assert lifecycle.TRANSITIONS[S.CANCELLED] == frozenset()
    assert {S.FINISHED, S.FAILED} == lifecycle.RERUNNABLE
    for status in lifecycle.RERUNNABLE:
        lifecycle.require(status, S.QUEUED)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.FINISHED),
        (S.QUEUED, S.FAILED),
        (S.FINISHED, S.RUNNING),
        (S.FAILED, S.FINISHED),
        (S.CANCELLED, S.QUEUED),
        (S.RUNNING, S.RUNNING),
    ],
)
def test_an_illegal_transition_raises(current: SubmissionStatus, new: SubmissionStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {new}"):
        lifecycle.require(current, new)


def test_a_rerun_of_a_running_or_cancelled_submission_changes_nothing() -> None:
    for status in (S.QUEUED, S.RUNNING, S.CANCELLED):
        submission = Submission(status=status, attempts=2)
        with pytest.raises(IllegalTransition):
            lifecycle.rerun(submission, reason="judge")
        assert submission.status is status and submission.attempts == 2


def test_a_result_is_recorded_only_for_a_running_submission(tmp_path: Path) -> None:
    submission = Submission(status=S.FINISHED, rescore_reason=None)
    with pytest.raises(IllegalTransition, match="from finished to finished"):
        lifecycle.record(None, submission=submission, result=EvaluationResult())  # type: ignore[arg-type]


def test_a_platform_fault_requeues_then_fails_without_using_quota() -> None:
    retry = lifecycle.platform_fault(attempts=1, max_attempts=3, cause="broker down", now=NOW)
    assert retry == {
        "status": S.QUEUED,
        "claim_token": None,
        "lease_expires_at": None,
        "dispatched_at": None,
    }
    given_up = lifecycle.platform_fault(attempts=3, max_attempts=3, cause="broker down", now=NOW)
    assert given_up["status"] is S.FAILED
    assert given_up["failure_reason"] is FailureReason.INFRASTRUCTURE_ERROR
    assert given_up["counts_toward_quota"] is False and given_up["finished_at"] == NOW
    assert "3 times (broker down)" in given_up["error"]
    assert "does not count toward your limits" in given_up["error"]
    submission = Submission(status=S.RUNNING, attempts=3, counts_toward_quota=True)
    session = Session()  # unbound: only its after-commit list is used
    assert lifecycle.after_platform_fault(session, submission, max_attempts=3, cause="x") is False
    assert submission.status is S.FAILED and submission.counts_toward_quota is False
    assert len(session.info["after_commit"]) == 1  # the failure is counted once committed


def test_logs_keep_their_start_and_end() -> None:
    text = "a" * lifecycle.LOG_CAP + "the end"
    kept = lifecycle.cap_logs(text)
    assert len(kept) < lifecycle.LOG_CAP and kept.endswith("the end")
    assert "logs truncated by the platform" in kept

"""Claims, leases, the reaper and retries, on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.files import storage
from challenge.submissions.models import Submission
from mlfo.worker.dispatch import SUBMISSIONS
from mlfo.worker.execution import claim, next_attempt_dir, run_evaluation
from mlfo.worker.reaper import reap
from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions


def row(settings: Any, submission_id: int) -> Submission:
    with transaction(settings.database_url) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        session.expunge(submission)
        return submission


def test_claim_is_exclusive(arena: Arena, settings: Any) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    with transaction(settings.database_url) as session:
        first = claim(session, submission_id=submission_id, worker="a", lease_s=30)
    with transaction(settings.database_url) as session:
        second = claim(session, submission_id=submission_id, worker="b", lease_s=30)
    assert first is not None and second is None
    assert run_evaluation(settings, submission_id, worker="c") == "skipped"


def expire(settings: Any, submission_id: int, attempts: int) -> None:
    with transaction(settings.database_url) as session:
        claim(session, submission_id=submission_id, worker="dead", lease_s=30)
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1), attempts=attempts)
        )


def test_reaper_requeues_an_expired_lease(arena: Arena, settings: Any) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    expire(settings, submission_id, attempts=1)
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(SUBMISSIONS)
    assert report.requeued == [submission_id] and submission_id in report.resent
    requeued = row(settings, submission_id)
    assert requeued.status == "queued" and requeued.claim_token is None
    assert run_evaluation(settings, submission_id, worker="next") == "finished"
    assert row(settings, submission_id).attempts == 2


def test_a_lease_renewed_after_the_reaper_looked_is_not_taken_back(
    arena: Arena, settings: Any
) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    expire(settings, submission_id, attempts=1)
    now = utcnow()
    with transaction(settings.database_url) as session:
        (stale,) = SUBMISSIONS.expired(session, now)
        session.expunge(stale)
    with transaction(settings.database_url) as session:  # the worker's heartbeat comes first
        assert SUBMISSIONS.renew(session, submission_id, str(stale.claim_token), lease_s=30)
    with transaction(settings.database_url) as session:
        assert not SUBMISSIONS.take_back(session, stale, now, SUBMISSIONS.requeued())
    assert row(settings, submission_id).status == "running"


def test_reaper_gives_up_without_using_quota(arena: Arena, settings: Any) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    expire(settings, submission_id, attempts=settings.max_attempts)
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(SUBMISSIONS)
    assert report.failed == [submission_id]
    failed = row(settings, submission_id)
    assert failed.status == "failed" and failed.failure_reason == "infrastructure_error"
    assert failed.counts_toward_quota is False
    assert "does not count" in failed.error


def test_reaper_sends_tasks_the_broker_never_got(arena: Arena, settings: Any) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    with transaction(settings.database_url) as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(dispatched_at=None, created_at=utcnow() - timedelta(seconds=30))
        )
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(SUBMISSIONS)
    assert report.resent == [submission_id]
    assert row(settings, submission_id).dispatched_at is not None


def test_platform_faults_retry_then_fail_without_quota(arena: Arena, settings: Any) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    labels = storage.labels_path(settings.labels, arena.slug)
    hidden = labels.with_suffix(".away")
    labels.rename(hidden)  # the storage fails: a platform fault, not the team's
    try:
        outcomes = []
        for _ in range(settings.max_attempts):
            with transaction(settings.database_url) as session:
                session.execute(
                    update(Submission)
                    .where(Submission.id == submission_id)
                    .values(created_at=utcnow())
                )
            outcomes.append(run_evaluation(settings, submission_id, worker="w"))
    finally:
        hidden.rename(labels)
    assert outcomes == ["requeued"] * (settings.max_attempts - 1) + ["failed"]
    failed = row(settings, submission_id)
    assert failed.failure_reason == "infrastructure_error" and not failed.counts_toward_quota


def test_participant_errors_never_retry(arena: Arena, settings: Any) -> None:
    # a model whose output has the wrong shape (a predictions file would be refused at upload)
    bad = b"def predict(features):\n    return [1.0]\n"
    submission_id = arena.submit(bad, name="model.py", format="python").json()["id"]
    assert run_evaluation(settings, submission_id, worker="w") == "finished"
    failed = row(settings, submission_id)
    assert failed.status == "failed" and failed.failure_reason == "invalid_output"
    assert failed.attempts == 1 and failed.counts_toward_quota


def test_cancel_requested_while_running_is_honoured(arena: Arena, settings: Any) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    with transaction(settings.database_url) as session:
        claim(session, submission_id=submission_id, worker="w", lease_s=30)
    response = arena.client.post(
        f"/api/v1/submissions/{submission_id}/cancel", headers=auth(arena.participant)
    )
    assert response.status_code == 200 and response.json()["status"] == "running"
    assert row(settings, submission_id).cancel_requested is True


def test_attempt_folders_are_never_reused(tmp_path: Path) -> None:
    first = next_attempt_dir(tmp_path)
    (first / "diagnostics.png").write_bytes(b"png")
    second = next_attempt_dir(tmp_path)
    assert (first.name, second.name) == ("attempt-1", "attempt-2")
    assert (first / "diagnostics.png").read_bytes() == b"png"


def test_a_lost_worker_s_unstarted_messages_are_sent_again(arena: Arena, settings: Any) -> None:
    """A worker killed with -9 may hold messages it received but never started: re-send them."""
    running = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    waiting = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    expire(settings, running, attempts=1)
    with transaction(settings.database_url) as session:
        session.execute(  # sent before the lost worker's lease ran out: it may have taken it
            update(Submission)
            .where(Submission.id == waiting)
            .values(dispatched_at=utcnow() - timedelta(seconds=5))
        )
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(SUBMISSIONS)
    assert report.requeued == [running] and report.resent == [running, waiting]
    with transaction(settings.database_url) as session:  # once per loss, not on every pass
        assert reap(session, settings=settings).of(SUBMISSIONS).resent == []
    assert run_evaluation(settings, waiting, worker="next") == "finished"


def test_a_re_send_that_meets_a_broker_down_leaves_the_row_unsent(
    arena: Arena, settings: Any
) -> None:
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    assert row(settings, submission_id).dispatched_at is not None
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    assert not SUBMISSIONS.send(down, submission_id, "cpu")
    assert row(settings, submission_id).dispatched_at is None  # the next reaper pass sends it
    with transaction(settings.database_url) as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(created_at=utcnow() - timedelta(seconds=30))
        )
    with transaction(settings.database_url) as session:
        assert reap(session, settings=settings).of(SUBMISSIONS).resent == [submission_id]

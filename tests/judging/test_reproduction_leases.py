"""Claims, leases and the reaper for reproductions, on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from challenge.competitions.models import Competition
from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.judging import leases, reproduction
from challenge.judging.models import Reproduction, ReproductionResult, ResultStatus
from challenge.submissions.models import Submission
from mlfo.worker.reaper import reap
from tests.arena import Arena
from tests.judging.helpers import judge_of
from tests.platform.helpers import auth, truth_predictions


def queued_reproduction(arena: Arena, settings: Any) -> int:
    """A queued reproduction of the arena's competition with one finished and one pending entry."""
    submission_id = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    judge = judge_of(arena)
    me = arena.client.get("/api/v1/users/me", headers=auth(judge)).json()
    with transaction(settings.database_url) as session:
        competition = session.scalar(select(Competition).where(Competition.slug == arena.slug))
        submission = session.get(Submission, submission_id)
        assert competition is not None and submission is not None
        row = Reproduction(
            competition_id=competition.id,
            phase_id=competition.phases[0].id,
            board="private",
            top_k=2,
            seed=7,
            size=100,
            requested_by_id=me["id"],
            dispatched_at=utcnow(),
        )
        for position, status in enumerate((ResultStatus.FINISHED, ResultStatus.PENDING)):
            row.results.append(
                ReproductionResult(
                    position=position,
                    team_id=submission.team_id,
                    submission_id=submission.id,
                    status=status,
                    reproduced_score=0.5 if status is ResultStatus.FINISHED else None,
                )
            )
        session.add(row)
        session.flush()
        return row.id


def running_with_expired_lease(settings: Any, reproduction_id: int, attempts: int) -> None:
    with transaction(settings.database_url) as session:
        held = leases.claim(session, reproduction_id=reproduction_id, worker="dead", lease_s=30)
        assert held is not None
        session.execute(
            update(Reproduction)
            .where(Reproduction.id == reproduction_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1), attempts=attempts)
        )


def load(settings: Any, reproduction_id: int) -> tuple[Reproduction, list[tuple[str, str]]]:
    with transaction(settings.database_url) as session:
        row = session.get(Reproduction, reproduction_id)
        assert row is not None
        results = [(r.status.value, r.message) for r in row.results]
        session.expunge(row)
        return row, results


def test_reaper_requeues_a_reproduction_whose_worker_was_lost(arena: Arena, settings: Any) -> None:
    reproduction_id = queued_reproduction(arena, settings)
    running_with_expired_lease(settings, reproduction_id, attempts=1)
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(leases.REPRODUCTIONS)
    assert report.requeued == [reproduction_id] and report.failed == []
    assert report.resent == [reproduction_id]
    row, results = load(settings, reproduction_id)
    assert row.status == "queued" and row.claim_token is None and row.lease_expires_at is None
    assert row.attempts == 1 and row.dispatched_at is not None  # sent again after the commit
    assert [status for status, _ in results] == ["finished", "pending"]


def test_reaper_fails_a_reproduction_past_the_attempt_limit(arena: Arena, settings: Any) -> None:
    reproduction_id = queued_reproduction(arena, settings)
    running_with_expired_lease(settings, reproduction_id, attempts=settings.max_attempts)
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(leases.REPRODUCTIONS)
    assert report.failed == [reproduction_id] and report.requeued == report.resent == []
    row, results = load(settings, reproduction_id)
    assert row.status == "failed" and row.finished_at is not None
    assert row.error == (
        f"the worker running this reproduction was lost {settings.max_attempts} times; "
        "request a new reproduction"
    )
    assert results == [("finished", ""), ("failed", "not run: the reproduction failed")]


def test_reaper_leaves_a_live_lease_alone(arena: Arena, settings: Any) -> None:
    reproduction_id = queued_reproduction(arena, settings)
    with transaction(settings.database_url) as session:
        held = leases.claim(session, reproduction_id=reproduction_id, worker="w", lease_s=30)
    assert held is not None
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(leases.REPRODUCTIONS)
    assert report.requeued == report.failed == report.resent == []
    assert load(settings, reproduction_id)[0].status == "running"


def test_reaper_sends_reproductions_the_broker_never_got(arena: Arena, settings: Any) -> None:
    reproduction_id = queued_reproduction(arena, settings)
    with transaction(settings.database_url) as session:
        session.execute(
            update(Reproduction)
            .where(Reproduction.id == reproduction_id)
            .values(dispatched_at=None, created_at=utcnow() - timedelta(seconds=30))
        )
    with transaction(settings.database_url) as session:
        report = reap(session, settings=settings).of(leases.REPRODUCTIONS)
    assert report.resent == [reproduction_id]
    assert load(settings, reproduction_id)[0].dispatched_at is not None


def test_a_second_delivery_never_runs_a_claimed_reproduction(arena: Arena, settings: Any) -> None:
    reproduction_id = queued_reproduction(arena, settings)
    with transaction(settings.database_url) as session:
        first = leases.claim(session, reproduction_id=reproduction_id, worker="a", lease_s=30)
    assert first is not None
    assert reproduction.run(settings, reproduction_id, worker="b") == "skipped"
    row, results = load(settings, reproduction_id)
    assert row.status == "running" and row.claim_token == first.token and row.attempts == 1
    assert [status for status, _ in results] == ["finished", "pending"]


def test_a_worker_that_lost_its_claim_can_write_nothing(arena: Arena, settings: Any) -> None:
    reproduction_id = queued_reproduction(arena, settings)
    with transaction(settings.database_url) as session:
        stale = leases.claim(session, reproduction_id=reproduction_id, worker="slow", lease_s=30)
        session.execute(
            update(Reproduction)
            .where(Reproduction.id == reproduction_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert stale is not None
    with transaction(settings.database_url) as session:
        assert reap(session, settings=settings).of(leases.REPRODUCTIONS).requeued == [
            reproduction_id
        ]
    with transaction(settings.database_url) as session:
        current = leases.claim(session, reproduction_id=reproduction_id, worker="next", lease_s=30)
    assert current is not None
    with transaction(settings.database_url) as session:
        assert leases.renew(session, held=stale, lease_s=30) is False
        assert leases.renew(session, held=current, lease_s=30) is True
    assert load(settings, reproduction_id)[0].attempts == 2

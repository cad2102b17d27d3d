"""Notifications: results, finalization and announcements, in the app and by email (opt-out)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from challenge.config import SmtpSecurity
from challenge.db.session import transaction
from challenge.notifications.events import submission_done
from challenge.submissions.models import FailureReason, Submission, SubmissionStatus
from mlfo.worker.execution import run_evaluation
from tests.arena import Arena
from tests.platform.helpers import auth, truth_predictions
from tests.platform.mailbox import smtp_server


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Any]:
    with smtp_server() as (box, port):
        settings.smtp_host, settings.smtp_port = "127.0.0.1", port
        settings.smtp_security = SmtpSecurity.NONE
        yield box


def inbox(arena: Arena, token: str, **params: Any) -> Any:
    return arena.client.get("/api/v1/notifications", params=params, headers=auth(token)).json()


def test_result_finalization_and_announcement(arena: Arena, settings: Any, mailbox: Any) -> None:
    good = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    assert run_evaluation(settings, good, worker="w") == "finished"
    bad = arena.submit(truth_predictions(arena.bundle)).json()["id"]
    with transaction(settings.database_url) as session:  # as the worker records a failure
        failed = session.get(Submission, bad)
        assert failed is not None
        failed.status, failed.failure_reason = SubmissionStatus.FAILED, FailureReason.TIMEOUT
        submission_done(session, settings=settings, submission=failed)
    page = inbox(arena, arena.participant)
    kinds = [item["kind"] for item in page["items"]]
    assert kinds == ["submission_failed", "submission_finished"] and page["unread"] == 2
    assert "timeout" in page["items"][0]["title"]
    assert page["items"][-1]["link"] == f"/submissions/{good}"
    messages = mailbox.wait(len(kinds))
    assert all(m["To"] == "alice@example.org" for m in messages)
    announced = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/announcements",
        json={"title": "Deadline moved", "body": "One more week."},
        headers=auth(arena.host),
    )
    assert announced.status_code == 201 and announced.json() == {"notified": 1}
    refused = arena.client.post(
        f"/api/v1/competitions/{arena.slug}/announcements",
        json={"title": "x"},
        headers=auth(arena.participant),
    )
    assert refused.status_code == 403
    muted = arena.client.put(
        "/api/v1/users/me/email-settings",
        json={"muted": ["phase_finalized"]},
        headers=auth(arena.participant),
    )
    assert muted.json() == {"muted": ["phase_finalized"]}
    sent_before = len(mailbox.wait(len(kinds) + 1))
    finalized = arena.client.post(
        f"/api/v1/judging/competitions/{arena.slug}/finalize",
        json={"phase": "main", "reason": "end", "register_top": 0},
        headers=auth(arena.host),
    )
    assert finalized.status_code == 200, finalized.text
    latest = inbox(arena, arena.participant)["items"][0]
    assert latest["kind"] == "phase_finalized"  # in the app, though muted by email
    assert len(mailbox.messages) == sent_before
    marked = arena.client.post(
        "/api/v1/notifications/read", json={"all": True}, headers=auth(arena.participant)
    )
    assert marked.json()["marked"] >= 3
    assert inbox(arena, arena.participant, unread="true")["total"] == 0
    bad_kind = arena.client.put(
        "/api/v1/users/me/email-settings", json={"muted": ["spam"]}, headers=auth(arena.host)
    )
    assert bad_kind.status_code == 422


def test_phase_opened_and_closed_are_announced_once(arena: Arena, settings: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from challenge.competitions.models import Phase
    from challenge.db.base import utcnow
    from challenge.notifications.events import phase_changes

    with transaction(settings.database_url) as session:
        assert phase_changes(session, settings=settings) == 1  # "main" has started
    with transaction(settings.database_url) as session:
        assert phase_changes(session, settings=settings) == 0  # once
        session.execute(update(Phase).values(end_at=utcnow() - timedelta(minutes=1)))
    with transaction(settings.database_url) as session:
        assert phase_changes(session, settings=settings) == 1
    kinds = [item["kind"] for item in inbox(arena, arena.participant)["items"]]
    assert kinds == ["phase_closed", "phase_opened"]

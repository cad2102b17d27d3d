"""Test helpers that play the worker: finish a submission with scores and update the boards."""

from __future__ import annotations

from typing import Any

from challenge.competitions.models import Competition
from challenge.db.base import utcnow
from challenge.db.session import transaction
from challenge.submissions.models import Submission, SubmissionStatus
from leaderboards.entries import refresh_team


def finish(
    settings: Any, submission_id: int, *, public: float, private: float, run_id: str | None = None
) -> None:
    """Mark a submission finished with these MAE scores and refresh its team's entries."""
    with transaction(settings.database_url) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.status = SubmissionStatus.FINISHED
        submission.public_score, submission.private_score = public, private
        submission.scores = {"public": {"mae": public}, "private": {"mae": private}}
        submission.intervals = {
            "public": [public * 0.9, public * 1.1],
            "private": [private * 0.9, private * 1.1],
        }
        submission.kpis = {"latency_ms": 1.5}
        submission.logs = "fitting <model>\ndone\n"
        submission.mlflow_run_id = run_id
        submission.finished_at = utcnow()
        session.flush()
        competition = session.get(Competition, submission.competition_id)
        assert competition is not None
        refresh_team(
            session,
            competition=competition,
            phase_id=submission.phase_id,
            team_id=submission.team_id,
        )

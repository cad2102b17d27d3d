"""The leaderboard sink: a commit sink of the MLFO (entry point `mlchallenge.commit_sinks`,
name `leaderboard`), called in the transaction that records a result when the intent lists it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.submissions.models import Submission
from leaderboards.entries import refresh_team


def update_leaderboard(session: Session, submission: Submission) -> None:
    """Bring the submission's team entries up to date on both boards of its phase."""
    competition = session.get(Competition, submission.competition_id)
    assert competition is not None
    refresh_team(
        session, competition=competition, phase_id=submission.phase_id, team_id=submission.team_id
    )

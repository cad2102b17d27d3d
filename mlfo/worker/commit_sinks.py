"""Commit sinks (the leaderboard, plug-ins): run by the worker in the transaction that records a
result, so that a result and what its sinks write are committed together or not at all.

Only the sinks the competition's intent lists run, in the intent's order (see `mlfo.sinks`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.submissions.models import Submission
from mlfo.intent import Intent
from mlfo.sinks import commit_sink, is_commit_sink


def run_commit_sinks(session: Session, submission: Submission) -> list[str]:
    """Call each commit sink the submission's competition lists; returns their names."""
    competition = session.get(Competition, submission.competition_id)
    assert competition is not None
    ran = []
    for sink in Intent.model_validate(competition.intent).sinks:
        if not is_commit_sink(sink.kind):
            continue
        entry = commit_sink(sink.kind)
        entry.parse_params(sink.params)
        entry.impl(session, submission)
        ran.append(sink.kind)
    return ran

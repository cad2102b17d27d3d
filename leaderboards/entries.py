"""Keeping a team's leaderboard entries up to date, incrementally, when one of its results lands."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.db.base import utcnow
from challenge.submissions.models import Submission, SubmissionStatus
from challenge.teams.models import Team
from leaderboards.models import LeaderboardEntry, ScoreHistory
from leaderboards.ranking import SubmissionRow, select_rows
from mlfo.intent import Intent

BOARDS = ("public", "private")
SINK_NAME = "leaderboard"
"""The intent's sink that puts a competition's results on its boards (see `leaderboards.sink`)."""


def publishes(intent: Intent) -> bool:
    """Whether the competition's results go on its boards: its intent lists the leaderboard sink."""
    return any(sink.kind == SINK_NAME for sink in intent.sinks)


def greater_is_better(intent: Intent, board: str = "public") -> bool:
    """The direction of the ranking score: the board's ranking column for a competition scored by
    programs, else the primary metric's, or lower-is-better for cost."""
    if intent.programs is not None:
        ranking = intent.programs.board(board)
        return ranking.column(ranking.rank_by).sorting == "desc"
    if intent.ranking.by == "cost":
        return False
    from challenge.scoring import get_scorer

    metric = intent.primary_metric
    return get_scorer(metric.name, **metric.params).greater_is_better


def refresh_team(
    session: Session, *, competition: Competition, phase_id: int, team_id: int
) -> None:
    """Recompute one team's entries on both boards of a phase (under the team's row lock); a
    competition whose intent does not list the leaderboard sink has no entries."""
    intent = Intent.model_validate(competition.intent)
    if not publishes(intent):
        return
    session.execute(
        update(Team).where(Team.id == team_id).values(submission_seq=Team.submission_seq)
    )
    team = session.get(Team, team_id)
    assert team is not None
    submissions = list(
        session.scalars(
            select(Submission).where(Submission.team_id == team_id, Submission.phase_id == phase_id)
        )
    )
    candidates = [
        s
        for s in submissions
        if s.status == SubmissionStatus.FINISHED and s.valid and not s.disqualified_reason
    ]
    by_id = {s.id: s for s in candidates}
    existing = {
        e.board: e
        for e in session.scalars(
            select(LeaderboardEntry).where(
                LeaderboardEntry.phase_id == phase_id, LeaderboardEntry.team_id == team_id
            )
        )
    }
    for board in BOARDS:
        higher = greater_is_better(intent, board)
        chosen = _counting(candidates, board, higher, competition.final_selection, by_id)
        entry = existing.get(board)
        if entry is None:
            if not submissions:
                continue
            entry = LeaderboardEntry(
                competition_id=competition.id, phase_id=phase_id, board=board, team_id=team_id
            )
            session.add(entry)
        score = None if chosen is None else getattr(chosen, f"{board}_score")
        improved = score is not None and (
            entry.score is None or (score > entry.score if higher else score < entry.score)
        )
        interval = None if chosen is None else (chosen.intervals or {}).get(board)
        entry.submission_id = None if chosen is None else chosen.id
        entry.score = score
        entry.scores = {} if chosen is None else dict((chosen.scores or {}).get(board) or {})
        entry.interval_low, entry.interval_high = interval if interval else (None, None)
        entry.submitted_at = None if chosen is None else chosen.created_at
        entry.is_baseline = team.is_baseline
        entry.updated_at = utcnow()
        if improved and chosen is not None and score is not None:
            session.add(
                ScoreHistory(
                    phase_id=phase_id,
                    board=board,
                    team_id=team_id,
                    score=score,
                    submission_id=chosen.id,
                    at=chosen.finished_at or utcnow(),
                )
            )
    session.flush()


def _counting(
    candidates: list[Submission],
    board: str,
    higher: bool,
    final_selection: int,
    by_id: dict[int, Submission],
) -> Submission | None:
    """The submission that counts for the team on `board` (rules of `leaderboards.ranking`)."""
    rows = [
        SubmissionRow(
            team_id=s.team_id,
            submission_id=s.id,
            submitted_at=s.created_at,
            score=getattr(s, f"{board}_score"),
            public_score=s.public_score,
            selected_final=s.selected_final,
        )
        for s in candidates
    ]
    selected = select_rows(rows, greater_is_better=higher, final_selection=final_selection)
    if not selected or selected[0].submission_id is None:
        return None
    return by_id[int(selected[0].submission_id)]

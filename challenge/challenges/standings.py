"""Final standings of a problem statement: the metric rank and the rubric score, weighed.

Components, each in 0..1: the metric component is 1 for the first of the n ranked teams and falls
linearly to 0 for the last ((n - rank) / (n - 1); 1 when n is 1; 0 for an unranked team); the
rubric component is the mean of the judges' weighted totals (0 for a team without scores). The
combined score is `metric_weight * metric + (1 - metric_weight) * rubric`; ties keep the metric
order. The private board is used when the caller may see it, else the public one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges import rubrics
from challenge.challenges.models import RubricScore
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.teams.models import Team
from leaderboards import service as boards


@dataclass(frozen=True)
class Standing:
    """One team's final standing with every component."""

    rank: int
    team_id: int
    team_name: str
    metric_rank: int | None
    metric_score: float | None
    metric_component: float
    rubric_component: float | None
    rubric_judges: int
    combined: float


@dataclass(frozen=True)
class Standings:
    """The standings of a problem statement and how they were computed."""

    board: str
    phase: str
    metric: str
    metric_weight: float
    rubric_weight: float
    rows: list[Standing]


def compute(session: Session, *, competition: Competition, user: User | None) -> Standings:
    """The combined standings of the competition's latest phase (see the module's rules)."""
    rubric = rubrics.get_or_raise(session, competition=competition)
    phase = competitions.latest_phase(competition)
    board_name = "private" if boards.can_see_private(user, competition, phase) else "public"
    board = boards.get_board(
        session, competition=competition, phase=phase, board=board_name, user=user
    )
    ranked = [r for r in board.rows if not r["is_baseline"] and r["rank"] is not None]
    count = len(ranked)
    metric: dict[int, tuple[int, float | None, float]] = {}
    for row in ranked:
        component = 1.0 if count == 1 else (count - row["rank"]) / (count - 1)
        metric[row["team"]["id"]] = (row["rank"], row["score"], component)
    totals: dict[int, list[float]] = {}
    for team_id, total in session.execute(
        select(RubricScore.team_id, RubricScore.total).where(
            RubricScore.competition_id == competition.id
        )
    ):
        totals.setdefault(team_id, []).append(total)
    team_ids = set(metric) | set(totals)
    names: dict[int, str] = {
        team_id: name
        for team_id, name in session.execute(
            select(Team.id, Team.name).where(Team.id.in_(team_ids))
        )
    }
    weight = rubric.metric_weight
    unsorted = []
    for team_id in team_ids:
        metric_rank, metric_score, metric_component = metric.get(team_id, (None, None, 0.0))
        given = totals.get(team_id, [])
        rubric_component = sum(given) / len(given) if given else None
        combined = weight * metric_component + (1 - weight) * (rubric_component or 0.0)
        unsorted.append(
            Standing(
                rank=0,
                team_id=team_id,
                team_name=names.get(team_id, ""),
                metric_rank=metric_rank,
                metric_score=metric_score,
                metric_component=round(metric_component, 6),
                rubric_component=None if rubric_component is None else round(rubric_component, 6),
                rubric_judges=len(given),
                combined=round(combined, 6),
            )
        )
    unranked = 10**9
    unsorted.sort(key=lambda r: (-r.combined, r.metric_rank or unranked, r.team_id))
    rows = [replace(row, rank=position) for position, row in enumerate(unsorted, start=1)]
    return Standings(
        board=board_name,
        phase=phase.name,
        metric=board.metric,
        metric_weight=weight,
        rubric_weight=round(1 - weight, 6),
        rows=rows,
    )

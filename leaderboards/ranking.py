"""Pure ranking rules: which submission counts for each team, and the ranks of the teams.

Dataclasses in, dataclasses out; no database. The rules:

- **Selection** (`select_rows`). With `final_selection == 0` a team's submission with the best
  public score counts (on the private board too: its private score is shown, so the private
  board never rewards peeking). With `final_selection == K > 0` the team's selected submissions
  form the pool (at most K: the K latest if more are flagged); a team that selected none gets its
  K best public submissions auto-selected, as Kaggle does; the best board score in the pool counts.
- **Ranking** (`rank_rows`). Better score first; equal scores go to the earlier submission. A
  missing or failed score never ranks above a real one: such teams come last with rank None.
  Baselines are placed where their score falls but get rank None and do not use up a rank.
  Disqualified rows are dropped.
- **Tie-breakers** (boards of competitions scored by programs). Equal scores are ordered by the
  board's tie-breaker columns, in order (each in its own direction; a missing value last), before
  the earlier submission.
- **Combined modes** (`combine_rows`). `weighted`: each row's score becomes the weighted mean of
  its columns normalised to [0, 1] over the board (1 the best value of the column, higher wins);
  `average_rank`: the mean of its ranks per column (1 the best, ties share the mean rank, lower
  wins). A row missing one of the columns gets no combined score and ranks last.
- **Significance**. `tied_with_previous` marks a ranked row that is not significantly better than
  the row ranked just above it (see `significantly_different`).
- **Cost mode** (intent `ranking.by == "cost"`). Rank rows whose score is `cost_score(...)` with
  `greater_is_better=False`: a submission below the validity floor, or without its metric or a
  KPI, has no cost and therefore ranks last like any missing score.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TeamId = int | str
SubmissionId = int | str
Interval = tuple[float, float]


@dataclass(frozen=True)
class SubmissionRow:
    """One scored (or failed) submission of a team, as the selection rules see it."""

    team_id: TeamId
    submission_id: SubmissionId
    submitted_at: datetime | None
    score: float | None
    """The score on the board being ranked (None: missing or failed)."""
    public_score: float | None
    """The public score, which drives best-score selection and auto-selection."""
    interval: Interval | None = None
    is_baseline: bool = False
    disqualified: bool = False
    selected_final: bool = False
    team_name: str = ""
    scores: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BoardRow:
    """The submission that counts for one team on one board."""

    team_id: TeamId
    submission_id: SubmissionId | None
    submitted_at: datetime | None
    score: float | None
    interval: Interval | None = None
    is_baseline: bool = False
    disqualified: bool = False
    team_name: str = ""
    scores: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RankedRow:
    """A row of a ranked board."""

    rank: int | None
    """1, 2, ... for ranked teams; None for baselines and teams without a score."""
    team_id: TeamId
    team_name: str
    submission_id: SubmissionId | None
    submitted_at: datetime | None
    score: float | None
    interval: Interval | None
    is_baseline: bool
    tied_with_previous: bool
    """Not significantly different from the row ranked just above (False for rank 1)."""
    scores: Mapping[str, Any] = field(default_factory=dict)


def _has_score(score: float | None) -> bool:
    """Whether a score is a real number (None and NaN are missing)."""
    return score is not None and not math.isnan(score)


def _time_key(moment: datetime | None) -> tuple[int, float]:
    """Earlier first; unknown times last."""
    return (1, 0.0) if moment is None else (0, moment.timestamp())


def _id_key(value: SubmissionId | TeamId | None) -> tuple[int, int, str]:
    """A total order over int and str ids."""
    if isinstance(value, int):
        return (0, value, "")
    return (1, 0, "" if value is None else str(value))


def _order_key(
    score: float | None,
    submitted_at: datetime | None,
    submission_id: SubmissionId | None,
    greater_is_better: bool,
) -> tuple[Any, ...]:
    """Sort key: real scores first, better first, then earlier submission, then id."""
    if not _has_score(score):
        return (1, 0.0, _time_key(submitted_at), _id_key(submission_id))
    assert score is not None
    return (
        0,
        -score if greater_is_better else score,
        _time_key(submitted_at),
        _id_key(submission_id),
    )


TieBreakers = Sequence[tuple[str, bool]]
"""Columns that break ties, each with its direction (True: higher is better)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _tie_key(scores: Mapping[str, Any], tie_breakers: TieBreakers) -> tuple[Any, ...]:
    """Sort key of the tie-breaker columns: present values first, better first."""
    key: list[tuple[int, float]] = []
    for column, higher in tie_breakers:
        value = _number(scores.get(column))
        key.append((1, 0.0) if value is None else (0, -value if higher else value))
    return tuple(key)


def _row_key(row: BoardRow, greater_is_better: bool, tie_breakers: TieBreakers) -> tuple[Any, ...]:
    has, score, when, ident = _order_key(
        row.score, row.submitted_at, row.submission_id, greater_is_better
    )
    return (has, score, _tie_key(row.scores, tie_breakers), when, ident)


def combine_rows(
    rows: Iterable[BoardRow], *, mode: str, columns: Sequence[tuple[str, bool, float]]
) -> tuple[list[BoardRow], bool]:
    """Rows whose score is the combined score of `columns` (name, higher is better, weight), and
    whether a higher combined score is better (see the module's rules)."""
    rows = list(rows)
    values = {name: [_number(r.scores.get(name)) for r in rows] for name, _, _ in columns}
    combined: list[float | None] = []
    for index in range(len(rows)):
        if any(values[name][index] is None for name, _, _ in columns):
            combined.append(None)
            continue
        if mode == "weighted":
            total = sum(weight for _, _, weight in columns) or 1.0
            parts = [
                weight * _normalised(values[name], index, higher)
                for name, higher, weight in columns
            ]
            combined.append(sum(parts) / total)
        else:
            ranks = [_rank_of(values[name], index, higher) for name, higher, _ in columns]
            combined.append(sum(ranks) / len(ranks))
    out = [
        dataclasses.replace(r, score=c, interval=None) for r, c in zip(rows, combined, strict=True)
    ]
    return out, mode == "weighted"


def _normalised(values: list[float | None], index: int, higher: bool) -> float:
    present = [v for v in values if v is not None]
    value = values[index]
    assert value is not None
    low, high = min(present), max(present)
    if high == low:
        return 1.0
    share = (value - low) / (high - low)
    return share if higher else 1.0 - share


def _rank_of(values: list[float | None], index: int, higher: bool) -> float:
    value = values[index]
    assert value is not None
    present = [v for v in values if v is not None]
    better = sum(1 for v in present if (v > value if higher else v < value))
    equal = sum(1 for v in present if v == value)
    return better + (equal + 1) / 2


def _best(rows: list[SubmissionRow], greater_is_better: bool, *, by_public: bool) -> SubmissionRow:
    """The best row by board (or public) score; ties to the earlier submission."""
    return min(
        rows,
        key=lambda r: _order_key(
            r.public_score if by_public else r.score,
            r.submitted_at,
            r.submission_id,
            greater_is_better,
        ),
    )


def select_rows(
    rows: Iterable[SubmissionRow], *, greater_is_better: bool, final_selection: int = 0
) -> list[BoardRow]:
    """One row per team: the submission that counts on this board (see the module's rules)."""
    if (
        isinstance(final_selection, bool)
        or not isinstance(final_selection, int)
        or final_selection < 0
    ):
        raise ValueError(f"final_selection must be an integer >= 0, got {final_selection!r}")
    teams: dict[TeamId, list[SubmissionRow]] = {}
    for row in rows:
        if not row.disqualified:
            teams.setdefault(row.team_id, []).append(row)
    chosen = []
    for team_rows in teams.values():
        if final_selection == 0:
            best = _best(team_rows, greater_is_better, by_public=True)
        else:
            flagged = [r for r in team_rows if r.selected_final]
            if flagged:
                latest = sorted(
                    flagged, key=lambda r: (_time_key(r.submitted_at), _id_key(r.submission_id))
                )
                pool = latest[-final_selection:]
            else:
                pool = sorted(
                    team_rows,
                    key=lambda r: _order_key(
                        r.public_score, r.submitted_at, r.submission_id, greater_is_better
                    ),
                )[:final_selection]
            best = _best(pool, greater_is_better, by_public=False)
        chosen.append(
            BoardRow(
                team_id=best.team_id,
                submission_id=best.submission_id,
                submitted_at=best.submitted_at,
                score=best.score if _has_score(best.score) else None,
                interval=best.interval if _has_score(best.score) else None,
                is_baseline=best.is_baseline,
                team_name=best.team_name,
                scores=best.scores,
            )
        )
    return chosen


def significantly_different(
    a: float, a_interval: Interval | None, b: float, b_interval: Interval | None
) -> bool:
    """Whether two scores differ at the level of their intervals (True if an interval is unknown).

    Each interval of level c is read as score +- z * SE (z the normal quantile of c), so the
    two-sample z-test at level 1 - c says the scores differ when
    |a - b| > z * sqrt(SE_a^2 + SE_b^2) = sqrt(h_a^2 + h_b^2), with h the half-widths facing the
    other score (lower half of the higher score, upper half of the lower one, so skewed
    percentile intervals are used as they are). This is less conservative than asking whether
    the intervals overlap (|a - b| > h_a + h_b): overlapping 95 % intervals can differ at 5 %.
    """
    if a_interval is None or b_interval is None:
        return True
    (high, high_interval), (low, low_interval) = sorted(
        [(a, a_interval), (b, b_interval)], key=lambda pair: pair[0], reverse=True
    )
    h_high = max(high - min(high_interval), 0.0)
    h_low = max(max(low_interval) - low, 0.0)
    return high - low > math.hypot(h_high, h_low)


def rank_rows(
    rows: Iterable[BoardRow], *, greater_is_better: bool, tie_breakers: TieBreakers = ()
) -> list[RankedRow]:
    """Rank one row per team (a team listed twice keeps its better row); see the module's rules."""
    per_team: dict[TeamId, BoardRow] = {}
    for row in rows:
        if row.disqualified:
            continue
        kept = per_team.get(row.team_id)
        key = _row_key(row, greater_is_better, tie_breakers)
        if kept is None or key < _row_key(kept, greater_is_better, tie_breakers):
            per_team[row.team_id] = row
    ordered = sorted(
        per_team.values(),
        key=lambda r: (*_row_key(r, greater_is_better, tie_breakers), _id_key(r.team_id)),
    )
    ranked: list[RankedRow] = []
    previous: BoardRow | None = None
    next_rank = 1
    for row in ordered:
        scored = _has_score(row.score)
        rank = None
        tied = False
        if scored and not row.is_baseline:
            rank = next_rank
            next_rank += 1
            if previous is not None and previous.score is not None and row.score is not None:
                tied = not significantly_different(
                    previous.score, previous.interval, row.score, row.interval
                )
            previous = row
        ranked.append(
            RankedRow(
                rank=rank,
                team_id=row.team_id,
                team_name=row.team_name,
                submission_id=row.submission_id,
                submitted_at=row.submitted_at,
                score=row.score if scored else None,
                interval=row.interval if scored else None,
                is_baseline=row.is_baseline,
                tied_with_previous=tied,
                scores=row.scores,
            )
        )
    return ranked


def rank_submissions(
    rows: Iterable[SubmissionRow],
    *,
    greater_is_better: bool,
    final_selection: int = 0,
) -> list[RankedRow]:
    """Select each team's counting submission, then rank the teams."""
    selected = select_rows(
        rows, greater_is_better=greater_is_better, final_selection=final_selection
    )
    return rank_rows(selected, greater_is_better=greater_is_better)


def inference_cost(
    kpis: Mapping[str, float],
    weights: Mapping[str, float],
    reference: Mapping[str, float] | None = None,
) -> float | None:
    """Sum of weight * KPI / reference (reference 1 if absent); None if a KPI is missing."""
    total = 0.0
    for kpi, weight in weights.items():
        value = kpis.get(str(kpi))
        if value is None or not math.isfinite(value):
            return None
        total += weight * value / (reference or {}).get(kpi, 1.0)
    return total


def meets_floor(value: float | None, floor: float | None, *, greater_is_better: bool) -> bool:
    """Whether a metric value reaches the validity floor (at or above it, or at or below it)."""
    if not _has_score(value):
        return False
    assert value is not None
    if floor is None:
        return True
    return value >= floor if greater_is_better else value <= floor


def cost_score(
    *,
    metric_value: float | None,
    floor: float | None,
    metric_greater_is_better: bool,
    kpis: Mapping[str, float],
    weights: Mapping[str, float],
    reference: Mapping[str, float] | None = None,
) -> float | None:
    """The score of cost mode: the inference cost of a valid submission, None if invalid."""
    if not meets_floor(metric_value, floor, greater_is_better=metric_greater_is_better):
        return None
    return inference_cost(kpis, weights, reference)

"""Boards of competitions scored by programs: tie-breaker columns and combined ranking modes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leaderboards.ranking import BoardRow, combine_rows, rank_rows
from mlfo.programs import Board

START = datetime(2026, 1, 1, tzinfo=UTC)


def row(team: int, score: float | None, **scores: float) -> BoardRow:
    return BoardRow(
        team_id=team,
        submission_id=team,
        submitted_at=START + timedelta(minutes=team),
        score=score,
        scores=scores,
    )


def test_tie_breakers_order_equal_scores_before_time() -> None:
    rows = [row(1, 0.9, errors=5), row(2, 0.9, errors=3), row(3, 0.8, errors=0)]
    plain = rank_rows(rows, greater_is_better=True)
    assert [r.team_id for r in plain] == [1, 2, 3]  # equal scores: the earlier submission
    broken = rank_rows(rows, greater_is_better=True, tie_breakers=[("errors", False)])
    assert [r.team_id for r in broken] == [2, 1, 3]


def test_a_missing_tie_breaker_value_comes_after_a_present_one() -> None:
    rows = [row(1, 0.9), row(2, 0.9, errors=9)]
    ranked = rank_rows(rows, greater_is_better=True, tie_breakers=[("errors", False)])
    assert [r.team_id for r in ranked] == [2, 1]


def test_weighted_mode_normalises_each_column_in_its_direction() -> None:
    rows = [row(1, None, acc=0.9, cost=10), row(2, None, acc=0.8, cost=1), row(3, None, acc=0.7)]
    combined, higher = combine_rows(
        rows, mode="weighted", columns=[("acc", True, 1.0), ("cost", False, 1.0)]
    )
    assert higher
    scores = [r.score for r in combined]
    # acc over 0.7..0.9 (row 3 counts for its column), cost over 1..10 (lower is better)
    assert scores[0] == pytest.approx((1.0 + 0.0) / 2) and scores[1] == pytest.approx(0.75)
    assert scores[2] is None  # a missing column: no combined score, ranked last
    ranked = rank_rows(combined, greater_is_better=higher)
    assert ranked[-1].team_id == 3 and ranked[-1].rank is None


def test_average_rank_mode_shares_ranks_on_ties_and_lower_wins() -> None:
    rows = [row(1, None, a=1, b=3), row(2, None, a=1, b=1), row(3, None, a=0, b=2)]
    combined, higher = combine_rows(
        rows, mode="average_rank", columns=[("a", True, 1.0), ("b", False, 1.0)]
    )
    assert not higher
    assert [r.score for r in combined] == [pytest.approx(2.25), pytest.approx(1.25), 2.5]
    assert [r.team_id for r in rank_rows(combined, greater_is_better=higher)] == [2, 1, 3]


@pytest.mark.parametrize(
    ("board", "message"),
    [
        ({"columns": [{"key": "a"}], "rank_by": "b"}, "'b' is not one of"),
        ({"columns": [{"key": "a"}], "rank_by": "a", "tie_breakers": ["z"]}, "'z' is not one"),
        ({"columns": [{"key": "a"}, {"key": "a"}], "rank_by": "a"}, "unique"),
        ({"columns": [{"key": "a"}], "rank_by": "a", "mode": "weighted"}, "needs `weights`"),
    ],
)
def test_a_bad_board_says_what_to_fix(board: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Board.model_validate(board)

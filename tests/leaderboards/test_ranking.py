"""Ranking rules: selection, ties, missing scores, baselines, disqualification, significance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboards.ranking import (
    BoardRow,
    RankedRow,
    SubmissionRow,
    cost_score,
    inference_cost,
    rank_rows,
    rank_submissions,
    select_rows,
    significantly_different,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def sub(
    team: int,
    sid: int,
    hours: float,
    score: float | None,
    public: float | None = None,
    **flags: object,
) -> SubmissionRow:
    return SubmissionRow(
        team_id=team,
        submission_id=sid,
        submitted_at=at(hours),
        score=score,
        public_score=score if public is None else public,
        **flags,  # type: ignore[arg-type]
    )


def board(team: int, score: float | None, hours: float = 0.0, **flags: object) -> BoardRow:
    return BoardRow(
        team_id=team,
        submission_id=team * 100,
        submitted_at=at(hours),
        score=score,
        **flags,  # type: ignore[arg-type]
    )


def ranks(rows: list[RankedRow]) -> list[tuple[object, int | None]]:
    return [(r.team_id, r.rank) for r in rows]


def test_better_scores_rank_first_in_either_direction() -> None:
    rows = [board(1, 0.5), board(2, 0.9), board(3, 0.7)]
    assert ranks(rank_rows(rows, greater_is_better=True)) == [(2, 1), (3, 2), (1, 3)]
    assert ranks(rank_rows(rows, greater_is_better=False)) == [(1, 1), (3, 2), (2, 3)]


def test_ties_go_to_the_earlier_submission() -> None:
    rows = [board(1, 0.8, hours=5), board(2, 0.8, hours=1), board(3, 0.8, hours=3)]
    assert ranks(rank_rows(rows, greater_is_better=True)) == [(2, 1), (3, 2), (1, 3)]


def test_missing_and_failed_scores_come_last_unranked() -> None:
    rows = [board(1, None, hours=0), board(2, 100.0), board(3, float("nan"), hours=1)]
    ranked = rank_rows(rows, greater_is_better=False)
    assert ranks(ranked) == [(2, 1), (1, None), (3, None)]
    assert ranked[2].score is None


def test_baselines_are_shown_in_place_but_not_ranked() -> None:
    rows = [board(1, 0.9), board(2, 0.5), board(9, 0.7, is_baseline=True)]
    ranked = rank_rows(rows, greater_is_better=True)
    assert ranks(ranked) == [(1, 1), (9, None), (2, 2)]
    assert ranked[1].is_baseline


def test_disqualified_teams_are_excluded() -> None:
    rows = [board(1, 0.9, disqualified=True), board(2, 0.5)]
    assert ranks(rank_rows(rows, greater_is_better=True)) == [(2, 1)]
    subs = [sub(1, 1, 0, 0.9, disqualified=True), sub(1, 2, 1, 0.4), sub(2, 3, 0, 0.5)]
    assert ranks(rank_submissions(subs, greater_is_better=True)) == [(2, 1), (1, 2)]


def test_best_rule_takes_the_best_public_score_and_shows_its_board_score() -> None:
    subs = [
        sub(1, 1, 0, score=0.60, public=0.70),
        sub(1, 2, 1, score=0.90, public=0.65),
        sub(2, 3, 0, score=0.80, public=0.60),
    ]
    rows = select_rows(subs, greater_is_better=True)
    chosen = {r.team_id: (r.submission_id, r.score) for r in rows}
    assert chosen == {1: (1, 0.60), 2: (3, 0.80)}
    assert ranks(rank_submissions(subs, greater_is_better=True)) == [(2, 1), (1, 2)]


def test_best_rule_ties_on_public_go_to_the_earlier_submission() -> None:
    subs = [sub(1, 7, 3, 0.5, public=0.7), sub(1, 8, 1, 0.4, public=0.7)]
    assert select_rows(subs, greater_is_better=True)[0].submission_id == 8


def test_final_selection_takes_the_best_of_the_selected() -> None:
    subs = [
        sub(1, 1, 0, score=0.95, public=0.99),
        sub(1, 2, 1, score=0.70, public=0.60, selected_final=True),
        sub(1, 3, 2, score=0.80, public=0.50, selected_final=True),
    ]
    (row,) = select_rows(subs, greater_is_better=True, final_selection=2)
    assert (row.submission_id, row.score) == (3, 0.80)


def test_final_selection_auto_selects_the_best_public_when_none_selected() -> None:
    subs = [
        sub(1, 1, 0, score=0.99, public=0.10),
        sub(1, 2, 1, score=0.70, public=0.90),
        sub(1, 3, 2, score=0.75, public=0.80),
        sub(1, 4, 3, score=0.20, public=None),
    ]
    (row,) = select_rows(subs, greater_is_better=True, final_selection=2)
    assert (row.submission_id, row.score) == (3, 0.75)
    (single,) = select_rows(subs, greater_is_better=True, final_selection=1)
    assert single.submission_id == 2


def test_final_selection_keeps_the_latest_k_when_more_are_flagged() -> None:
    subs = [sub(1, i, i, score=1.0 - i / 10, selected_final=True) for i in range(1, 5)]
    (row,) = select_rows(subs, greater_is_better=True, final_selection=2)
    assert row.submission_id == 3


def test_a_selected_failed_submission_never_beats_a_scored_one() -> None:
    subs = [
        sub(1, 1, 0, score=None, public=0.9, selected_final=True),
        sub(1, 2, 1, score=0.3, public=0.2, selected_final=True),
        sub(2, 3, 0, score=None, public=None, selected_final=True),
    ]
    ranked = rank_submissions(subs, greater_is_better=True, final_selection=2)
    assert [(r.team_id, r.submission_id, r.rank) for r in ranked] == [(1, 2, 1), (2, 3, None)]


def test_bad_final_selection_is_refused() -> None:
    with pytest.raises(ValueError, match="final_selection must be an integer >= 0"):
        select_rows([], greater_is_better=True, final_selection=-1)


def test_neighbours_within_noise_are_marked_tied() -> None:
    rows = [
        board(1, 0.90, interval=(0.88, 0.92)),
        board(2, 0.89, interval=(0.87, 0.91)),
        board(3, 0.70, interval=(0.68, 0.72)),
        board(4, 0.60),
    ]
    ranked = rank_rows(rows, greater_is_better=True)
    assert [r.tied_with_previous for r in ranked] == [False, True, False, False]


def test_overlapping_intervals_can_still_differ() -> None:
    assert significantly_different(1.0, (0.9, 1.1), 0.85, (0.75, 0.95))
    assert not significantly_different(1.0, (0.9, 1.1), 0.9, (0.8, 1.0))
    assert not significantly_different(0.9, (0.8, 1.0), 1.0, (0.9, 1.1))
    assert significantly_different(1.0, None, 1.0, (0.9, 1.1))


def test_skewed_intervals_use_the_half_facing_the_other_score() -> None:
    assert significantly_different(1.0, (0.99, 1.5), 0.9, (0.0, 0.91))
    assert not significantly_different(1.0, (0.5, 1.01), 0.9, (0.89, 1.4))


def test_cost_mode_ranks_valid_submissions_by_cost() -> None:
    weights = {"latency_ms_per_1k": 1.0, "model_size_mb": 0.5}
    reference = {"latency_ms_per_1k": 10.0}
    cheap = {"latency_ms_per_1k": 5.0, "model_size_mb": 2.0}
    costly = {"latency_ms_per_1k": 50.0, "model_size_mb": 2.0}
    assert inference_cost(cheap, weights, reference) == pytest.approx(0.5 + 1.0)
    assert inference_cost({"latency_ms_per_1k": 5.0}, weights) is None

    def cost(accuracy: float | None, kpis: dict[str, float]) -> float | None:
        return cost_score(
            metric_value=accuracy,
            floor=0.56,
            metric_greater_is_better=True,
            kpis=kpis,
            weights=weights,
            reference=reference,
        )

    rows = [
        board(1, cost(0.50, cheap)),
        board(2, cost(0.60, costly)),
        board(3, cost(0.56, cheap)),
        board(4, cost(None, cheap)),
    ]
    assert ranks(rank_rows(rows, greater_is_better=False)) == [(3, 1), (2, 2), (1, None), (4, None)]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.one_of(st.none(), st.floats(-10, 10, allow_nan=False)),
            st.integers(0, 100),
            st.booleans(),
            st.booleans(),
        ),
        max_size=30,
    ),
    st.booleans(),
    st.integers(0, 3),
)
def test_board_invariants(
    entries: list[tuple[int, float | None, int, bool, bool]], higher: bool, k: int
) -> None:
    subs = [
        sub(team, i, hours, score, selected_final=selected, is_baseline=team == 0)
        for i, (team, score, hours, selected, _) in enumerate(entries)
    ]
    ranked = rank_submissions(subs, greater_is_better=higher, final_selection=k)
    teams = [r.team_id for r in ranked]
    assert len(teams) == len(set(teams)) == len({s.team_id for s in subs})
    numbers = [r.rank for r in ranked if r.rank is not None]
    assert numbers == list(range(1, len(numbers) + 1))
    seen_missing = False
    previous = None
    for row in ranked:
        if row.score is None:
            seen_missing = True
            assert row.rank is None
            continue
        assert not seen_missing
        if row.is_baseline:
            assert row.rank is None
        if previous is not None:
            assert (previous >= row.score) if higher else (previous <= row.score)
        previous = row.score

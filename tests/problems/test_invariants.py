"""The invariants that make a built-in problem a fair challenge, for every problem: no test target
readable from the test features, no order or id signal, train and test disjoint, headroom between
a plain gradient-boosting model and the noise-floor oracle, and a metric that separates teams.

The checks are tests/problems/audit.py; bench/problem_audit.py prints the same figures.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from challenge.problems import GeneratedData, Problem, list_problems
from tests.problems import audit

PROBLEMS = list_problems()
SIZE = 4_000
"""Test rows of the audited data (the default size where it is smaller): seconds per problem."""
SPREAD_OVER_WIDTH = 4.0
"""The baseline-to-oracle spread must exceed the public board's bootstrap width this many times."""


@cache
def _data(problem_id: str) -> GeneratedData:
    problem = next(p for p in PROBLEMS if p.id == problem_id)
    return problem.generate(seed=0, size=_size(problem))


def _size(problem: Problem) -> int:
    return min(SIZE, problem.default_size)


@cache
def _scores(problem_id: str) -> audit.Scores:
    problem = next(p for p in PROBLEMS if p.id == problem_id)
    return audit.scores(problem, _data(problem_id))


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_no_test_target_appears_among_the_test_features(problem: Problem) -> None:
    excess = audit.target_in_features(problem, _data(problem.id))
    assert excess < 0.05, f"{excess:.1%} more test targets than chance are test feature values"


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_the_order_of_test_rows_says_nothing_of_the_target(problem: Problem) -> None:
    assert abs(audit.order_signal(problem, _data(problem.id))) < 5.0


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_train_and_test_rows_are_disjoint(problem: Problem) -> None:
    shared_ids, shared_rows = audit.duplicated_rows(problem, _data(problem.id))
    assert shared_ids == 0
    assert shared_rows < 0.001


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_gradient_boosting_beats_trivial_and_stays_below_the_oracle(problem: Problem) -> None:
    scores = _scores(problem.id)
    assert scores.span > 0, scores.as_row()
    assert scores.gain(scores.trivial, scores.boosted) > 0.2 * scores.span, scores.as_row()
    headroom = scores.gain(scores.boosted, scores.oracle)
    assert headroom > 0.05 * scores.span, scores.as_row()
    assert headroom > _board_width(problem, scores), scores.as_row()


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_the_metric_separates_baseline_from_oracle(problem: Problem) -> None:
    scores = _scores(problem.id)
    spread = scores.gain(scores.baseline, scores.oracle)
    assert spread > SPREAD_OVER_WIDTH * _board_width(problem, scores), scores.as_row()


def _board_width(problem: Problem, scores: audit.Scores) -> float:
    """The baseline's bootstrap width on the public board of the default size (the width shrinks
    as one over the square root of the rows)."""
    return scores.baseline_width * math.sqrt(_size(problem) / problem.default_size)

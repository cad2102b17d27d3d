"""P steps: output rules before scoring, validity floors after it, and the cost ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlfo.distributor import cost
from mlfo.errors import NodeFailure, Outcome
from mlfo.policies import POLICIES, OutputRule, PolicyContext, ScoreRule
from mlfo.validation import validate_intent

REGRESSION = PolicyContext(task="regression", id_column="id", target="y")
BINARY = PolicyContext(task="binary", id_column="id", target="y", classes=["no", "yes"])


def _apply(kind: str, params: dict[str, Any], frame: pd.DataFrame, ctx: PolicyContext) -> Any:
    entry = POLICIES.get(kind)
    assert isinstance(entry.impl, OutputRule)
    return entry.impl(frame, entry.parse_params(params), ctx)


def _judge(params: dict[str, Any], scores: dict[str, dict[str, float | None]]) -> str | None:
    entry = POLICIES.get("validity_floor")
    assert isinstance(entry.impl, ScoreRule)
    return entry.impl(scores, entry.parse_params(params), REGRESSION)


def test_clip_bounds_the_predictions() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "y": [-3.0, 0.5, 9.0]})
    assert _apply("clip", {"min": 0, "max": 1}, frame, REGRESSION)["y"].tolist() == [0, 0.5, 1]
    assert frame["y"].tolist() == [-3.0, 0.5, 9.0]


def test_round_to_decimals() -> None:
    frame = pd.DataFrame({"id": [1, 2], "y": [1.2345, 2.5551]})
    assert _apply("round", {"decimals": 2}, frame, REGRESSION)["y"].tolist() == [1.23, 2.56]


def test_round_refuses_text_as_invalid_output() -> None:
    frame = pd.DataFrame({"id": [1], "y": ["high"]})
    with pytest.raises(NodeFailure) as caught:
        _apply("round", {}, frame, REGRESSION)
    assert caught.value.outcome is Outcome.INVALID_OUTPUT
    assert "round: column 'y' must hold numbers" in caught.value.message


def test_threshold_turns_probabilities_into_labels() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "y": [0.1, 0.5, 0.93]})
    out = _apply("threshold", {"threshold": 0.5}, frame, BINARY)
    assert out["y"].tolist() == ["no", "yes", "yes"]
    from_proba = pd.DataFrame({"id": [1, 2], "proba_yes": [0.8, 0.2]})
    out = _apply("threshold", {"threshold": 0.7}, from_proba, BINARY)
    assert out["y"].tolist() == ["yes", "no"]
    assert out["proba_yes"].tolist() == [0.8, 0.2]


def test_normalize_probabilities_rescales_rows() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "proba_a": [2.0, 0.0, -1.0], "proba_b": [2.0, 0.0, 3.0], "x": 1}
    )
    out = _apply("normalize_probabilities", {}, frame, BINARY)
    assert out["proba_a"].tolist() == [0.5, 0.5, 0.0]
    assert out["proba_b"].tolist() == [0.5, 0.5, 1.0]
    assert out["x"].tolist() == [1, 1, 1]


def test_validity_floor_marks_a_submission_below_it() -> None:
    scores: dict[str, dict[str, float | None]] = {
        "public": {"accuracy": 0.91},
        "private": {"accuracy": 0.79},
    }
    assert _judge({"metric": "accuracy", "min": 0.75}, scores) is None
    reason = _judge({"metric": "accuracy", "min": 0.8}, scores)
    assert reason == "accuracy on the private split is below the floor 0.8"  # no private figure
    assert _judge({"metric": "accuracy", "min": 0.95}, scores) == (
        "accuracy 0.91 on the public split is below the floor 0.95"
    )
    assert _judge({"metric": "accuracy", "max": 0.5, "on": "private"}, scores) == (
        "accuracy on the private split is above the bound 0.5"
    )
    assert _judge({"metric": "accuracy", "min": 0.8, "on": "public"}, scores) is None
    assert _judge({"metric": "mae", "max": 1.0}, {"public": {"mae": None}}) == (
        "mae on the public split could not be computed"
    )


def test_cost_is_the_weighted_sum_of_kpis_over_references() -> None:
    intent = validate_intent(
        {
            "task": "regression",
            "id_column": "id",
            "target": "y",
            "metrics": [{"name": "mae"}],
            "ranking": {
                "by": "cost",
                "cost": {
                    "weights": {"latency_ms_per_1k": 2.0, "peak_memory_mb": 1.0},
                    "reference": {"peak_memory_mb": 100.0},
                },
            },
        }
    )
    kpis = {"latency_ms_per_1k": 3.0, "peak_memory_mb": 250.0, "wall_time_s": 9.0}
    assert cost(intent, kpis) == pytest.approx(2.0 * 3.0 + 250.0 / 100.0)
    assert cost(intent, {"latency_ms_per_1k": 3.0}) is None
    assert np.isfinite(cost(intent, kpis) or np.nan)

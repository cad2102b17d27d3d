"""P: the host's policies on a model's outputs, and validity rules evaluated after scoring.

An `OutputRule` rewrites the predictions before they are scored (clip, round, threshold,
normalize_probabilities). A `ScoreRule` looks at the scores and returns the reason a submission is
not valid, or None (validity_floor). Both are registered in one P registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlfo.errors import NodeFailure, Outcome
from mlfo.registry import NodeKind, Registry

PROBA_PREFIX = "proba_"
"""Predictions carry class probabilities in `proba_<class>` columns (see challenge.scoring)."""

Scores = Mapping[str, Mapping[str, float | None]]
"""{split: {metric: value or None}}."""


@dataclass(frozen=True)
class PolicyContext:
    """What a policy knows about the task."""

    task: str
    id_column: str
    target: str
    classes: Sequence[Any] | None = None


@dataclass(frozen=True)
class OutputRule:
    """A policy that rewrites the predictions before scoring."""

    fn: Callable[[pd.DataFrame, Any, PolicyContext], pd.DataFrame]

    def __call__(self, predictions: pd.DataFrame, params: Any, ctx: PolicyContext) -> pd.DataFrame:
        return self.fn(predictions, params, ctx)


@dataclass(frozen=True)
class ScoreRule:
    """A policy that decides validity from the scores: the reason it is not valid, or None."""

    fn: Callable[[Scores, Any, PolicyContext], str | None]

    def __call__(self, scores: Scores, params: Any, ctx: PolicyContext) -> str | None:
        return self.fn(scores, params, ctx)


def _is_rule(impl: object) -> str | None:
    if isinstance(impl, OutputRule | ScoreRule):
        return None
    return "a policy must be an OutputRule or a ScoreRule"


POLICIES: Registry[OutputRule | ScoreRule] = Registry(NodeKind.P, check=_is_rule)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClipParams(_Params):
    """Bounds for the predicted values; at least one of min and max."""

    min: float | None = None
    max: float | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ClipParams:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class RoundParams(_Params):
    """Decimals to round the predicted values to."""

    decimals: int = Field(default=0, ge=0, le=12)
    column: str | None = None


class ThresholdParams(_Params):
    """Turn the positive class's probability into a label."""

    threshold: float = Field(default=0.5, gt=0, lt=1)
    column: str | None = None


class NormalizeParams(_Params):
    """Probability columns to rescale so that each row sums to 1 (default: the proba_* ones)."""

    columns: list[str] | None = Field(default=None, min_length=2)


class FloorParams(_Params):
    """A metric's bound that a valid submission must reach on the chosen split(s)."""

    metric: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    on: Literal["public", "private", "all"] = "all"

    @model_validator(mode="after")
    def _bound(self) -> FloorParams:
        if self.min is None and self.max is None:
            raise ValueError("give min (or max for a metric where lower is better)")
        return self


def _values(predictions: pd.DataFrame, column: str, what: str) -> np.ndarray:
    if column not in predictions.columns:
        raise NodeFailure(
            Outcome.INVALID_OUTPUT, f"{what}: the predictions have no column {column!r}"
        )
    try:
        values = predictions[column].to_numpy(dtype="float64")
    except (TypeError, ValueError):
        raise NodeFailure(
            Outcome.INVALID_OUTPUT, f"{what}: column {column!r} must hold numbers"
        ) from None
    return values


def clip(predictions: pd.DataFrame, params: ClipParams, ctx: PolicyContext) -> pd.DataFrame:
    """Clip the predicted values into [min, max]."""
    column = params.column or ctx.target
    out = predictions.copy()
    out[column] = np.clip(_values(predictions, column, "clip"), params.min, params.max)
    return out


def round_values(
    predictions: pd.DataFrame, params: RoundParams, ctx: PolicyContext
) -> pd.DataFrame:
    """Round the predicted values to `decimals` places."""
    column = params.column or ctx.target
    out = predictions.copy()
    out[column] = np.round(_values(predictions, column, "round"), params.decimals)
    return out


def threshold(
    predictions: pd.DataFrame, params: ThresholdParams, ctx: PolicyContext
) -> pd.DataFrame:
    """Binary: predict the positive class where its probability reaches the threshold.

    The probability is read from `column`, else `proba_<positive class>`, else the target column.
    """
    if ctx.task != "binary":
        raise NodeFailure(Outcome.INFRASTRUCTURE_ERROR, "threshold applies to binary tasks only")
    negative, positive = list(ctx.classes) if ctx.classes else [0, 1]
    column = params.column or _default_score_column(predictions, positive, ctx)
    scores = _values(predictions, column, "threshold")
    out = predictions.copy()
    out[ctx.target] = np.where(scores >= params.threshold, positive, negative)
    return out


def _default_score_column(predictions: pd.DataFrame, positive: Any, ctx: PolicyContext) -> str:
    proba = f"{PROBA_PREFIX}{positive}"
    return proba if proba in predictions.columns else ctx.target


def normalize_probabilities(
    predictions: pd.DataFrame, params: NormalizeParams, ctx: PolicyContext
) -> pd.DataFrame:
    """Rescale non-negative probability columns so that each row sums to 1 (all zero: uniform)."""
    columns = params.columns or [
        str(c) for c in predictions.columns if str(c).startswith(PROBA_PREFIX)
    ]
    if not columns:
        return predictions
    matrix = np.column_stack([_values(predictions, c, "normalize_probabilities") for c in columns])
    matrix = np.clip(np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)
    totals = matrix.sum(axis=1, keepdims=True)
    uniform = np.full_like(matrix, 1.0 / len(columns))
    matrix = np.divide(matrix, totals, out=uniform, where=totals > 0)
    out = predictions.copy()
    out[columns] = matrix
    return out


def validity_floor(scores: Scores, params: FloorParams, ctx: PolicyContext) -> str | None:
    """The reason the submission is not valid when the metric misses its bound, else None.

    The reason is shown to the team before the phase is finalized, so it names a value of the
    public split only; for any other split it says which bound was missed, not by how much.
    """
    splits = [params.on] if params.on != "all" else list(scores)
    for split in splits:
        value = scores.get(split, {}).get(params.metric)
        if value is None:
            return f"{params.metric} on the {split} split could not be computed"
        if split == "public":
            where = f"{params.metric} {value:.4g} on the public split"
        else:
            where = f"{params.metric} on the {split} split"
        if params.min is not None and value < params.min:
            return f"{where} is below the floor {params.min:g}"
        if params.max is not None and value > params.max:
            return f"{where} is above the bound {params.max:g}"
    return None


POLICIES.register("clip", OutputRule(clip), params=ClipParams, summary=clip.__doc__ or "")
POLICIES.register(
    "round", OutputRule(round_values), params=RoundParams, summary=round_values.__doc__ or ""
)
POLICIES.register(
    "threshold", OutputRule(threshold), params=ThresholdParams, summary=threshold.__doc__ or ""
)
POLICIES.register(
    "normalize_probabilities",
    OutputRule(normalize_probabilities),
    params=NormalizeParams,
    summary=normalize_probabilities.__doc__ or "",
)
POLICIES.register(
    "validity_floor",
    ScoreRule(validity_floor),
    params=FloorParams,
    summary=validity_floor.__doc__ or "",
)

"""PP: the host's trusted preprocessing steps, applied by the collector chunk by chunk.

A step is a factory: given its validated parameters, a way to get the training features (as
transformed by the steps before it) and the frame's context, it returns a transform of one chunk.
Steps that learn something (`standard_scale`, `fill_missing` with mean/median) fit on the training
data, so every chunk of the test set gets the same transform.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlfo.errors import StepError
from mlfo.registry import NodeKind, Registry

Transform = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class FrameContext:
    """What a step needs to know about the tables: the id column is never transformed."""

    id_column: str
    target: str


class Preprocessor(Protocol):
    """A PP implementation: fits on demand and returns a chunk transform."""

    def __call__(
        self, params: Any, train: Callable[[], pd.DataFrame], ctx: FrameContext
    ) -> Transform: ...


PREPROCESSORS: Registry[Preprocessor] = Registry(NodeKind.PP)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsParams(_Params):
    """Columns to act on; omitted: every numeric feature column."""

    columns: list[str] | None = Field(default=None, min_length=1)


class SelectParams(_Params):
    """The feature columns to keep (the id column is always kept)."""

    columns: list[str] = Field(min_length=1)


class DropParams(_Params):
    """The feature columns to drop."""

    columns: list[str] = Field(min_length=1)
    missing_ok: bool = False


class FillParams(ColumnsParams):
    """How to fill missing values: a constant, or the training mean or median."""

    strategy: Literal["constant", "mean", "median"] = "constant"
    value: float | None = None

    @model_validator(mode="after")
    def _value_for_constant(self) -> FillParams:
        if self.strategy == "constant" and self.value is None:
            raise ValueError("strategy 'constant' needs a value")
        if self.strategy != "constant" and self.value is not None:
            raise ValueError(f"strategy {self.strategy!r} takes no value")
        return self


class ScaleParams(ColumnsParams):
    """Standardise columns with the training mean and standard deviation."""

    with_mean: bool = True
    with_std: bool = True


class ClipParams(ColumnsParams):
    """Bounds for feature values; at least one of min and max."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ClipParams:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class HorizonParams(_Params):
    """The forecast-horizon column and the number of steps ahead the task forecasts."""

    column: str = Field(min_length=1)
    steps: int = Field(ge=1, le=100_000)


def feature_columns(
    frame: pd.DataFrame, ctx: FrameContext, wanted: Sequence[str] | None
) -> list[Any]:
    """The columns a step acts on: `wanted` (checked), or every numeric feature column."""
    if wanted is None:
        return [
            c
            for c in frame.columns
            if c not in (ctx.id_column, ctx.target)
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
    if ctx.id_column in wanted:
        raise StepError(f"the id column {ctx.id_column!r} cannot be transformed")
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise StepError(f"column(s) {missing} not in the features; columns: {list(frame.columns)}")
    return list(wanted)


def _numeric(frame: pd.DataFrame, columns: list) -> pd.DataFrame:
    try:
        return frame[columns].astype("float64")
    except (TypeError, ValueError) as exc:
        raise StepError(f"columns {columns} must be numeric: {exc}") from None


def select_columns(
    params: SelectParams, train: Callable[[], pd.DataFrame], ctx: FrameContext
) -> Transform:
    """Keep the id column and the listed feature columns, in that order."""
    keep = [ctx.id_column, *(c for c in params.columns if c != ctx.id_column)]

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        feature_columns(frame, ctx, keep[1:])
        extra = [c for c in frame.columns if c == ctx.target]
        return frame[keep + extra]

    return apply


def drop_columns(
    params: DropParams, train: Callable[[], pd.DataFrame], ctx: FrameContext
) -> Transform:
    """Drop the listed feature columns."""
    if ctx.id_column in params.columns:
        raise StepError(f"the id column {ctx.id_column!r} cannot be dropped")

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        if not params.missing_ok:
            feature_columns(frame, ctx, params.columns)
        return frame.drop(columns=[c for c in params.columns if c in frame.columns])

    return apply


def fill_missing(
    params: FillParams, train: Callable[[], pd.DataFrame], ctx: FrameContext
) -> Transform:
    """Fill missing values with a constant or the training mean/median of each column."""
    fills: dict[Any, float] | None = None
    if params.strategy != "constant":
        fitted = train()
        values = _numeric(fitted, feature_columns(fitted, ctx, params.columns))
        stats = values.mean() if params.strategy == "mean" else values.median()
        fills = {c: float(v) if np.isfinite(v) else 0.0 for c, v in stats.items()}

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        columns = list(fills) if fills is not None else feature_columns(frame, ctx, params.columns)
        out = frame.copy()
        for c in columns:
            value = fills[c] if fills is not None else params.value
            if c in out.columns:
                out[c] = out[c].fillna(value)
        return out

    return apply


def standard_scale(
    params: ScaleParams, train: Callable[[], pd.DataFrame], ctx: FrameContext
) -> Transform:
    """Subtract the training mean and divide by the training standard deviation (ddof 0)."""
    fitted = train()
    values = _numeric(fitted, feature_columns(fitted, ctx, params.columns))
    means = values.mean() if params.with_mean else pd.Series(0.0, index=values.columns)
    stds = values.std(ddof=0) if params.with_std else pd.Series(1.0, index=values.columns)
    stds = stds.where(stds > 0, 1.0).fillna(1.0)
    means = means.fillna(0.0)

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        columns = feature_columns(frame, ctx, list(means.index))
        out = frame.copy()
        out[columns] = (_numeric(frame, columns) - means[columns]) / stds[columns]
        return out

    return apply


def clip_features(
    params: ClipParams, train: Callable[[], pd.DataFrame], ctx: FrameContext
) -> Transform:
    """Clip feature values into [min, max]."""

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        columns = feature_columns(frame, ctx, params.columns)
        out = frame.copy()
        out[columns] = _numeric(frame, columns).clip(lower=params.min, upper=params.max)
        return out

    return apply


def log1p(params: ColumnsParams, train: Callable[[], pd.DataFrame], ctx: FrameContext) -> Transform:
    """Replace values by log(1 + x); values below 0 are clipped to 0 first."""

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        columns = feature_columns(frame, ctx, params.columns)
        out = frame.copy()
        out[columns] = np.log1p(_numeric(frame, columns).clip(lower=0.0))
        return out

    return apply


def forecast_horizon(
    params: HorizonParams, train: Callable[[], pd.DataFrame], ctx: FrameContext
) -> Transform:
    """Check the forecast-horizon column: every row's step ahead is an integer in 1..steps."""

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        (column,) = feature_columns(frame, ctx, [params.column])
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
        bad = ~np.isfinite(values) | (values != np.round(values))
        bad |= (values < 1) | (values > params.steps)
        if bad.any():
            raise StepError(
                f"column {column!r} must hold whole steps ahead in 1..{params.steps}; "
                f"{int(bad.sum())} row(s) do not"
            )
        return frame

    return apply


PREPROCESSORS.register("select_columns", select_columns, params=SelectParams)
PREPROCESSORS.register("drop_columns", drop_columns, params=DropParams)
PREPROCESSORS.register("fill_missing", fill_missing, params=FillParams)
PREPROCESSORS.register("standard_scale", standard_scale, params=ScaleParams)
PREPROCESSORS.register("clip_features", clip_features, params=ClipParams)
PREPROCESSORS.register("log1p", log1p, params=ColumnsParams)
PREPROCESSORS.register("forecast_horizon", forecast_horizon, params=HorizonParams)


def fit_chain(
    steps: Sequence[tuple[Preprocessor, BaseModel]],
    load_train: Callable[[], pd.DataFrame],
    ctx: FrameContext,
) -> Transform:
    """Fit the steps in order (each on the training features transformed by the ones before it)."""
    transforms: list[Transform] = []
    state: dict[str, Any] = {"frame": None, "applied": 0}

    def train_before(index: int) -> Callable[[], pd.DataFrame]:
        def get() -> pd.DataFrame:
            if state["frame"] is None:
                state["frame"] = load_train()
            for transform in transforms[state["applied"] : index]:
                state["frame"] = transform(state["frame"])
            state["applied"] = index
            return state["frame"]

        return get

    for index, (factory, params) in enumerate(steps):
        transforms.append(factory(params, train_before(index), ctx))

    def chain(frame: pd.DataFrame) -> pd.DataFrame:
        for transform in transforms:
            frame = transform(frame)
        return frame

    return chain

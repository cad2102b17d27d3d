"""The Scorer: a named metric with its direction, the model output it needs, and its parameters."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np

from challenge.scoring.errors import MetricParamsError
from sandbox import TaskKind

MetricFunction = Callable[..., float]
"""fn(y_true, y_pred, **params) -> float; may declare a `classes` keyword to receive the classes."""

ALL_TASKS: frozenset[TaskKind] = frozenset(TaskKind)
REGRESSION_TASKS: frozenset[TaskKind] = frozenset({TaskKind.REGRESSION, TaskKind.FORECAST})
CLASSIFICATION_TASKS: frozenset[TaskKind] = frozenset({TaskKind.BINARY, TaskKind.MULTICLASS})


class Response(StrEnum):
    """The model output a metric needs."""

    LABELS = "labels"
    """The target column as predicted: a class label, or a value for regression and forecast."""
    SCORES = "scores"
    """A continuous score per row: the positive class's probability (binary), else the matrix."""
    PROBABILITIES = "probabilities"
    """An (n, n_classes) probability matrix, columns in the order of the classes."""


def accepts_classes(fn: MetricFunction) -> bool:
    """Whether a metric function declares a `classes` keyword parameter."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "classes" in parameters


def accepted_params(fn: MetricFunction) -> set[str] | None:
    """Keyword parameters a metric function accepts besides the data; None if it takes **kwargs."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    names = {
        p.name
        for p in parameters[2:]
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return names - {"classes"}


@dataclass(frozen=True)
class Scorer:
    """A metric bound to its parameters; call it with (y_true, y_pred[, classes=...])."""

    name: str
    fn: MetricFunction = field(repr=False)
    greater_is_better: bool
    response: Response
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    tasks: frozenset[TaskKind] = ALL_TASKS
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        accepted = accepted_params(self.fn)
        if accepted is not None:
            unknown = sorted(set(self.params) - accepted)
            if unknown:
                valid = ", ".join(sorted(accepted)) or "none"
                raise MetricParamsError(
                    f"metric {self.name!r} does not accept parameter(s) {', '.join(unknown)}; "
                    f"accepted parameters: {valid}"
                )

    @property
    def sign(self) -> int:
        """+1 when greater values are better, -1 otherwise (scikit-learn's scorer sign)."""
        return 1 if self.greater_is_better else -1

    def supports(self, task: str) -> bool:
        """Whether the metric applies to a task kind."""
        return task in self.tasks

    def __call__(self, y_true: Any, y_pred: Any, *, classes: Sequence[Any] | None = None) -> float:
        """The metric's value on these data (not sign-flipped)."""
        kwargs = dict(self.params)
        if accepts_classes(self.fn):
            kwargs["classes"] = None if classes is None else list(classes)
        value = self.fn(np.asarray(y_true), np.asarray(y_pred), **kwargs)
        result = float(value)
        if math.isnan(result):
            raise ValueError(
                f"metric {self.name!r} is undefined on these data (the value is NaN), "
                "e.g. too few rows or a single class present"
            )
        return result

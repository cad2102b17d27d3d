"""Scoring a submission on the public and private splits with every metric of the intent."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from challenge.scoring.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_interval
from challenge.scoring.errors import ScoringError
from challenge.scoring.hidden import ALL_ROWS, SPLITS, HiddenLabels, prepare_labels
from challenge.scoring.registry import get_scorer, scorer_names
from challenge.scoring.scorer import Response, Scorer
from challenge.scoring.validation import proba_column, validate_predictions

__all__ = ["ALL_ROWS", "SPLITS", "MetricResult", "metric_keys", "score_aligned", "score_submission"]

MetricSpec = str | tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class MetricResult:
    """One metric on one split: a value, or the error that prevented it; optionally an interval."""

    value: float | None
    error: str | None = None
    interval: tuple[float, float] | None = None

    @property
    def ok(self) -> bool:
        """Whether the metric has a value."""
        return self.value is not None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        interval = None if self.interval is None else [self.interval[0], self.interval[1]]
        return {"value": self.value, "error": self.error, "interval": interval}


def metric_keys(metrics: Sequence[MetricSpec]) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, name, params) per metric; a name listed twice gets its params in the key."""
    specs = [(m, {}) if isinstance(m, str) else (m[0], dict(m[1])) for m in metrics]
    names = [name for name, _ in specs]
    keys = []
    for name, params in specs:
        key = name
        if names.count(name) > 1 and params:
            key = f"{name}({', '.join(f'{k}={v}' for k, v in sorted(params.items()))})"
        keys.append((key, name, params))
    seen = [k for k, _, _ in keys]
    repeated = sorted({k for k in seen if seen.count(k) > 1})
    if repeated:
        raise ValueError(f"metric(s) {', '.join(repeated)} are listed twice with the same params")
    return keys


class _Responses:
    """The arrays scorers need from the aligned predictions, on one split (each built once)."""

    def __init__(
        self, aligned: pd.DataFrame, mask: np.ndarray, target: str, classes: list[Any] | None
    ) -> None:
        self.aligned, self.mask, self.target, self.classes = aligned, mask, target, classes
        self._built: dict[Response, np.ndarray] = {}

    def of(self, scorer: Scorer) -> np.ndarray:
        """The array `scorer` needs (raises ScoringError when the predictions lack it)."""
        kind = scorer.response
        if kind not in self._built:
            self._built[kind] = self._build(scorer)
        return self._built[kind]

    def _build(self, scorer: Scorer) -> np.ndarray:
        everything = self.mask.all()
        if scorer.response is Response.LABELS:
            column = self.aligned[self.target].to_numpy()
            return column if everything else column[self.mask]
        classes = self.classes
        if classes is None:
            raise ScoringError(
                f"metric {scorer.name!r} needs {scorer.response} and applies to classification only"
            )
        columns = [proba_column(c) for c in classes]
        if not all(c in self.aligned.columns for c in columns):
            raise ScoringError(
                f"metric {scorer.name!r} needs class probabilities: add the columns "
                f"{', '.join(columns)} to the predictions"
            )
        rows = self.aligned if everything else self.aligned[self.mask]
        matrix = rows[columns].to_numpy(dtype=np.float64)
        if scorer.response is Response.SCORES and len(classes) == 2:
            return matrix[:, 1]
        return matrix


def _score_one(
    name: str,
    params: Mapping[str, Any],
    task: str,
    y_true: np.ndarray,
    responses: _Responses,
    classes: list[Any] | None,
    interval: dict[str, Any] | None,
) -> MetricResult:
    """One metric on one split; any failure becomes the result's error."""
    try:
        scorer = get_scorer(name, **params)
        if not scorer.supports(task):
            raise ScoringError(
                f"metric {name!r} does not apply to task {task!r}; "
                f"metrics for {task}: {', '.join(scorer_names(task))}"
            )
        if len(y_true) == 0:
            raise ScoringError("this split has no rows")
        y_pred = responses.of(scorer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = scorer(y_true, y_pred, classes=classes)
    except Exception as error:  # a failing metric is recorded, never raised
        return MetricResult(value=None, error=f"{type(error).__name__}: {error}")
    bounds = None
    if interval is not None:
        try:
            bounds = bootstrap_interval(y_true, y_pred, scorer, classes=classes, **interval)
        except Exception:  # an interval that cannot be computed is simply absent
            bounds = None
    return MetricResult(value=value, interval=bounds)


def score_submission(
    predictions: pd.DataFrame,
    labels: pd.DataFrame | HiddenLabels,
    *,
    id_column: str,
    target: str,
    task: str,
    metrics: Sequence[MetricSpec],
    classes: Sequence[Any] | None = None,
    intervals_for: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, dict[str, MetricResult]]:
    """Validate predictions, then score every split with every metric: {split: {metric: result}}."""
    keys = _checked_keys(metrics, intervals_for)
    hidden = prepare_labels(labels, id_column=id_column, target=target, task=task, classes=classes)
    aligned = validate_predictions(
        predictions, hidden, id_column=id_column, target=target, task=task, classes=classes
    )
    return _score(aligned, hidden, keys, intervals_for, n_resamples, confidence, seed)


def score_aligned(
    aligned: pd.DataFrame,
    labels: pd.DataFrame | HiddenLabels,
    *,
    target: str,
    task: str,
    metrics: Sequence[MetricSpec],
    classes: Sequence[Any] | None = None,
    intervals_for: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    id_column: str | None = None,
) -> dict[str, dict[str, MetricResult]]:
    """Like `score_submission` for predictions already returned by `validate_predictions`.

    `id_column` defaults to the aligned frame's first column, where `validate_predictions` puts it.
    """
    keys = _checked_keys(metrics, intervals_for)
    id_column = id_column or str(aligned.columns[0])
    hidden = prepare_labels(labels, id_column=id_column, target=target, task=task, classes=classes)
    if len(aligned) != len(hidden):
        raise ValueError(
            f"aligned predictions have {len(aligned)} rows for {len(hidden)} labels; "
            "pass the frame returned by validate_predictions for these labels"
        )
    return _score(aligned, hidden, keys, intervals_for, n_resamples, confidence, seed)


def _checked_keys(
    metrics: Sequence[MetricSpec], intervals_for: str | None
) -> list[tuple[str, str, dict[str, Any]]]:
    keys = metric_keys(metrics)
    if intervals_for is not None and intervals_for not in [k for k, _, _ in keys]:
        raise ValueError(
            f"intervals_for={intervals_for!r} is not one of the metrics: "
            f"{', '.join(k for k, _, _ in keys)}"
        )
    return keys


def _score(
    aligned: pd.DataFrame,
    hidden: HiddenLabels,
    keys: list[tuple[str, str, dict[str, Any]]],
    intervals_for: str | None,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict[str, dict[str, MetricResult]]:
    bootstrap = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    results: dict[str, dict[str, MetricResult]] = {}
    for split, mask in hidden.splits.items():
        responses = _Responses(aligned, mask, hidden.target, hidden.classes)
        y_true = hidden.truth[mask]
        results[split] = {
            key: _score_one(
                name,
                params,
                hidden.task,
                y_true,
                responses,
                hidden.classes,
                bootstrap if key == intervals_for else None,
            )
            for key, name, params in keys
        }
    return results

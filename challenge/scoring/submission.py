"""Scoring a submission on the public and private splits with every metric of the intent."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from challenge.scoring.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_interval
from challenge.scoring.errors import LabelsError, ScoringError
from challenge.scoring.registry import get_scorer, scorer_names
from challenge.scoring.scorer import Response, Scorer
from challenge.scoring.validation import (
    proba_column,
    resolve_classes,
    truth_values,
    validate_predictions,
)

SPLITS = ("public", "private")
ALL_ROWS = "all"
"""The split name used when the labels have no `split` column."""

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


def _split_masks(labels: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean row masks of the splits present in the labels."""
    if "split" not in labels.columns:
        return {ALL_ROWS: np.ones(len(labels), dtype=bool)}
    split = labels["split"].astype(str).str.strip().str.lower().to_numpy()
    unknown = sorted(set(split) - set(SPLITS))
    if unknown:
        raise LabelsError(
            f"test_labels: column 'split' has value(s) {unknown}; use only 'public' and 'private'"
        )
    return {name: split == name for name in SPLITS if (split == name).any()}


def _response(
    scorer: Scorer, aligned: pd.DataFrame, target: str, classes: list[Any] | None
) -> np.ndarray:
    """The array a scorer needs from the aligned predictions."""
    if scorer.response is Response.LABELS:
        return aligned[target].to_numpy()
    if classes is None:
        raise ScoringError(
            f"metric {scorer.name!r} needs {scorer.response} and applies to classification only"
        )
    columns = [proba_column(c) for c in classes]
    if not all(c in aligned.columns for c in columns):
        raise ScoringError(
            f"metric {scorer.name!r} needs class probabilities: add the columns "
            f"{', '.join(columns)} to the predictions"
        )
    matrix = aligned[columns].to_numpy(dtype=np.float64)
    if scorer.response is Response.SCORES and len(classes) == 2:
        return matrix[:, 1]
    return matrix


def _score_one(
    name: str,
    params: Mapping[str, Any],
    task: str,
    y_true: np.ndarray,
    aligned: pd.DataFrame,
    target: str,
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
        y_pred = _response(scorer, aligned, target, classes)
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
    labels: pd.DataFrame,
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
    aligned = validate_predictions(
        predictions, labels, id_column=id_column, target=target, task=task, classes=classes
    )
    return _score(
        aligned, labels, keys, target, task, classes, intervals_for, n_resamples, confidence, seed
    )


def score_aligned(
    aligned: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    target: str,
    task: str,
    metrics: Sequence[MetricSpec],
    classes: Sequence[Any] | None = None,
    intervals_for: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, dict[str, MetricResult]]:
    """Like `score_submission` for predictions already returned by `validate_predictions`."""
    keys = _checked_keys(metrics, intervals_for)
    if len(aligned) != len(labels):
        raise ValueError(
            f"aligned predictions have {len(aligned)} rows for {len(labels)} labels; "
            "pass the frame returned by validate_predictions for these labels"
        )
    return _score(
        aligned, labels, keys, target, task, classes, intervals_for, n_resamples, confidence, seed
    )


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
    labels: pd.DataFrame,
    keys: list[tuple[str, str, dict[str, Any]]],
    target: str,
    task: str,
    classes: Sequence[Any] | None,
    intervals_for: str | None,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> dict[str, dict[str, MetricResult]]:
    class_list = resolve_classes(labels, target, task, classes)
    y_true = truth_values(labels, target, class_list)
    bootstrap = {"n_resamples": n_resamples, "confidence": confidence, "seed": seed}
    results: dict[str, dict[str, MetricResult]] = {}
    for split, mask in _split_masks(labels).items():
        part = aligned[mask].reset_index(drop=True)
        results[split] = {
            key: _score_one(
                name,
                params,
                task,
                y_true[mask],
                part,
                target,
                class_list,
                bootstrap if key == intervals_for else None,
            )
            for key, name, params in keys
        }
    return results

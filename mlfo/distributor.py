"""D: score the (policy-applied) predictions against the hidden labels, per split.

Also decides validity (the P node's score rules) and the ranking score: the primary metric, or the
measured cost `sum(w_k * KPI_k / ref_k)` when the intent ranks by cost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from mlfo.errors import NodeFailure, Outcome
from mlfo.intent import Intent, Split
from mlfo.policies import PolicyContext, ScoreRule
from mlfo.registry import NodeKind, Registry

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from challenge.scoring import HiddenLabels


@dataclass
class Distribution:
    """Scores and the decisions derived from them."""

    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)
    metric_errors: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    ranking_score: dict[str, float | None] = field(default_factory=dict)
    valid: bool = True
    invalid_reason: str = ""
    aligned: pd.DataFrame | None = None
    """The predictions as validated and aligned to the labels' rows."""


class Distributor(Protocol):
    """A D implementation."""

    def __call__(
        self,
        predictions: pd.DataFrame,
        labels: pd.DataFrame | HiddenLabels,
        intent: Intent,
        kpis: Mapping[str, float],
        rules: Sequence[tuple[ScoreRule, Any]],
    ) -> Distribution: ...


DISTRIBUTORS: Registry[Distributor] = Registry(NodeKind.D)


def cost(intent: Intent, kpis: Mapping[str, float]) -> float | None:
    """The intent's cost of a run from its measured KPIs; None when a weighted KPI is missing."""
    ranking = intent.ranking.cost
    if ranking is None:
        return None
    total = 0.0
    for kpi, weight in ranking.weights.items():
        value = kpis.get(str(kpi))
        if value is None:
            return None
        total += weight * float(value) / ranking.reference.get(kpi, 1.0)
    return total


def with_split(labels: pd.DataFrame, split: Split) -> pd.DataFrame:
    """The labels with a `split` column: kept when present, else drawn from the intent's split."""
    if "split" in labels.columns:
        return labels
    n = len(labels)
    public = np.zeros(n, dtype=bool)
    public[np.random.default_rng(split.seed).permutation(n)[: round(n * split.public_fraction)]] = (
        True
    )
    return labels.assign(split=np.where(public, "public", "private"))


def score_splits(
    predictions: pd.DataFrame,
    labels: pd.DataFrame | HiddenLabels,
    intent: Intent,
    kpis: Mapping[str, float],
    rules: Sequence[tuple[ScoreRule, Any]],
) -> Distribution:
    """Validate and score the predictions on every split through `challenge.scoring`.

    `labels`: the hidden labels' frame (its split drawn from the intent when it has none), or
    the same already prepared (mlfo/tables.py).
    """
    from challenge import scoring

    common: dict[str, Any] = {
        "id_column": intent.id_column,
        "target": intent.target,
        "task": str(intent.task),
        "classes": intent.classes,
    }
    if isinstance(labels, pd.DataFrame):
        labels = with_split(labels, intent.split)
    try:
        hidden = scoring.prepare_labels(labels, **common)
        aligned = scoring.validate_predictions(predictions, hidden, **common)
    except scoring.InvalidPredictionsError as exc:
        raise NodeFailure(Outcome.INVALID_OUTPUT, str(exc)) from None
    except scoring.LabelsError as exc:
        raise NodeFailure(Outcome.INFRASTRUCTURE_ERROR, str(exc)) from None
    primary = intent.primary_metric.name
    results = scoring.score_aligned(
        aligned,
        hidden,
        target=intent.target,
        task=str(intent.task),
        classes=intent.classes,
        metrics=[(m.name, dict(m.params)) for m in intent.metrics],
        intervals_for=primary,
        id_column=intent.id_column,
    )
    out = Distribution(aligned=aligned)
    for split, metrics in results.items():
        out.scores[split] = {name: r.value for name, r in metrics.items()}
        for name, r in metrics.items():
            if r.error and name not in out.metric_errors:
                out.metric_errors[name] = f"{split}: {r.error}"
        head = metrics.get(primary)
        if head is None or head.value is None:
            reason = head.error if head is not None else "not computed"
            if split != "public":  # teams read this message: the private split's labels stay hidden
                log.warning("primary metric %r on the %s split: %s", primary, split, reason)
                reason = "the reason concerns hidden labels and is in the worker's log"
            raise NodeFailure(
                Outcome.INVALID_OUTPUT,
                f"the primary metric {primary!r} cannot be computed on the {split} split: {reason}",
            )
        out.intervals[split] = tuple(head.interval) if head.interval is not None else None  # type: ignore[assignment]
    _rank(out, intent, kpis)
    _judge(out, intent, rules)
    return out


def _rank(out: Distribution, intent: Intent, kpis: Mapping[str, float]) -> None:
    if intent.ranking.by == "cost":
        value = cost(intent, kpis)
        for split in out.scores:
            out.ranking_score[split] = value
            out.intervals[split] = None
        return
    primary = intent.primary_metric.name
    for split, values in out.scores.items():
        out.ranking_score[split] = values.get(primary)


def _judge(out: Distribution, intent: Intent, rules: Sequence[tuple[ScoreRule, Any]]) -> None:
    ctx = PolicyContext(str(intent.task), intent.id_column, intent.target, intent.classes)
    for rule, params in rules:
        reason = rule(out.scores, params, ctx)
        if reason:
            out.valid = False
            out.invalid_reason = reason
            return
    if intent.ranking.by == "cost" and any(v is None for v in out.ranking_score.values()):
        missing = [str(k) for k in (intent.ranking.cost.weights if intent.ranking.cost else {})]
        out.valid = False
        out.invalid_reason = (
            f"the cost needs the KPIs {', '.join(missing)}, which were not measured"
        )


DISTRIBUTORS.register("scoring", score_splits)

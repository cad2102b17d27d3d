"""Scoring: metric registry (scikit-learn scorer shape), output validation, bootstrap intervals.

A pure library: no web, database or Celery imports, usable by a host in a notebook.
See docs/metrics.md for every metric's definition.
"""

from challenge.scoring.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    bootstrap_distribution,
    bootstrap_interval,
)
from challenge.scoring.diagnostics import diagnostics_plot
from challenge.scoring.errors import (
    InvalidPredictionsError,
    LabelsError,
    MetricNotApplicableError,
    MetricParamsError,
    ScorerRegistrationError,
    ScoringError,
    UnknownMetricError,
)
from challenge.scoring.hidden import HiddenLabels, prepare_labels
from challenge.scoring.registry import (
    check_metrics,
    get_scorer,
    register_scorer,
    scorer_names,
    unregister_scorer,
)
from challenge.scoring.scorer import Response, Scorer
from challenge.scoring.submission import (
    MetricResult,
    metric_keys,
    score_aligned,
    score_submission,
)
from challenge.scoring.validation import id_problems, proba_column, validate_predictions

__version__ = "1.0.0"
"""Version of the scoring semantics; bump it when a metric's value or validation changes."""

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "HiddenLabels",
    "InvalidPredictionsError",
    "LabelsError",
    "MetricNotApplicableError",
    "MetricParamsError",
    "MetricResult",
    "Response",
    "Scorer",
    "ScorerRegistrationError",
    "ScoringError",
    "UnknownMetricError",
    "__version__",
    "bootstrap_distribution",
    "bootstrap_interval",
    "check_metrics",
    "diagnostics_plot",
    "get_scorer",
    "id_problems",
    "metric_keys",
    "prepare_labels",
    "proba_column",
    "register_scorer",
    "score_aligned",
    "score_submission",
    "scorer_names",
    "unregister_scorer",
    "validate_predictions",
]

"""The name-keyed scorer registry: built-in metrics and the ones a host registers."""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from challenge.scoring import metrics as m
from challenge.scoring.errors import (
    MetricNotApplicableError,
    MetricParamsError,
    ScorerRegistrationError,
    UnknownMetricError,
)
from challenge.scoring.scorer import (
    ALL_TASKS,
    CLASSIFICATION_TASKS,
    REGRESSION_TASKS,
    MetricFunction,
    Response,
    Scorer,
)
from sandbox import TaskKind

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

ParamsCheck = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class _Entry:
    """A registered metric: its unbound scorer, a parameter check, and whether it is built in."""

    scorer: Scorer
    check: ParamsCheck | None
    builtin: bool


_lock = threading.Lock()
_registry: dict[str, _Entry] = {}


def _add(
    name: str,
    fn: MetricFunction,
    greater_is_better: bool,
    response: Response,
    tasks: frozenset[TaskKind],
    description: str,
    *,
    check: ParamsCheck | None = None,
    builtin: bool = False,
) -> Scorer:
    """Insert one scorer, refusing duplicates."""
    scorer = Scorer(
        name=name,
        fn=fn,
        greater_is_better=greater_is_better,
        response=response,
        tasks=tasks,
        description=description,
    )
    with _lock:
        if name in _registry:
            raise ScorerRegistrationError(
                f"a metric named {name!r} is already registered; choose another name"
                + ("" if _registry[name].builtin else " or unregister_scorer() it first")
            )
        _registry[name] = _Entry(scorer=scorer, check=check, builtin=builtin)
    return scorer


def _tasks(tasks: Iterable[str] | str) -> frozenset[TaskKind]:
    """Validated task kinds."""
    if isinstance(tasks, str):
        tasks = [tasks]
    valid = [t.value for t in TaskKind]
    result = set()
    for task in tasks:
        if task not in valid:
            raise ScorerRegistrationError(
                f"unknown task {task!r} in tasks; valid tasks: {', '.join(valid)}"
            )
        result.add(TaskKind(task))
    if not result:
        raise ScorerRegistrationError(f"tasks must name at least one of {', '.join(valid)}")
    return frozenset(result)


def register_scorer(
    name: str,
    fn: MetricFunction,
    *,
    greater_is_better: bool,
    response: Response | str,
    tasks: Iterable[str] | str = tuple(ALL_TASKS),
    description: str = "",
) -> Scorer:
    """Register a host's metric `fn(y_true, y_pred, **params) -> float` under a new name."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ScorerRegistrationError(
            f"invalid metric name {name!r}: use 1-64 lowercase letters, digits and '_', "
            "starting with a letter (e.g. 'weighted_mae')"
        )
    if not callable(fn):
        raise ScorerRegistrationError(
            f"metric {name!r}: fn must be callable as fn(y_true, y_pred, **params) -> float, "
            f"got {type(fn).__name__}"
        )
    try:
        inspect.signature(fn).bind_partial(None, None)
    except TypeError:
        raise ScorerRegistrationError(
            f"metric {name!r}: fn must accept two positional arguments (y_true, y_pred)"
        ) from None
    except ValueError:
        pass  # a builtin without a signature: checked when it is first called
    if not isinstance(greater_is_better, bool):
        raise ScorerRegistrationError(
            f"metric {name!r}: greater_is_better must be True or False, got {greater_is_better!r}"
        )
    valid_responses = [r.value for r in Response]
    if response not in valid_responses:
        raise ScorerRegistrationError(
            f"metric {name!r}: unknown response {response!r}; "
            f"valid responses: {', '.join(valid_responses)}"
        )
    return _add(name, fn, greater_is_better, Response(response), _tasks(tasks), str(description))


def unregister_scorer(name: str) -> None:
    """Remove a host-registered metric (built-in metrics cannot be removed)."""
    with _lock:
        entry = _registry.get(name)
        if entry is None:
            raise UnknownMetricError(name, sorted(_registry))
        if entry.builtin:
            raise ScorerRegistrationError(f"{name!r} is a built-in metric and cannot be removed")
        del _registry[name]


def scorer_names(task: str | None = None) -> list[str]:
    """Sorted names of the registered metrics, optionally only those that apply to a task."""
    with _lock:
        entries = list(_registry.values())
    return sorted(e.scorer.name for e in entries if task is None or e.scorer.supports(task))


def get_scorer(name: str, /, **params: Any) -> Scorer:
    """The registered metric `name` bound to `params`; an unknown name lists the valid ones."""
    with _lock:
        entry = _registry.get(name)
    if entry is None:
        raise UnknownMetricError(name, scorer_names())
    scorer = replace(entry.scorer, params=params) if params else entry.scorer
    if entry.check is not None:
        entry.check(params)
    return scorer


def is_builtin(scorer: Scorer) -> bool:
    """Whether a scorer's function is the built-in metric registered under its name."""
    with _lock:
        entry = _registry.get(scorer.name)
    return entry is not None and entry.builtin and entry.scorer.fn is scorer.fn


def check_metrics(
    task: str, metrics: Sequence[str | tuple[str, Mapping[str, Any]]]
) -> list[Scorer]:
    """Resolve an intent's metrics for a task, raising on an unknown, inapplicable or bad one."""
    scorers = []
    for item in metrics:
        name, params = (item, {}) if isinstance(item, str) else (item[0], dict(item[1]))
        scorer = get_scorer(name, **params)
        if not scorer.supports(task):
            raise MetricNotApplicableError(
                f"metric {name!r} does not apply to task {task!r}; metrics for {task}: "
                f"{', '.join(scorer_names(task))}"
            )
        scorers.append(scorer)
    if not scorers:
        raise MetricParamsError("at least one metric is needed (the first one ranks)")
    return scorers


_L, _S, _P = Response.LABELS, Response.SCORES, Response.PROBABILITIES
_BIN, _MULTI = frozenset({TaskKind.BINARY}), frozenset({TaskKind.MULTICLASS})
for _name, _fn, _gib, _resp, _task_set, _doc, _check in [
    ("mae", m.mae, False, _L, REGRESSION_TASKS, "mean absolute error", None),
    ("mse", m.mse, False, _L, REGRESSION_TASKS, "mean squared error", None),
    ("rmse", m.rmse, False, _L, REGRESSION_TASKS, "root mean squared error", None),
    ("r2", m.r2, True, _L, REGRESSION_TASKS, "coefficient of determination", None),
    (
        "mape",
        m.mape,
        False,
        _L,
        REGRESSION_TASKS,
        "mean absolute percentage error (fraction)",
        None,
    ),
    ("smape", m.smape, False, _L, REGRESSION_TASKS, "symmetric MAPE (fraction, 0..2)", None),
    ("wmape", m.wmape, False, _L, REGRESSION_TASKS, "weighted MAPE: sum|e| / sum|y|", None),
    ("mre", m.mre, False, _L, REGRESSION_TASKS, "mean relative error |y-p|/|y| (fraction)", None),
    ("accuracy", m.accuracy, True, _L, CLASSIFICATION_TASKS, "fraction of correct labels", None),
    (
        "balanced_accuracy",
        m.balanced_accuracy,
        True,
        _L,
        CLASSIFICATION_TASKS,
        "mean per-class recall",
        None,
    ),
    ("f1", m.f1, True, _L, _BIN, "F1 of the positive class", None),
    ("f1_macro", m.f1_macro, True, _L, CLASSIFICATION_TASKS, "mean per-class F1", None),
    ("f1_micro", m.f1_micro, True, _L, CLASSIFICATION_TASKS, "F1 of global counts", None),
    ("precision", m.precision, True, _L, _BIN, "precision of the positive class", None),
    (
        "precision_macro",
        m.precision_macro,
        True,
        _L,
        CLASSIFICATION_TASKS,
        "mean per-class precision",
        None,
    ),
    ("recall", m.recall, True, _L, _BIN, "recall of the positive class", None),
    ("recall_macro", m.recall_macro, True, _L, CLASSIFICATION_TASKS, "mean per-class recall", None),
    (
        "roc_auc",
        m.roc_auc,
        True,
        _S,
        CLASSIFICATION_TASKS,
        "ROC AUC (binary; one-vs-rest macro for multiclass)",
        None,
    ),
    ("log_loss", m.log_loss, False, _P, CLASSIFICATION_TASKS, "cross-entropy (natural log)", None),
    (
        "top_k_accuracy",
        m.top_k_accuracy,
        True,
        _P,
        _MULTI,
        "true class among the k most probable (params: k, default 5)",
        m.check_k,
    ),
]:
    _add(_name, _fn, _gib, _resp, _task_set, _doc, check=_check, builtin=True)

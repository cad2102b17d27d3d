"""Intent validation beyond the schema: every step, metric and sink must exist and take its params.

Errors name the field path (`intent.model.limits.memory_mb: must be >= 64`) and, for an unknown
kind, list the valid ones. `default_intent` turns a host bundle's plain keys into an intent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from mlfo.errors import IntentError
from mlfo.intent import Intent, TaskKind
from mlfo.policies import POLICIES, FloorParams
from mlfo.preprocessing import PREPROCESSORS
from mlfo.registry import Registry, error_message
from mlfo.sinks import COMMIT_SINKS, SINKS, is_commit_sink, sink_names

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def validate_intent(data: Mapping[str, Any] | Intent) -> Intent:
    """Parse and check an intent; raise IntentError naming every bad field."""
    intent, problems = _check(data)
    if problems or intent is None:
        raise IntentError(render(problems, "intent"))
    return intent


def default_intent(settings: Mapping[str, Any]) -> Intent:
    """The intent built from a host bundle's plain keys (task, id_column, target, metrics, ...)."""
    if not isinstance(settings, Mapping):
        raise IntentError("competition.yaml: must be a mapping of settings")
    data: dict[str, Any] = {
        k: settings[k] for k in ("task", "id_column", "target") if k in settings
    }
    if settings.get("classes") is not None:
        data["classes"] = settings["classes"]
    if "metrics" in settings:
        data["metrics"] = _metrics(settings["metrics"])
    model: dict[str, Any] = {}
    if "formats" in settings:
        model["formats"] = settings["formats"]
    if "limits" in settings:
        model["limits"] = settings["limits"]
    if model:
        data["model"] = model
    if "split" in settings:
        data["split"] = settings["split"]
    if "resource_class" in settings:
        data["placement"] = {"resource_class": settings["resource_class"]}
    intent, problems = _check(data)
    if problems or intent is None:
        raise IntentError(
            render([(_plain_loc(loc), msg) for loc, msg in problems], "", file="competition.yaml")
        )
    return intent


def intent_for_bundle(settings: Mapping[str, Any]) -> Intent:
    """The bundle's intent: its `intent` key (checked against the plain keys), else the default."""
    if settings.get("intent") is None:
        return default_intent(settings)
    intent, problems = _check(settings["intent"])
    if problems or intent is None:
        raise IntentError(render(problems, "intent", file="competition.yaml"))
    mismatches = [
        f"competition.yaml: {key}: {settings[key]!r} disagrees with the intent's {value!r}"
        for key, value in _plain_view(intent).items()
        if key in settings and not _agrees(key, settings[key], value)
    ]
    if mismatches:
        raise IntentError("; ".join(mismatches))
    return intent


def render(problems: Sequence[Problem], prefix: str, *, file: str | None = None) -> str:
    """Problems as `[file: ]prefix.path: message`, joined by '; '."""
    lines = []
    for loc, message in problems:
        path = _path(prefix, loc).lstrip(".")
        where = ": ".join(part for part in (file, path) if part)
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


def _path(prefix: str, loc: Loc) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _check(data: Mapping[str, Any] | Intent) -> tuple[Intent | None, list[Problem]]:
    if isinstance(data, Intent):
        intent = data
    elif not isinstance(data, Mapping):
        return None, [((), "must be a mapping (a JSON object)")]
    else:
        try:
            intent = Intent.model_validate(dict(data))
        except ValidationError as exc:
            return None, [(tuple(err["loc"]), error_message(err)) for err in exc.errors()]
    problems: list[Problem] = []
    problems += _check_steps(intent.preprocessing, PREPROCESSORS, ("preprocessing",))
    problems += _check_steps(intent.policies, POLICIES, ("policies",))
    problems += _check_policies(intent)
    problems += _check_metrics(intent)
    problems += _check_sinks(intent)
    problems += _check_ranking(intent)
    return intent, problems


def _check_steps(steps: Sequence[Any], registry: Registry[Any], loc: Loc) -> list[Problem]:
    problems: list[Problem] = []
    for index, step in enumerate(steps):
        if step.kind not in registry:
            message = f"unknown {registry.kind} step {step.kind!r}; valid kinds: "
            problems.append(((*loc, index, "kind"), message + ", ".join(registry.names())))
            continue
        try:
            registry.get(step.kind).parse_params(step.params)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(((*loc, index, "params", *err["loc"]), error_message(err)))
    return problems


def _check_policies(intent: Intent) -> list[Problem]:
    problems: list[Problem] = []
    names = [m.name for m in intent.metrics]
    for index, step in enumerate(intent.policies):
        if step.kind == "threshold" and intent.task is not TaskKind.BINARY:
            problems.append((("policies", index, "kind"), "threshold applies to binary tasks only"))
        if step.kind == "validity_floor":
            try:
                floor = FloorParams.model_validate(step.params)
            except ValidationError:
                continue
            if floor.metric not in names:
                message = f"{floor.metric!r} is not among the intent's metrics ({', '.join(names)})"
                problems.append((("policies", index, "params", "metric"), message))
    return problems


def _check_metrics(intent: Intent) -> list[Problem]:
    from challenge import scoring

    problems: list[Problem] = []
    seen: set[str] = set()
    for index, metric in enumerate(intent.metrics):
        if metric.name in seen:
            problems.append((("metrics", index, "name"), f"metric {metric.name!r} is listed twice"))
        seen.add(metric.name)
        if intent.programs is not None:  # the scoring program's keys, checked against the board
            if metric.name not in {c.key for c in intent.programs.public.columns}:
                message = f"{metric.name!r} is not a column of the programs' public board"
                problems.append((("metrics", index, "name"), message))
            continue
        try:
            scorer = scoring.get_scorer(metric.name, **metric.params)
        except KeyError as exc:
            problems.append((("metrics", index, "name"), _text(exc)))
            continue
        except (ValueError, TypeError) as exc:
            problems.append((("metrics", index, "params"), _text(exc)))
            continue
        if not scorer.supports(intent.task):
            message = f"metric {metric.name!r} does not apply to a {intent.task} task"
            problems.append((("metrics", index, "name"), message))
    return problems


def _text(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def _check_sinks(intent: Intent) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, sink in enumerate(intent.sinks):
        if sink.kind in seen:
            problems.append((("sinks", index, "kind"), f"sink {sink.kind!r} is listed twice"))
        seen.add(sink.kind)
        registry = SINKS if sink.kind in SINKS else COMMIT_SINKS
        if sink.kind in registry:
            try:
                registry.get(sink.kind).parse_params(sink.params)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ("sinks", index, "params", *err["loc"])
                    problems.append((loc, error_message(err)))
        elif not is_commit_sink(sink.kind):
            message = f"unknown sink {sink.kind!r}; valid sinks: {', '.join(sink_names())}"
            problems.append((("sinks", index, "kind"), message))
    kinds = [sink.kind for sink in intent.sinks]
    if "scorer" in kinds and "mlflow" in kinds and kinds.index("mlflow") < kinds.index("scorer"):
        message = "list 'scorer' before 'mlflow' so that the MLflow run includes the score report"
        problems.append((("sinks",), message))
    return problems


def _check_ranking(intent: Intent) -> list[Problem]:
    cost = intent.ranking.cost
    if intent.ranking.by != "cost" or cost is None:
        return []
    problems: list[Problem] = []
    for kpi in cost.weights:
        if kpi not in intent.kpis:
            message = f"KPI {str(kpi)!r} is weighted but not measured; add it to intent.kpis"
            problems.append((("ranking", "cost", "weights", str(kpi)), message))
    return problems


def _metrics(raw: Any) -> Any:
    if not isinstance(raw, list):
        return raw
    return [{"name": m} if isinstance(m, str) else m for m in raw]


_PLAIN_LOCS: dict[tuple[str, str], str] = {
    ("model", "formats"): "formats",
    ("model", "limits"): "limits",
    ("placement", "resource_class"): "resource_class",
}


def _plain_loc(loc: Loc) -> Loc:
    if len(loc) >= 2 and (mapped := _PLAIN_LOCS.get((str(loc[0]), str(loc[1])))):
        return (mapped, *loc[2:])
    if len(loc) == 3 and loc[0] == "metrics" and loc[2] == "name":
        return loc[:2]
    return loc


def _plain_view(intent: Intent) -> dict[str, Any]:
    return {
        "task": str(intent.task),
        "id_column": intent.id_column,
        "target": intent.target,
        "classes": intent.classes,
        "metrics": [m.name for m in intent.metrics],
        "formats": intent.model.formats,
        "limits": intent.model.limits.model_dump(),
        "split": intent.split.model_dump(),
        "resource_class": str(intent.placement.resource_class),
    }


_AGREES: dict[str, Callable[[Any, Any], bool]] = {
    "metrics": lambda given, value: (
        [m if isinstance(m, str) else m.get("name") for m in given] == value
    ),
    "limits": lambda given, value: (
        isinstance(given, Mapping) and all(value.get(k) == v for k, v in given.items())
    ),
    "split": lambda given, value: (
        isinstance(given, Mapping)
        and all(value.get(k) == v for k, v in given.items() if k != "seed")
    ),
}


def _agrees(key: str, given: Any, value: Any) -> bool:
    check = _AGREES.get(key)
    if check is not None:
        return bool(check(given, value))
    return bool(given == value)

"""What a request to the MLflow UI touches, so that a host or judge sees only their competitions.

Hosts and judges get the UI read-only and scoped: a request is let through only when it is one of
the reads below and every experiment and run it names belongs to a competition they are staff of
(an experiment search is filtered instead). Anything else (writes, the model registry, traces,
the gateway, unknown endpoints) is refused: fail closed. Admins bypass this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
    value_from_ast_untyped,
)

PREFIX = "/mlflow"
STATIC = ("/static-files/", "/favicon.ico")
PUBLIC_PAGES = frozenset({"/", "/health", "/version"})
API_ROOTS = (
    "/ajax-api/2.0/mlflow/",
    "/ajax-api/3.0/mlflow/",
    "/api/2.0/mlflow/",
    "/api/3.0/mlflow/",
)
RUN_KEYS = ("run_id", "run_uuid")


class Refused(Exception):
    """The request is outside what staff may do in the MLflow UI; the message says why."""


@dataclass
class Scope:
    """The experiments and runs a request names, or that its response must be filtered."""

    experiment_ids: set[str] = field(default_factory=set)
    experiment_names: set[str] = field(default_factory=set)
    run_ids: set[str] = field(default_factory=set)
    filter_experiments: bool = False

    def names_something(self) -> bool:
        """Whether the request names any experiment or run (else it must be a filtered list)."""
        return bool(self.experiment_ids or self.experiment_names or self.run_ids)


def _values(query: Mapping[str, list[str]], *keys: str) -> set[str]:
    return {v for key in keys for v in query.get(key, []) if v}


def _body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise Refused("the request body is not JSON") from exc
    if not isinstance(data, dict):
        raise Refused("the request body is not a JSON object")
    return data


def _ids(data: Mapping[str, Any], key: str) -> set[str]:
    value = data.get(key)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return set(value)
    return set()


GET_BY_QUERY: dict[str, tuple[str, tuple[str, ...]]] = {
    "experiments/get": ("experiment", ("experiment_id",)),
    "experiments/get-by-name": ("name", ("experiment_name",)),
    "runs/get": ("run", RUN_KEYS),
    "metrics/get-history": ("run", RUN_KEYS),
    "metrics/get-history-bulk": ("run", RUN_KEYS),
    "metrics/get-history-bulk-interval": ("run", ("run_ids", *RUN_KEYS)),
    "artifacts/list": ("run", RUN_KEYS),
}
"""Reads whose query string names what they touch: endpoint -> (kind, parameters)."""
POST_BY_BODY: dict[str, str] = {
    "runs/search": "experiment_ids",
    "logged-models/search": "experiment_ids",
    "experiments/search-datasets": "experiment_ids",
}
"""Searches sent as POST whose body names the experiments searched: endpoint -> key."""


def scope_of(method: str, path: str, query: Mapping[str, list[str]], body: bytes) -> Scope:
    """The scope of a request below `/mlflow` (path without the prefix); Refused if not allowed."""
    if method not in ("GET", "HEAD", "POST"):
        raise Refused("the MLflow UI is read-only for hosts and judges")
    if path in PUBLIC_PAGES or path.startswith(STATIC):
        return Scope()
    if path == "/graphql" and method == "POST":
        return graphql_scope(_body(body))
    if path == "/get-artifact" and method != "POST":
        return _named(Scope(run_ids=_values(query, *RUN_KEYS)))
    endpoint = next((path[len(r) :] for r in API_ROOTS if path.startswith(r)), None)
    if endpoint is None:
        raise Refused(f"{PREFIX}{path} is not open to hosts and judges")
    if endpoint == "experiments/search":
        return Scope(filter_experiments=True)
    if method == "POST" and endpoint in POST_BY_BODY:
        return _named(Scope(experiment_ids=_ids(_body(body), POST_BY_BODY[endpoint])))
    if method != "POST" and endpoint in GET_BY_QUERY:
        kind, keys = GET_BY_QUERY[endpoint]
        found = _values(query, *keys)
        if kind == "run":
            return _named(Scope(run_ids=found))
        if kind == "name":
            return _named(Scope(experiment_names=found))
        return _named(Scope(experiment_ids=found))
    raise Refused(f"{PREFIX}{path} is not open to hosts and judges (the UI is read-only for them)")


def _named(scope: Scope) -> Scope:
    if not scope.names_something():
        raise Refused("name the experiment or run: unscoped reads are for admins")
    return scope


GRAPHQL_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mlflowGetExperiment": ("experiment", ("experimentId",)),
    "mlflowGetRun": ("run", ("runId", "runUuid")),
    "mlflowListArtifacts": ("run", ("runId", "runUuid")),
    "mlflowGetMetricHistoryBulkInterval": ("run", ("runIds",)),
    "mlflowSearchRuns": ("experiment", ("experimentIds",)),
    "mlflowSearchDatasets": ("experiment", ("experimentIds",)),
}
"""Root query fields staff may use: field -> (kind, the keys of `input` that name it)."""
FREE_FIELDS = frozenset({"__typename", "__schema", "__type", "test"})
MAX_DEPTH = 8


def graphql_scope(body: Mapping[str, Any]) -> Scope:
    """The scope of a GraphQL request: only queries, each root field allowed and named."""
    query, variables = body.get("query"), body.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        raise Refused("a GraphQL request needs a `query` string and `variables` object")
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise Refused(f"the GraphQL query does not parse: {exc.message}") from exc
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    scope = Scope()
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            continue
        if not isinstance(definition, OperationDefinitionNode):
            raise Refused("only GraphQL queries are open to hosts and judges")
        if definition.operation is not OperationType.QUERY:
            raise Refused("the MLflow UI is read-only for hosts and judges")
        for root in _root_fields(definition.selection_set, fragments, depth=0):
            _add_field(scope, root, variables)
    return scope


def _root_fields(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], *, depth: int
) -> Iterable[FieldNode]:
    if depth > MAX_DEPTH:
        raise Refused("the GraphQL query nests fragments too deeply")
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, depth=depth + 1)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                raise Refused(f"unknown GraphQL fragment {selection.name.value!r}")
            yield from _root_fields(fragment.selection_set, fragments, depth=depth + 1)


def _add_field(scope: Scope, node: FieldNode, variables: Mapping[str, Any]) -> None:
    name = node.name.value
    if name in FREE_FIELDS:
        return
    if name not in GRAPHQL_FIELDS:
        raise Refused(f"the GraphQL field {name!r} is not open to hosts and judges")
    kind, keys = GRAPHQL_FIELDS[name]
    values = dict(variables)
    arguments = {a.name.value: value_from_ast_untyped(a.value, values) for a in node.arguments}
    given = arguments.get("input")
    found: set[str] = set()
    if isinstance(given, dict):
        for key in keys:
            found |= _ids(given, key)
    if not found:
        raise Refused(f"the GraphQL field {name!r} must name its experiment or run")
    (scope.run_ids if kind == "run" else scope.experiment_ids).update(found)


def filter_experiments(payload: bytes, allowed: set[str]) -> bytes:
    """An experiment search's response with only the allowed experiments."""
    data = json.loads(payload or b"{}")
    data["experiments"] = [
        e for e in data.get("experiments", []) if str(e.get("experiment_id")) in allowed
    ]
    return json.dumps(data).encode()

"""The staff scope of MLflow UI requests: reads that name their experiments and runs, no more."""

from __future__ import annotations

import json

import pytest

from challenge.web.mlflow_scope import Refused, Scope, filter_experiments, graphql_scope, scope_of

API = "/ajax-api/2.0/mlflow"


def scope(method: str, url: str, body: object = None, **query: list[str]) -> Scope:
    return scope_of(method, url, query, json.dumps(body).encode() if body is not None else b"")


def test_reads_name_what_they_touch() -> None:
    assert scope("GET", "/").names_something() is False
    assert scope("GET", "/static-files/js/main.js").names_something() is False
    runs = scope("GET", f"{API}/runs/get", run_id=["r1"])
    assert runs.run_ids == {"r1"}
    searched = scope("POST", f"{API}/runs/search", {"experiment_ids": ["1", "2"]})
    assert searched.experiment_ids == {"1", "2"}
    bulk = scope("GET", f"{API}/metrics/get-history-bulk-interval", run_ids=["a", "b"])
    assert bulk.run_ids == {"a", "b"}
    assert scope("GET", "/get-artifact", run_uuid=["r2"], path=["x"]).run_ids == {"r2"}
    assert scope("GET", f"{API}/experiments/search").filter_experiments


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        ("POST", f"{API}/runs/delete", {"run_id": "r"}, {}),
        ("DELETE", f"{API}/experiments/delete", None, {}),
        ("POST", f"{API}/runs/set-tag", {"run_id": "r"}, {}),
        ("GET", f"{API}/runs/get", None, {}),  # names nothing
        ("POST", f"{API}/runs/search", {"experiment_ids": []}, {}),
        ("GET", f"{API}/registered-models/search", None, {}),
        ("GET", "/ajax-api/3.0/mlflow/gateway/secrets/list", None, {}),
        ("POST", "/ajax-api/3.0/mlflow/traces/search", {}, {}),
        ("GET", "/metrics", None, {}),
        ("POST", f"{API}/runs/search", [1, 2], {}),
    ],
)
def test_everything_else_is_refused(
    method: str, path: str, body: object, query: dict[str, list[str]]
) -> None:
    with pytest.raises(Refused):
        scope(method, path, body, **query)


GET_RUN = "mlflowGetRun(input: {runId: $id}) { run { info { runId } } }"


def test_graphql_queries_are_scoped_by_their_arguments() -> None:
    found = graphql_scope(
        {"query": f"query($id: String) {{ {GET_RUN} }}", "variables": {"id": "r"}}
    )
    assert found.run_ids == {"r"}
    literal = graphql_scope(
        {
            "query": 'query { a: mlflowSearchRuns(input: {experimentIds: ["1"]}) '
            "{ runs { info { runId } } } }"
        }
    )
    assert literal.experiment_ids == {"1"}
    hidden = graphql_scope(
        {
            "query": "query($id: String) { ...F } fragment F on Query { ... on Query { "
            + GET_RUN
            + " } }",
            "variables": {"id": "x"},
        }
    )
    assert hidden.run_ids == {"x"}


@pytest.mark.parametrize(
    "query",
    [
        'mutation { testMutation(inputString: "x") { output } }',
        "query { mlflowSearchModelVersions(input: {}) { modelVersions { name } } }",
        "query { ...F } fragment F on Query { mlflowSearchModelVersions { modelVersions { x } } }",
        "query { mlflowGetRun(input: {}) { run { info { runId } } } }",
        "query { ...Missing }",
        "subscription { x }",
        "query {",
    ],
)
def test_graphql_refusals(query: str) -> None:
    with pytest.raises(Refused):
        graphql_scope({"query": query})


def test_an_experiment_search_is_filtered() -> None:
    payload = json.dumps(
        {"experiments": [{"experiment_id": "1"}, {"experiment_id": "2"}], "next_page_token": "t"}
    ).encode()
    filtered = json.loads(filter_experiments(payload, {"2"}))
    assert filtered == {"experiments": [{"experiment_id": "2"}], "next_page_token": "t"}

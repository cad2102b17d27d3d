"""Intents: good ones parse, bad ones are refused with a message naming the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlfo.errors import IntentError
from mlfo.intent import ResourceClass, TaskKind, json_schema
from mlfo.policies import POLICIES
from mlfo.preprocessing import PREPROCESSORS
from mlfo.validation import default_intent, intent_for_bundle, validate_intent
from tests.mlfo.mlfo_data import intent_data


def test_a_minimal_intent_validates() -> None:
    intent = validate_intent(intent_data("regression"))
    assert intent.task is TaskKind.REGRESSION
    assert intent.primary_metric.name == "mae"


def _refused(data: Any) -> str:
    with pytest.raises(IntentError) as caught:
        validate_intent(data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"model": {"limits": {"memory_mb": 10}}}, "intent.model.limits.memory_mb: must be >= 64"),
        ({"model": {"formats": ["exe"]}}, "intent.model.formats: unknown format(s) ['exe']"),
        ({"metrics": []}, "intent.metrics: "),
        ({"task": "ranking"}, "intent.task: must be one of"),
        ({"colour": "red"}, "intent.colour: is not a known field"),
        ({"target": "id"}, "intent: id_column and target must differ"),
        ({"source": {"chunk_rows": 5}}, "intent.source.chunk_rows: must be >= 1000"),
    ],
)
def test_schema_errors_name_the_field(change: dict[str, Any], expected: str) -> None:
    assert expected in _refused({**intent_data("regression"), **change})


def test_an_unknown_preprocessing_kind_lists_the_valid_ones() -> None:
    message = _refused(intent_data("regression", preprocessing=[{"kind": "pca"}]))
    assert message.startswith("intent.preprocessing[0].kind: unknown PP step 'pca'; valid kinds: ")
    for name in PREPROCESSORS.names():
        assert name in message


def test_an_unknown_policy_kind_lists_the_valid_ones() -> None:
    policies = [{"kind": "clip", "params": {"min": 0}}, {"kind": "smooth"}]
    message = _refused(intent_data("regression", policies=policies))
    assert "intent.policies[1].kind: unknown P step 'smooth'" in message
    assert all(name in message for name in POLICIES.names())


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"kind": "clip_features", "params": {}}, "intent.preprocessing[0].params: give min, max"),
        (
            {"kind": "fill_missing", "params": {"strategy": "mean", "value": 1}},
            "strategy 'mean' takes no value",
        ),
        (
            {"kind": "select_columns", "params": {"columns": []}},
            "intent.preprocessing[0].params.columns: ",
        ),
        (
            {"kind": "standard_scale", "params": {"centre": True}},
            "intent.preprocessing[0].params.centre: is not a known field",
        ),
    ],
)
def test_preprocessing_params_are_checked(step: dict[str, Any], expected: str) -> None:
    assert expected in _refused(intent_data("regression", preprocessing=[step]))


def test_policy_params_are_checked() -> None:
    policies = [{"kind": "round", "params": {"decimals": 20}}]
    message = _refused(intent_data("regression", policies=policies))
    assert "intent.policies[0].params.decimals: must be <= 12" in message


def test_an_unknown_metric_lists_the_valid_ones() -> None:
    message = _refused(intent_data("regression", metrics=[{"name": "mea"}]))
    assert message.startswith("intent.metrics[0].name: unknown metric 'mea'; valid metrics: ")
    assert "mae" in message and "rmse" in message


def test_a_metric_for_another_task_is_refused() -> None:
    message = _refused(intent_data("regression", metrics=[{"name": "accuracy"}]))
    assert (
        "intent.metrics[0].name: metric 'accuracy' does not apply to a regression task" in message
    )


def test_bad_metric_params_are_refused() -> None:
    data = intent_data("regression", metrics=[{"name": "mae", "params": {"k": 3}}])
    assert "intent.metrics[0].params: metric 'mae' does not accept parameter(s) k" in _refused(data)


def test_an_unknown_sink_lists_the_valid_ones() -> None:
    message = _refused(intent_data("regression", sinks=[{"kind": "slack"}]))
    assert (
        "intent.sinks[0].kind: unknown sink 'slack'; valid sinks: leaderboard, mlflow, scorer"
        in (message)
    )


def test_sink_params_and_repeats_are_checked() -> None:
    sinks = [{"kind": "scorer", "params": {"diagnostics": "sometimes"}}, {"kind": "mlflow"}]
    assert "intent.sinks[0].params.diagnostics: " in _refused(
        intent_data("regression", sinks=sinks)
    )
    repeated = [{"kind": "mlflow"}, {"kind": "mlflow"}]
    assert "intent.sinks[1].kind: sink 'mlflow' is listed twice" in _refused(
        intent_data("regression", sinks=repeated)
    )


def test_the_scorer_sink_comes_before_mlflow() -> None:
    sinks = [{"kind": "mlflow"}, {"kind": "scorer"}]
    message = _refused(intent_data("regression", sinks=sinks))
    assert message.startswith("intent.sinks: list 'scorer' before 'mlflow' so that the MLflow run")


def test_a_validity_floor_must_name_a_scored_metric() -> None:
    policies = [{"kind": "validity_floor", "params": {"metric": "r2", "min": 0.5}}]
    message = _refused(intent_data("regression", policies=policies))
    assert "intent.policies[0].params.metric: 'r2' is not among the intent's metrics" in message


def test_threshold_needs_a_binary_task() -> None:
    message = _refused(intent_data("regression", policies=[{"kind": "threshold"}]))
    assert "intent.policies[0].kind: threshold applies to binary tasks only" in message


def test_cost_ranking_weights_only_measured_kpis() -> None:
    ranking = {"by": "cost", "cost": {"weights": {"peak_memory_mb": 1.0}}}
    message = _refused(intent_data("regression", ranking=ranking, kpis=["wall_time_s"]))
    assert "intent.ranking.cost.weights.peak_memory_mb: KPI 'peak_memory_mb' is weighted" in message


def test_every_problem_is_reported_at_once() -> None:
    data = intent_data("regression", metrics=[{"name": "nope"}], preprocessing=[{"kind": "nope"}])
    message = _refused(data)
    assert "intent.preprocessing[0].kind" in message and "intent.metrics[0].name" in message


def test_a_non_mapping_is_refused() -> None:
    assert _refused(["task", "regression"]) == "intent: must be a mapping (a JSON object)"


def test_default_intent_from_plain_keys() -> None:
    settings = {
        "task": "binary",
        "id_column": "link_id",
        "target": "failure",
        "classes": [0, 1],
        "metrics": ["f1", "precision"],
        "formats": ["predictions", "sklearn"],
        "limits": {"time_s": 60, "memory_mb": 1024},
        "split": {"public_fraction": 0.25, "seed": 3},
    }
    intent = default_intent(settings)
    assert intent.task is TaskKind.BINARY and intent.classes == [0, 1]
    assert [m.name for m in intent.metrics] == ["f1", "precision"]
    assert intent.model.formats == ["predictions", "sklearn"]
    assert intent.model.limits.time_s == 60 and intent.model.limits.memory_mb == 1024
    assert intent.split.public_fraction == 0.25 and intent.split.seed == 3
    assert intent.placement.resource_class is ResourceClass.CPU
    gpu = default_intent({**settings, "resource_class": "gpu"})
    assert gpu.placement.resource_class is ResourceClass.GPU


def test_default_intent_errors_name_the_plain_key() -> None:
    settings = {"task": "regression", "id_column": "id", "target": "y", "metrics": ["mae"]}
    with pytest.raises(IntentError, match=r"competition\.yaml: limits\.memory_mb: must be >= 64"):
        default_intent({**settings, "limits": {"memory_mb": 1}})
    with pytest.raises(
        IntentError, match=r"competition\.yaml: metrics\[0\]: unknown metric 'maae'"
    ):
        default_intent({**settings, "metrics": ["maae"]})
    with pytest.raises(IntentError, match=r"competition\.yaml: resource_class: .*'gpu'"):
        default_intent({**settings, "resource_class": "tpu"})
    with pytest.raises(IntentError, match=r"competition\.yaml: target: is required"):
        default_intent({"task": "regression", "id_column": "id", "metrics": ["mae"]})


def test_a_bundle_intent_must_agree_with_the_plain_keys() -> None:
    intent = intent_data("regression")
    settings = {"task": "regression", "target": "y", "metrics": ["mae", "rmse"], "intent": intent}
    assert intent_for_bundle(settings).target == "y"
    with pytest.raises(IntentError, match=r"competition\.yaml: metrics: \['rmse'\] disagrees"):
        intent_for_bundle({**settings, "metrics": ["rmse"]})
    with pytest.raises(IntentError, match=r"competition\.yaml: resource_class: 'gpu' disagrees"):
        intent_for_bundle({**settings, "resource_class": "gpu"})
    assert intent_for_bundle(
        {k: v for k, v in settings.items() if k != "intent"} | {"id_column": "id"}
    )


def test_the_json_schema_describes_every_top_level_field() -> None:
    properties = json_schema()["properties"]
    assert {"task", "preprocessing", "model", "policies", "metrics", "sinks"} <= set(properties)


def test_the_example_in_the_hosts_guide_is_valid() -> None:
    text = (Path(__file__).parents[2] / "docs" / "intent.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    intent = validate_intent(yaml.safe_load(block)["intent"])
    assert [s.kind for s in intent.preprocessing] == ["fill_missing", "log1p", "standard_scale"]
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    assert set(PREPROCESSORS.names()) <= documented
    assert set(POLICIES.names()) <= documented

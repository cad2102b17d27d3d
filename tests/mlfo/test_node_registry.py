"""Node registries validate implementations when they are registered."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from mlfo.collector import COLLECTORS, SOURCES
from mlfo.distributor import DISTRIBUTORS
from mlfo.model import MODEL_RUNNERS
from mlfo.policies import POLICIES, OutputRule
from mlfo.preprocessing import PREPROCESSORS
from mlfo.registry import NodeKind, NoParams, RegistrationError, Registry
from mlfo.sinks import SINKS, SinkContext, register_sink

ALL: list[Registry[Any]] = [
    SOURCES,
    COLLECTORS,
    PREPROCESSORS,
    MODEL_RUNNERS,
    POLICIES,
    DISTRIBUTORS,
    SINKS,
]


def test_every_node_kind_has_a_registry_with_implementations() -> None:
    assert {r.kind for r in ALL} == set(NodeKind)
    for registry in ALL:
        assert len(registry) >= 1, registry.kind
        for entry in registry:
            assert entry.kind is registry.kind
            assert issubclass(entry.params, BaseModel)
            assert entry.summary, f"{entry.kind}:{entry.name} has no summary"


def test_the_required_steps_exist() -> None:
    assert {
        "select_columns",
        "drop_columns",
        "fill_missing",
        "standard_scale",
        "clip_features",
        "log1p",
    } <= set(PREPROCESSORS.names())
    assert {"clip", "round", "threshold", "normalize_probabilities", "validity_floor"} <= set(
        POLICIES.names()
    )
    assert {"scorer", "mlflow"} <= set(SINKS.names())


def _noop(*args: Any) -> Any:
    """Does nothing."""
    return None


@pytest.mark.parametrize("name", ["Bad", "1st", "with-dash", "", "x" * 49])
def test_bad_names_are_refused(name: str) -> None:
    registry: Registry[Any] = Registry(NodeKind.PP)
    with pytest.raises(RegistrationError, match="a name is a lowercase identifier"):
        registry.register(name, _noop)


def test_duplicates_non_callables_and_bad_params_are_refused() -> None:
    registry: Registry[Any] = Registry(NodeKind.PP)
    registry.register("once", _noop)
    with pytest.raises(RegistrationError, match="'once' is already registered"):
        registry.register("once", _noop)
    with pytest.raises(RegistrationError, match="must be callable"):
        registry.register("value", 42)
    with pytest.raises(RegistrationError, match="params must be a pydantic model class"):
        registry.register("typed", _noop, params=dict)  # type: ignore[arg-type]
    assert registry.get("once").summary == "Does nothing."
    assert registry.get("once").params is NoParams


def test_the_policy_registry_checks_the_protocol() -> None:
    with pytest.raises(RegistrationError, match="must be an OutputRule or a ScoreRule"):
        POLICIES.register("plain_function", _noop)  # type: ignore[arg-type]
    assert "plain_function" not in POLICIES
    assert isinstance(POLICIES.get("clip").impl, OutputRule)


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError) as caught:
        SINKS.get("slack")
    message = str(caught.value)
    assert message.startswith("unknown SINK kind 'slack'; valid kinds: ")
    assert "mlflow" in message and "scorer" in message


def test_a_sink_plug_in_registers_and_unregisters() -> None:
    calls: list[SinkContext] = []
    register_sink("test_recorder", calls.append)
    try:
        with pytest.raises(RegistrationError, match="already registered"):
            register_sink("test_recorder", calls.append)
        assert "test_recorder" in SINKS
    finally:
        SINKS.unregister("test_recorder")
    assert "test_recorder" not in SINKS

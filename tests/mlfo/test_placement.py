"""Placement: the Celery queue and the model's device follow the intent's resource class."""

from __future__ import annotations

import pytest

from mlfo.intent import ResourceClass
from mlfo.placement import QUEUES, device_for, queue_for
from mlfo.validation import validate_intent
from tests.mlfo.mlfo_data import intent_data


@pytest.mark.parametrize(
    ("resource_class", "queue", "device"),
    [("cpu", "cpu", "cpu"), ("gpu", "gpu", "cuda"), ("large-memory", "large-memory", "cpu")],
)
def test_queue_and_device_by_resource_class(resource_class: str, queue: str, device: str) -> None:
    intent = validate_intent(
        intent_data("regression", placement={"resource_class": resource_class})
    )
    assert queue_for(intent) == queue
    assert device_for(intent) == device


def test_every_resource_class_has_a_queue() -> None:
    assert set(QUEUES) == set(ResourceClass)
    assert queue_for(validate_intent(intent_data("regression"))) == "cpu"

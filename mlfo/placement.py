"""Placement: which Celery queue evaluates a competition's submissions, and on which device."""

from __future__ import annotations

from mlfo.intent import Intent, ResourceClass

QUEUES: dict[ResourceClass, str] = {
    ResourceClass.CPU: "cpu",
    ResourceClass.GPU: "gpu",
    ResourceClass.LARGE_MEMORY: "large-memory",
}
"""The Celery queue of each resource class; workers subscribe with `-Q cpu,gpu,...`."""


def queue_for(intent: Intent) -> str:
    """The Celery queue for the intent's resource class."""
    return QUEUES[intent.placement.resource_class]


def device_for(intent: Intent, default: str = "cpu") -> str:
    """The device of the M node: `cuda` for GPU placement, else `default`."""
    if intent.placement.resource_class is ResourceClass.GPU:
        return "cuda"
    return default

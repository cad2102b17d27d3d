"""Placement: which Celery queue evaluates a competition's submissions, and on which device."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=1)
def cuda_available() -> bool:
    """True when this worker can run CUDA work (torch sees a GPU)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def worker_device(intent: Intent) -> str:
    """The device this worker gives the M node: CUDA for GPU placement when it has a GPU.

    A GPU competition evaluated by a worker without one (the embedded default on a laptop) runs
    on the CPU rather than waiting forever for a GPU worker.
    """
    device = device_for(intent)
    return device if device == "cpu" or cuda_available() else "cpu"

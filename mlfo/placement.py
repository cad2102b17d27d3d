"""Placement: which Celery queue evaluates a competition's submissions, and on which device."""

from __future__ import annotations

import glob
import subprocess
import sys
from functools import lru_cache

from mlfo.intent import Intent, ResourceClass

QUEUES: dict[ResourceClass, str] = {
    ResourceClass.CPU: "cpu",
    ResourceClass.GPU: "gpu",
    ResourceClass.LARGE_MEMORY: "large-memory",
}
"""The Celery queue of each resource class; workers subscribe with `-Q cpu,gpu,...`."""
PROBE_TIMEOUT_S = 120


def queue_for(intent: Intent) -> str:
    """The Celery queue for the intent's resource class."""
    return QUEUES[intent.placement.resource_class]


def device_for(intent: Intent, default: str = "cpu") -> str:
    """The device of the M node: `cuda` for GPU placement, else `default`."""
    if intent.placement.resource_class is ResourceClass.GPU:
        return "cuda"
    return default


CUDA_PROBE = (
    "import torch\nprint(torch.cuda.get_device_name() if torch.cuda.is_available() else '')\n"
)


@lru_cache(maxsize=1)
def cuda_device() -> str | None:
    """The name of the GPU this worker's torch sees, or None when it sees none.

    Probed in a child process: this process never initialises CUDA itself, so the Celery
    worker may fork its pool afterwards (CUDA does not survive a fork) and holds no GPU memory.
    A worker probes once and its forked pool processes inherit the answer. Without NVIDIA device
    nodes there is no GPU a jail could use, and no probe (it costs seconds: it imports torch).
    """
    if not glob.glob("/dev/nvidia[0-9]*"):
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-c", CUDA_PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[-1] if done.returncode == 0 and lines and lines[-1] else None


def cuda_available() -> bool:
    """True when this worker can run CUDA work (its torch sees a GPU)."""
    return cuda_device() is not None


def device_name(device: str) -> str:
    """The device as recorded in provenance: `cpu`, or `cuda` with the GPU's name."""
    name = cuda_device() if device == "cuda" else None
    return f"cuda ({name})" if name else device


def placement_note(intent: Intent, device: str) -> str:
    """One line for the run's logs when the model ran on another device than the intent asks."""
    wanted = device_for(intent)
    if wanted == device:
        return ""
    return (
        f"mlchallenge: this competition asks for {wanted}, but the worker that ran it has no "
        f"CUDA device; the model ran on {device}\n"
    )


def worker_device(intent: Intent) -> str:
    """The device this worker gives the M node: CUDA for GPU placement when it has a GPU.

    A GPU competition evaluated by a worker without one (the embedded default on a laptop) runs
    on the CPU rather than waiting forever for a GPU worker.
    """
    device = device_for(intent)
    return device if device == "cpu" or cuda_available() else "cpu"

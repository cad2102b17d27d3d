"""The model's device, prepared inside the jail before any submitted code is loaded."""

from __future__ import annotations


class DeviceUnavailable(Exception):
    """The device the host asked for cannot be used in this jail (a platform fault)."""


def prepare_device(device: str) -> None:
    """Initialise `device` ("cpu" or "cuda") now, so that a broken GPU is the platform's fault.

    The runner marks `Phase.DEVICE` only after this returns: a run that never reached that mark
    failed before the team's code ran, whatever the team's code may later write.
    """
    if device == "cpu":
        return
    if device != "cuda":
        raise DeviceUnavailable(f"unknown device {device!r}")
    try:
        import torch
    except ImportError as exc:
        raise DeviceUnavailable(f"torch cannot be imported in the sandbox: {exc}") from None
    if not torch.cuda.is_available():
        raise DeviceUnavailable(
            f"torch {torch.__version__} in the sandbox sees no CUDA device "
            f"(built for CUDA {torch.version.cuda or 'none'})"
        )
    try:
        torch.cuda.init()
        torch.zeros(1, device="cuda").add_(1).cpu()
    except Exception as exc:
        raise DeviceUnavailable(f"CUDA could not be initialised in the sandbox: {exc}") from None

"""What the host saw of a run, for operators: seconds per phase and why it was killed."""

from __future__ import annotations

import os
import signal

from .contract import Limits
from .jail.protocol import Phase
from .supervise import Supervision

PHASE_STARTS = (("load", Phase.DEVICE), ("fit", Phase.FIT), ("predict", Phase.PREDICT))
"""Each phase in the jail begins when its mark arrives; `jail_start` runs from the start of the
command to the first of them (the runner ready, its device checked)."""


def phase_timings(sup: Supervision) -> dict[str, float]:
    """Seconds of each phase the run reached, on the host's clock; the last one lasts until the
    process ended (or was killed)."""
    starts = [("jail_start", 0.0)]
    starts += [(name, sup.phase_at[mark]) for name, mark in PHASE_STARTS if mark in sup.phase_at]
    ended = sup.wall_s
    bounds = [at for _, at in starts[1:]] + [ended]
    return {
        name: round(max(end - at, 0.0), 6) for (name, at), end in zip(starts, bounds, strict=True)
    }


def kill_reason(sup: Supervision, limits: Limits, cpu_limit: int) -> str | None:
    """Why the run was killed: by the host (`timeout`, `train_timeout`, `cancelled`,
    `output_too_large`) or by a kernel limit (`cpu_time`, `file_size`, `memory`); None when the
    process ended by itself (a crash of the model is not a kill)."""
    if sup.killed is not None:
        return str(sup.killed)
    if not os.WIFSIGNALED(sup.wait_status):
        return None
    sig = os.WTERMSIG(sup.wait_status)
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and sup.cpu_s >= cpu_limit - 1):
        return "cpu_time"
    if sig == signal.SIGXFSZ:
        return "file_size"
    if sig == signal.SIGKILL and sup.peak_kb / 1024 >= 0.9 * limits.memory_mb:
        return "memory"
    return None

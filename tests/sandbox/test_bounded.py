"""`call_bounded`: a task runs in a forked child under its own memory and time limits."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from sandbox.bounded import ChildFailed, Failure, call_bounded, status_kb


class Refused(Exception):
    """An error the task may raise on purpose."""


def test_the_reply_and_the_childs_memory_come_back() -> None:
    result = call_bounded(lambda: b"hello", memory_mb=64, time_s=10, max_reply=16)
    assert result.reply == b"hello"
    assert 0 < result.start_kb <= result.peak_kb


def test_an_expected_error_is_raised_again_with_its_message() -> None:
    def task() -> bytes:
        raise Refused("the file is not a table")

    with pytest.raises(Refused, match="the file is not a table"):
        call_bounded(task, memory_mb=64, time_s=10, max_reply=16, expected=(Refused,))


def test_a_task_over_its_memory_dies_alone() -> None:
    """Allocating 1 GB under a 64 MB budget: the child fails, this process does not grow."""

    def task() -> bytes:
        block = np.ones(1024 * 1024 * 1024 // 8)
        return bytes(int(block[0]))

    before = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    with pytest.raises(ChildFailed) as failed:
        call_bounded(task, memory_mb=64, time_s=30, max_reply=16)
    assert failed.value.failure is Failure.MEMORY
    assert status_kb("VmHWM") - before < 32 * 1024


def test_a_slow_task_is_killed_at_its_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(ChildFailed) as failed:
        call_bounded(lambda: time.sleep(30) or b"", memory_mb=64, time_s=1, max_reply=16)
    assert failed.value.failure is Failure.TIME
    assert time.monotonic() - started < 10


def test_a_crash_and_an_oversized_reply_are_failures() -> None:
    def crash() -> bytes:
        os.kill(os.getpid(), signal.SIGKILL)
        return b""

    with pytest.raises(ChildFailed, match="SIGKILL") as crashed:
        call_bounded(crash, memory_mb=64, time_s=10, max_reply=16)
    assert crashed.value.failure is Failure.CRASH
    with pytest.raises(ChildFailed, match="replied more than") as flooded:
        call_bounded(lambda: b"x" * 1_000_000, memory_mb=64, time_s=10, max_reply=16)
    assert flooded.value.failure is Failure.CRASH

"""Run one parsing task in a child forked from the worker, under its own memory and CPU limits.

Files that come out of a jail (predictions, archives to unpack) are small on disk and may inflate
to gigabytes when read. The worker never parses them itself: `call_bounded` forks a child (it
inherits the loaded pandas and pyarrow, so it starts in milliseconds), limits the child's address
space to its size at fork plus `memory_mb` and its CPU time to `time_s`, runs the task there and
reads back at most `max_reply` bytes. A task that needs more dies alone; the worker grows only by
the reply, whose size the caller bounds.
"""

from __future__ import annotations

import logging
import os
import resource
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

logger = logging.getLogger(__name__)
MB = 1024 * 1024
MESSAGE_CAP = 4000
_START = struct.Struct(">Q")
"""The child's resident size in KB when it starts, sent before anything else."""
_REPLY = struct.Struct(">cQ")
"""tag (R: reply, E: expected error, X: unexpected error) and payload length."""
_EXIT_MEMORY = 3
_EXIT_ABORT = 70


class Failure(StrEnum):
    """Why a bounded task gave no answer."""

    MEMORY = "memory"
    TIME = "time"
    CRASH = "crash"


class ChildFailed(Exception):
    """The task ran out of memory or time, or died, or raised an unexpected exception."""

    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class Bounded:
    """What the child sent back, and how much memory it used (host-measured peak)."""

    reply: bytes
    start_kb: int
    """The child's resident size when it started the task."""
    peak_kb: int
    """The child's peak resident size (rusage of the reaped child)."""


def status_kb(field: str, pid: int | str = "self") -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, VmSize...), 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


def _text(message: str) -> bytes:
    """A message cut to MESSAGE_CAP characters (at most 4 bytes each in UTF-8)."""
    return message[:MESSAGE_CAP].encode(errors="replace")


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fresh_allocations() -> None:
    """Make Arrow allocate through malloc, whose large blocks are new mappings.

    Arrow's own allocator keeps address space it has freed (jemalloc's retained extents), which
    the child inherits: growing into it would raise the resident size without ever meeting the
    address-space limit.
    """
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.set_memory_pool(arrow.system_memory_pool())


def _child(
    task: Callable[[], bytes],
    expected: tuple[type[Exception], ...],
    write_fd: int,
    memory_mb: int,
    time_s: float,
) -> None:
    """The forked side: limit, run, reply, and never return into the parent's code."""
    code = 0
    try:
        _write(write_fd, _START.pack(status_kb("VmRSS")))
        _fresh_allocations()
        room = status_kb("VmSize") * 1024 + memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (room, room))
        cpu = max(int(time_s), 1)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            tag, payload = b"R", task()
        except MemoryError:
            os._exit(_EXIT_MEMORY)
        except expected as exc:
            index = next(i for i, kind in enumerate(expected) if isinstance(exc, kind))
            tag, payload = b"E", bytes([index]) + _text(str(exc))
        except Exception as exc:
            tag, payload = b"X", _text(f"{type(exc).__name__}: {exc}")
        _write(write_fd, _REPLY.pack(tag, len(payload)) + payload)
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException:
        code = _EXIT_ABORT
    finally:
        os._exit(code)


def _read_all(read_fd: int, deadline: float, limit: int) -> tuple[bytes, Failure | None]:
    """Everything the child writes, and why reading stopped early (too slow, too much)."""
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data), Failure.TIME
        ready, _, _ = select.select([read_fd], [], [], min(left, 0.5))
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            return bytes(data), None
        data += chunk
        if len(data) > limit:
            return bytes(data), Failure.CRASH


def call_bounded(
    task: Callable[[], bytes],
    *,
    memory_mb: int,
    time_s: float,
    max_reply: int,
    expected: tuple[type[Exception], ...] = (),
) -> Bounded:
    """Run `task` in a forked child limited to `memory_mb` of growth and `time_s`; return its reply.

    An exception of a type in `expected` raised by the task is raised again here with its message.
    Running out of memory or time, dying, an unexpected exception or a reply over `max_reply` bytes
    raise `ChildFailed`.
    """
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        os.close(read_fd)
        _child(task, expected, write_fd, memory_mb, time_s)
    os.close(write_fd)
    limit = _START.size + _REPLY.size + max(max_reply, 4 * MESSAGE_CAP + 1)
    try:
        data, stopped = _read_all(read_fd, time.monotonic() + time_s, limit)
    finally:
        os.close(read_fd)
    if stopped is not None:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    start_kb = _START.unpack_from(data)[0] if len(data) >= _START.size else 0
    peak_kb = int(usage.ru_maxrss)
    try:
        if stopped is Failure.TIME:
            raise ChildFailed(Failure.TIME, f"took longer than {time_s:g} s")
        if stopped is not None:
            raise ChildFailed(Failure.CRASH, f"replied more than {max_reply} bytes")
        reply = _decode(data[_START.size :], status, memory_mb, time_s, expected)
    except Exception as exc:
        _report(start_kb, peak_kb, type(exc).__name__)
        raise
    _report(start_kb, peak_kb, "ok")
    return Bounded(reply, start_kb, peak_kb)


def _report(start_kb: int, peak_kb: int, result: str) -> None:
    """One debug record per bounded call, with the child's memory as fields (for the bench)."""
    logger.debug(
        "bounded child: %s, resident %d KB at start, peak %d KB",
        result,
        start_kb,
        peak_kb,
        extra={"child_start_kb": start_kb, "child_peak_kb": peak_kb, "child_result": result},
    )


def status_of(status: int) -> int:
    """The signal that ended a child, 0 if it exited."""
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


def _decode(
    data: bytes,
    status: int,
    memory_mb: int,
    time_s: float,
    expected: tuple[type[Exception], ...],
) -> bytes:
    sig = status_of(status)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
    if code == _EXIT_MEMORY:
        raise ChildFailed(Failure.MEMORY, f"needed more than {memory_mb} MB of memory")
    if sig == signal.SIGXCPU:
        raise ChildFailed(Failure.TIME, f"needed more than {time_s:g} s of CPU time")
    if sig or code or len(data) < _REPLY.size:
        how = f"was killed by {signal.Signals(sig).name}" if sig else f"exited with code {code}"
        raise ChildFailed(Failure.CRASH, f"the reading process {how}")
    tag, length = _REPLY.unpack_from(data)
    payload = data[_REPLY.size : _REPLY.size + length]
    if len(payload) != length:
        raise ChildFailed(Failure.CRASH, "the reading process sent a truncated reply")
    if tag == b"E" and payload and payload[0] < len(expected):
        raise expected[payload[0]](payload[1:].decode(errors="replace"))
    if tag != b"R":
        raise ChildFailed(Failure.CRASH, payload.decode(errors="replace"))
    return payload

"""Start the jailed command and watch it from outside: logs, phases, clock, output, cancel."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from .contract import InfrastructureError
from .jail.protocol import Phase
from .usage import tree_memory_kb

POLL_S = 0.1
OUTPUT_SCAN_S = 0.25
MEMORY_SCAN_S = 0.05
MAX_OUTPUT_FILES = 10_000
STATUS_CAP = 4096
INFO_CAP = 4096
DRAIN_S = 1.0
REAP_S = 5.0
PR_SET_CHILD_SUBREAPER = 36
_SUBREAPER: list[bool] = []


class KillReason(StrEnum):
    """Why the host killed the process tree."""

    TIMEOUT = "timeout"
    TRAIN_TIMEOUT = "train_timeout"
    CANCELLED = "cancelled"
    OUTPUT_TOO_LARGE = "output_too_large"
    MEMORY = "memory"


class LogBuffer:
    """Keeps the first and the last part of a stream, up to `cap` bytes in all."""

    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Add bytes, dropping the middle once the cap is reached."""
        self.total += len(chunk)
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        keep = self.cap - self.cap // 2
        if len(self.tail) > keep:
            del self.tail[: len(self.tail) - keep]

    @property
    def truncated(self) -> bool:
        """Whether bytes were dropped."""
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        """The kept logs, with a note where bytes were dropped."""
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if not self.truncated:
            return head + tail
        dropped = self.total - len(self.head) - len(self.tail)
        return (
            f"{head}\n[... {dropped} bytes of output dropped: the log is capped at "
            f"{self.cap / 1024:g} KB (log_kb) ...]\n{tail}"
        )


@dataclass
class Budget:
    """Budgets: wall clock (`time_s` for everything but fit, `train_time_s` for fit) and memory.

    `memory_kb` bounds the resident memory of the whole process tree, checked every
    `MEMORY_SCAN_S`; None leaves memory to the rlimits alone.
    """

    time_s: float
    train_time_s: float | None
    memory_kb: int | None = None


@dataclass
class Supervision:
    """What the host observed."""

    wait_status: int = 0
    rusage: resource.struct_rusage | None = None
    wall_s: float = 0.0
    killed: KillReason | None = None
    phases: list[Phase] = field(default_factory=list)
    logs: str = ""
    logs_truncated: bool = False
    fit_s: float = 0.0
    cpu_s: float = 0.0
    peak_kb: int = 0
    phase_at: dict[Phase, float] = field(default_factory=dict)
    """When the host first read each phase mark, in seconds after the start (host clock)."""
    tree_peak_kb: int = 0
    """The largest memory of the jail's process tree seen while it ran (`usage.tree_memory_kb`)."""


def ensure_subreaper() -> None:
    """Make this process a child subreaper: bwrap's orphaned namespace init comes back to us."""
    if not _SUBREAPER:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
        _SUBREAPER.append(True)


def reap_init(info: bytes) -> resource.struct_rusage | None:
    """Wait for the init pid named in bwrap's --info-fd JSON; its usage covers the whole jail."""
    try:
        child = int(json.loads(info.decode("utf-8", errors="replace"))["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None
    try:
        pidfd = os.pidfd_open(child)
    except OSError:
        return None
    try:
        select.select([pidfd], [], [], REAP_S)
        pid, _, usage = os.wait4(child, os.WNOHANG)
    except ChildProcessError:
        return None
    finally:
        os.close(pidfd)
    return usage if pid else None


def high_water_kb(pid: int) -> int:
    """Peak resident memory of a process since its last exec (VmHWM), 0 when gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


def output_size(folder: Path) -> tuple[int, int]:
    """Bytes and entries under `folder` (stops counting past the entry cap)."""
    total = 0
    count = 0
    stack = [folder]
    while stack and count <= MAX_OUTPUT_FILES:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            count += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total, count


class Watched(Protocol):
    """A started run as the supervisor sees it: its streams, its exit, and how to kill it."""

    status_r: int
    info_r: int | None

    @property
    def pid(self) -> int:
        """The process whose tree holds the run (memory and output scans); 0 when unknown."""

    def memory_kb(self) -> int:
        """The memory the run's processes hold now (`usage.tree_memory_kb`)."""

    def peak_kb(self, usage: resource.struct_rusage) -> int:
        """The run's peak resident memory that its wait usage tells, 0 when that usage is not
        the run's own."""

    def log_fd(self) -> int:
        """The read end of the run's standard output and error."""

    def exit_fd(self) -> int:
        """Readable when the run may have ended (`poll` says)."""

    def poll(self) -> tuple[int, resource.struct_rusage | None] | None:
        """The wait status and resource usage once the run ended, else None (never blocks)."""

    def kill(self) -> None:
        """Kill every process of the run."""

    def wait(self) -> tuple[int, resource.struct_rusage | None]:
        """Wait for the run (after `kill`) and return its wait status and usage."""

    def close(self) -> None:
        """Close the host's ends of the run's streams."""


@dataclass
class Spawned:
    """A started command: the process and the host's ends of its status and info pipes."""

    proc: subprocess.Popen[bytes]
    status_r: int
    info_r: int | None
    _pidfd: int = -1

    @property
    def pid(self) -> int:
        """The command's process (bwrap's, for a jail)."""
        return self.proc.pid

    def memory_kb(self) -> int:
        """The memory of the command's process tree."""
        return tree_memory_kb(self.proc.pid)

    def peak_kb(self, usage: resource.struct_rusage) -> int:
        """0: the command (setpriv, prlimit, bwrap) was forked from the worker, and the kernel
        keeps the worker's resident size as its peak across the exec; the jail's own peak comes
        from its init (`reap_init`)."""
        return 0

    def log_fd(self) -> int:
        """The command's stdout (stderr goes there too)."""
        assert self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def exit_fd(self) -> int:
        """A pidfd of the command."""
        if self._pidfd < 0:
            self._pidfd = os.pidfd_open(self.proc.pid)
        return self._pidfd

    def poll(self) -> tuple[int, resource.struct_rusage | None] | None:
        """Reap the command if it ended."""
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if not pid:
            return None
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return status, usage

    def kill(self) -> None:
        """SIGKILL to the command's process group (it started its own session)."""
        kill_group(self.proc.pid)

    def wait(self) -> tuple[int, resource.struct_rusage | None]:
        """Reap the command."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return status, usage

    def close(self) -> None:
        """Close the pidfd, stdout and the status and info pipes."""
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        os.close(self.status_r)
        if self.info_r is not None:
            os.close(self.info_r)


def kill_group(pid: int) -> None:
    """SIGKILL to a process group, or to the process when it has none of its own."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    pass_fds: tuple[int, ...],
    status_pipe: tuple[int, int],
    info_pipe: tuple[int, int] | None = None,
) -> Spawned:
    """Start `argv` in its own session with the pipes' write ends; the host keeps the read ends."""
    ensure_subreaper()
    status_r, status_w = status_pipe
    inherited = (*pass_fds, status_w, *((info_pipe[1],) if info_pipe else ()))
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=inherited,
            start_new_session=True,
        )
    except OSError as exc:
        os.close(status_r)
        if info_pipe:
            os.close(info_pipe[0])
        raise InfrastructureError(f"cannot start the sandbox command {argv[0]}: {exc}") from exc
    finally:
        os.close(status_w)
        if info_pipe:
            os.close(info_pipe[1])
    return Spawned(proc, status_r, info_pipe[0] if info_pipe else None)


class Supervisor:
    """Runs one command to completion under the host's watch."""

    def __init__(
        self,
        *,
        budget: Budget,
        log_cap: int,
        out_dir: Path,
        output_cap: int,
        should_cancel: Callable[[], bool] | None,
    ) -> None:
        self.budget = budget
        self.logs = LogBuffer(log_cap)
        self.out_dir = out_dir
        self.output_cap = output_cap
        self.should_cancel = should_cancel
        self.result = Supervision()
        self.phase_buffer = b""
        self.fit_started: float | None = None
        self.fit_ended: float | None = None
        self.info = b""
        self.hwm_kb = 0
        self.started = 0.0
        self.memory_at = 0.0

    def _on_status(self, chunk: bytes) -> None:
        self.phase_buffer = (self.phase_buffer + chunk)[-STATUS_CAP:]
        *lines, self.phase_buffer = self.phase_buffer.split(b"\n")
        for line in lines:
            try:
                phase = Phase(line.decode("ascii", errors="replace").strip())
            except ValueError:
                continue
            if phase in self.result.phases:
                continue
            self.result.phases.append(phase)
            now = time.monotonic()
            self.result.phase_at[phase] = now - self.started
            if phase is Phase.FIT and self.budget.train_time_s is not None:
                self.fit_started = now
            elif phase is Phase.PREDICT and self.fit_started is not None:
                self.fit_ended = now

    def _over_time(self, started: float, now: float) -> KillReason | None:
        fit_s = 0.0
        if self.fit_started is not None:
            fit_end = self.fit_ended or now
            fit_s = fit_end - self.fit_started
            train = self.budget.train_time_s
            if self.fit_ended is None and train is not None and fit_s > train:
                return KillReason.TRAIN_TIMEOUT
        self.result.fit_s = fit_s
        if now - started - fit_s > self.budget.time_s:
            return KillReason.TIMEOUT
        return None

    def _check(
        self, started: float, last_scan: float, run: Watched
    ) -> tuple[KillReason | None, float]:
        now = time.monotonic()
        if now - self.memory_at >= MEMORY_SCAN_S:
            self.memory_at = now
            self.result.tree_peak_kb = max(self.result.tree_peak_kb, run.memory_kb())
        reason = self._over_time(started, now)
        limit_kb = self.budget.memory_kb
        if reason is None and limit_kb is not None and self.result.tree_peak_kb > limit_kb:
            reason = KillReason.MEMORY
        if reason is None and self.should_cancel is not None and self.should_cancel():
            reason = KillReason.CANCELLED
        if reason is None and now - last_scan >= OUTPUT_SCAN_S:
            last_scan = now
            self.hwm_kb = max(self.hwm_kb, high_water_kb(run.pid))
            size, count = output_size(self.out_dir)
            if size > self.output_cap or count > MAX_OUTPUT_FILES:
                reason = KillReason.OUTPUT_TOO_LARGE
        return reason, last_scan

    def run(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        pass_fds: tuple[int, ...],
        status_pipe: tuple[int, int],
        info_pipe: tuple[int, int] | None = None,
    ) -> Supervision:
        """Start `argv`, pump its output, enforce the budgets, reap it with its resource usage."""
        return self.watch(
            spawn(argv, env=env, pass_fds=pass_fds, status_pipe=status_pipe, info_pipe=info_pipe)
        )

    def watch(self, run: Watched) -> Supervision:
        """Supervise a started run from now on (a warm jail: from its release)."""
        status_r = run.status_r
        info_r = run.info_r
        started = self.started = time.monotonic()
        selector = selectors.DefaultSelector()
        selector.register(run.log_fd(), selectors.EVENT_READ, "log")
        selector.register(status_r, selectors.EVENT_READ, "status")
        if info_r is not None:
            selector.register(info_r, selectors.EVENT_READ, "info")
        open_streams = len(selector.get_map())
        exit_fd = run.exit_fd()
        selector.register(exit_fd, selectors.EVENT_READ, "exit")
        last_scan = started
        reaped_at: float | None = None
        try:
            while True:
                for key, _ in selector.select(timeout=POLL_S):
                    if key.data == "exit":
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fd)
                        open_streams -= 1
                    elif key.data == "log":
                        self.logs.feed(chunk)
                    elif key.data == "status":
                        self._on_status(chunk)
                    else:
                        self.info = (self.info + chunk)[:INFO_CAP]
                if reaped_at is None:
                    ended = run.poll()
                    if ended is not None:
                        reaped_at = time.monotonic()
                        self.result.wait_status, self.result.rusage = ended
                        self.result.wall_s = reaped_at - started
                        selector.unregister(exit_fd)
                if reaped_at is not None:
                    if not open_streams or time.monotonic() - reaped_at > DRAIN_S:
                        break
                    continue
                reason, last_scan = self._check(started, last_scan, run)
                if reason is not None:
                    self.result.killed = self.result.killed or reason
                    run.kill()
        finally:
            if reaped_at is None:
                run.kill()
                self.result.wait_status, self.result.rusage = run.wait()
                self.result.wall_s = time.monotonic() - started
            selector.close()
            run.close()
            self._reap_jail_init(run)
        self.result.logs = self.logs.text()
        self.result.logs_truncated = self.logs.truncated
        return self.result

    def _reap_jail_init(self, run: Watched) -> None:
        """Reap bwrap's namespace init (re-parented to us): the jail's true CPU and memory use."""
        outer = self.result.rusage
        self.result.cpu_s = (outer.ru_utime + outer.ru_stime) if outer is not None else 0.0
        told = run.peak_kb(outer) if outer is not None else 0
        self.result.peak_kb = max(self.hwm_kb, self.result.tree_peak_kb, told)
        usage = reap_init(self.info)
        if usage is not None:
            self.result.cpu_s += usage.ru_utime + usage.ru_stime
            self.result.peak_kb = max(self.result.peak_kb, usage.ru_maxrss)

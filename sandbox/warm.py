"""Warm single-use jails: started while the worker idles, released into by exactly one job.

A warm jail is a normal jail (slot uid, namespaces, private view, seccomp, limits) whose runner
imports its libraries before the job exists and then waits on a release pipe that only this
process holds (`jail/warm.py`). `run_warm` stages a job into its job folder, releases it and
supervises it like a cold run; afterwards the jail is destroyed (processes, slot, scratch) and
the next one is prepared for the same shape. A jail is used once: `WarmJail.release` refuses a
second job, and the pool hands out only jails that were never released. A jail that waited longer
than `warm_max_idle_s`, died, or whose runtime, settings or shape differ from the job's, is
destroyed instead of used. See docs/sandbox.md#warm-jails.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import select
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, replace

from .backends import (
    BOOTSTRAP,
    Identity,
    JailView,
    bwrap_command,
    job_folders,
    run_seconds,
    write_jailed_spec,
)
from .bwrap import HOST_ENV
from .contract import InfrastructureError, RunRequest, RunResult, SubmissionRejected
from .jail.protocol import SubmissionFormat
from .jail.warm import READY
from .outcome import judge
from .reader import Expected
from .runtime import Runtime, resolve_runtime
from .settings import SandboxSettings, get_settings
from .staging import RunDir, fill_job, scratch_dirs
from .supervise import Spawned, Supervision, Supervisor, reap_init, spawn
from .usage import tree_cpu_s

logger = logging.getLogger(__name__)
MB = 1024 * 1024
PRELOAD_CPU_S = 20.0
"""CPU seconds a warm jail may spend on its imports, on top of the run's own CPU limit."""
PRELOADS: dict[SubmissionFormat, tuple[str, ...]] = {
    SubmissionFormat.SKLEARN: (
        "joblib",
        "sklearn.base",
        "sklearn.pipeline",
        "sklearn.preprocessing",
        "sklearn.linear_model",
    ),
    SubmissionFormat.TORCHSCRIPT: ("torch",),
    SubmissionFormat.ONNX: ("onnxruntime",),
    SubmissionFormat.MLFLOW: ("mlflow.pyfunc",),
}
"""Libraries a warm jail imports for a job of the format (which a cold run of it imports too)."""
WARM_BOOTSTRAP = BOOTSTRAP.replace(
    "from jail.main import run;run(a[2])", "from jail.warm import wait;wait(a[2])"
)
SPEC = "/job/spec.json"
READY_WAIT_S = 60.0
"""How long a job waits for a jail's imports before it is released into it anyway."""


class AlreadyUsed(Exception):
    """A job was released into a jail that already had one."""


@dataclass(frozen=True)
class WarmKey:
    """Everything a warm jail was built with: a job matches only a jail with the same key."""

    view: JailView
    preload: tuple[str, ...]
    runtime: tuple[str, ...]
    settings: str


def preload_modules(request: RunRequest) -> tuple[str, ...]:
    """The libraries to import for the request's format.

    Only its own format's: the jail is prepared for the format of the job just run (a team's
    next submission tends to have it), and a job runs only in a jail preloaded for its format, so
    its memory and CPU are those of a cold run of it, never another format's library (torch's
    import alone would cost an `sklearn` job more than it saves)."""
    return PRELOADS.get(SubmissionFormat(request.format), ())


def view_of(request: RunRequest, threads: int) -> JailView:
    """The jail's shape for a request: its limits, device, threads and CPU seconds."""
    return JailView(request.limits, request.device, threads, run_seconds(request) + PRELOAD_CPU_S)


def _fingerprint(runtime: Runtime) -> tuple[str, ...]:
    """The runtime's paths and their change times: an upgrade of a package changes them."""
    parts: list[str] = []
    for path in (runtime.interpreter, *runtime.site_dirs, *runtime.mounts):
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            stamp = -1
        parts.append(f"{path}@{stamp}")
    return tuple(parts)


def key_for(request: RunRequest, threads: int, settings: SandboxSettings) -> WarmKey:
    """The key a warm jail for this request must have."""
    uid = settings.uid_base if os.getuid() == 0 else os.getuid()
    gid = uid if os.getuid() == 0 else os.getgid()
    runtime = resolve_runtime(settings, uid, gid)
    return WarmKey(
        view=view_of(request, threads),
        preload=preload_modules(request),
        runtime=_fingerprint(runtime),
        settings=settings.model_dump_json(),
    )


class WarmJail:
    """One jail, started and waiting for its one job."""

    def __init__(self, key: WarmKey, settings: SandboxSettings) -> None:
        from .runs import jail_identity, run_folder

        self.key = key
        self.born = time.monotonic()
        self.used = False
        self.watched = False
        self.ready = False
        self._ready_seen = b""
        self.preload_cpu_s = 0.0
        """The CPU its processes had used when it was released (imports, never submitted code)."""
        self._stack = ExitStack()
        self._go_w = -1
        try:
            self.identity: Identity = self._stack.enter_context(jail_identity(settings))
            root = self._stack.enter_context(run_folder(settings, None, self.identity))
            self.run_dir: RunDir = scratch_dirs(root, uid=self.identity.uid, gid=self.identity.gid)
            self.spawned, self.status_fd = self._start(settings)
        except BaseException:
            self._stack.close()
            raise

    def _start(self, settings: SandboxSettings) -> tuple[Spawned, int]:
        runtime = resolve_runtime(settings, self.identity.uid, self.identity.gid)
        status_pipe, info_pipe = os.pipe(), os.pipe()
        go_r, self._go_w = os.pipe()
        os.set_inheritable(self._go_w, False)
        ticket = json.dumps(
            {
                "go_fd": go_r,
                "status_fd": status_pipe[1],
                "spec": SPEC,
                "preload": list(self.key.preload),
            }
        )
        sites = [str(p) for p in runtime.site_dirs]
        tail = [str(runtime.interpreter), "-I", "-S", "-B", "-u", "-c", WARM_BOOTSTRAP]
        tail += ["/runner", ticket, *sites]
        fds: tuple[int, ...] = ()
        spawning = False
        try:
            argv, fds = bwrap_command(
                self.key.view,
                job_folders(self.run_dir),
                self.run_dir.runner,
                runtime,
                self.identity,
                info_fd=info_pipe[1],
                chdir=None,
                tail=tail,
            )
            spawning = True  # from here on spawn closes the pipes itself when it fails
            spawned = spawn(
                argv,
                env=dict(HOST_ENV),
                pass_fds=(*fds, go_r),
                status_pipe=status_pipe,
                info_pipe=info_pipe,
            )
        except BaseException:
            if not spawning:
                for fd in (*status_pipe, *info_pipe):
                    os.close(fd)
            self._close_go()
            raise
        finally:
            for fd in (*fds, go_r):
                os.close(fd)
        return spawned, status_pipe[1]

    def alive(self) -> bool:
        """Whether its runner still waits (a jail that died while waiting is never used)."""
        return self.spawned.proc.poll() is None

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the runner says its imports are done (reads only that line of the status
        pipe); False when it did not within `timeout_s` or died."""
        if self.ready:
            return True
        deadline = time.monotonic() + timeout_s
        while len(self._ready_seen) < len(READY):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.spawned.status_r], [], [], left)[0]:
                return False
            chunk = os.read(self.spawned.status_r, len(READY) - len(self._ready_seen))
            if not chunk:
                return False
            self._ready_seen += chunk
        self.ready = self._ready_seen == READY
        return self.ready

    def age_s(self) -> float:
        """Seconds since it was started."""
        return time.monotonic() - self.born

    def release(self, request: RunRequest, threads: int) -> float:
        """Stage `request` into the job folder and let the runner go; returns the staging time.

        Raises `AlreadyUsed` for a second job, `SubmissionRejected` for an unusable upload."""
        if self.used:
            raise AlreadyUsed("this warm jail already had its job: a jail runs one submission")
        self.used = True
        began = time.monotonic()
        fill_job(request, self.run_dir)
        write_jailed_spec(request, self.run_dir, self.status_fd, threads)
        staged = time.monotonic() - began
        self.preload_cpu_s = tree_cpu_s(self.spawned.proc.pid)  # read before any job code runs
        os.write(self._go_w, b"1")
        self._close_go()
        return staged

    def _close_go(self) -> None:
        if self._go_w >= 0:
            os.close(self._go_w)
            self._go_w = -1

    def close(self) -> None:
        """Destroy the jail: end its runner, reap it, free its slot and remove its folders."""
        self._close_go()  # an unreleased runner reads end of file and exits
        proc = self.spawned.proc
        if not self.watched:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 9)
            proc.wait()
            info = b""
            if self.spawned.info_r is not None:
                with suppress(OSError):
                    info = os.read(self.spawned.info_r, 4096)
                os.close(self.spawned.info_r)
            os.close(self.spawned.status_r)
            if proc.stdout is not None:
                proc.stdout.close()
            reap_init(info)
            self.watched = True
        self._stack.close()


class WarmPool:
    """This process's warm jails (one per shape, at most `warm_jails`), oldest first."""

    def __init__(self) -> None:
        self.jails: list[WarmJail] = []
        self.owner = os.getpid()
        self.lock = threading.Lock()

    def _mine(self) -> None:
        if os.getpid() != self.owner:  # a forked child: the jails are its parent's
            self.jails, self.owner = [], os.getpid()

    def take(self, key: WarmKey, max_idle_s: float) -> WarmJail | None:
        """A never-used, living, fresh jail with this key, or None. Jails that are used, dead, too
        old, or built with another runtime or other settings are destroyed; a jail of another
        shape (limits, device, preloads) stays for the job that matches it."""
        with self.lock:
            return self._take(key, max_idle_s)

    def _take(self, key: WarmKey, max_idle_s: float) -> WarmJail | None:
        self._mine()
        found = None
        for jail in list(self.jails):
            stale = jail.key.runtime != key.runtime or jail.key.settings != key.settings
            if stale or jail.used or not jail.alive() or jail.age_s() > max_idle_s:
                self._discard(jail)
            elif found is None and jail.key == key:
                self.jails.remove(jail)
                found = jail
        return found

    def prepare(self, key: WarmKey, settings: SandboxSettings) -> None:
        """Start the next jail for `key`, replacing the oldest when the pool is full."""
        with self.lock:
            self._prepare(key, settings)

    def _prepare(self, key: WarmKey, settings: SandboxSettings) -> None:
        self._mine()
        if any(j.key == key for j in self.jails):
            return
        while self.jails and len(self.jails) >= max(settings.warm_jails, 1):
            self._discard(self.jails[0])
        try:
            self.jails.append(WarmJail(key, settings))
        except Exception:  # the next run starts its own jail and reports the fault
            logger.warning("could not prepare a warm jail", exc_info=True)

    def _discard(self, jail: WarmJail) -> None:
        if jail in self.jails:
            self.jails.remove(jail)
        with suppress(Exception):
            jail.close()

    def close(self) -> None:
        """Destroy every waiting jail (at exit, and between tests)."""
        with self.lock:
            self._mine()
            for jail in list(self.jails):
                self._discard(jail)


POOL = WarmPool()
atexit.register(POOL.close)


def _ready_jail(key: WarmKey, settings: SandboxSettings) -> tuple[WarmJail, float] | None:
    """A waiting jail of this key whose imports are done (or a new one); None when two jails in a
    row died before they were ready (then the job runs cold)."""
    jail = POOL.take(key, settings.warm_max_idle_s) or WarmJail(key, settings)
    for _ in range(2):
        waited = jail.age_s()
        if jail.wait_ready(READY_WAIT_S) or jail.alive():
            return jail, waited
        logger.warning("a warm jail ended before its release; starting another")
        jail.close()
        jail = WarmJail(key, settings)
    jail.close()
    return None


def run_warm(
    request: RunRequest,
    *,
    expected: Expected,
    threads: int,
    supervisor: Callable[[RunDir], Supervisor],
    model_size_mb: float,
    failure: Callable[[str], RunResult],
) -> RunResult | None:
    """Run one job in a warm jail (a waiting one if its key matches, else a new one), destroy the
    jail, and prepare the next one with the same key. None: no jail of this shape stays alive until
    its release (its imports crash within its limits), so the job must run cold."""
    settings = get_settings()
    key = key_for(request, threads, settings)
    ready_began = time.monotonic()
    found = _ready_jail(key, settings)
    if found is None:
        return None
    jail, waited = found
    ready_s = time.monotonic() - ready_began
    try:
        try:
            staged = jail.release(request, threads)
        except SubmissionRejected as exc:
            return failure(str(exc))
        except BrokenPipeError:
            raise InfrastructureError("the warm jail ended before its job was released") from None
        watcher = supervisor(jail.run_dir)
        jail.watched = True
        supervision: Supervision = watcher.watch(jail.spawned)
        # the job's CPU: what the jail used after its release (its imports are not the team's)
        supervision.cpu_s = max(supervision.cpu_s - jail.preload_cpu_s, 0.0)
        cpu_limit = math.ceil(key.view.cpu_s * key.view.threads) + 1 - int(jail.preload_cpu_s)
        result = judge(
            request,
            supervision,
            jail.run_dir.out,
            model_size_mb=model_size_mb,
            expected=expected,
            cpu_limit=cpu_limit,
            staged_s=staged,
        )
        return replace(
            result, timings={**result.timings, "warm_wait": waited, "warm_ready": ready_s}
        )
    finally:
        jail.close()
        POOL.prepare(key, settings)

"""The fork server, host side: one pre-imported jail per worker process that forks a confined
child per run (`jail/forkserver.py`), so a run pays neither a jail start nor its imports.

A server is a jail started like any other (slot uid, namespaces, read-only view, limits, seccomp)
whose runner imports the libraries of a format and waits on a control socket. For each run the
host stages the job into a fresh folder under the server's exchange folder (bound at /jobs),
sends the folder's name with the run's status and log pipes, and supervises the run like a cold
one. The server reports the run's wait status and resource usage; a run the host must kill
(timeout, memory, output, cancel) takes the whole server with it, and the next run starts a new
one. A server is replaced when its runtime or settings change, when it idled longer than
`warm_max_idle_s`, or after `fork_server_runs` runs. See docs/sandbox.md#fork-server.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import resource
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, replace

from .backends import (
    BOOTSTRAP,
    JailView,
    bwrap_command,
    jail_env,
    memory_limits_bytes,
    process_limit,
    server_folders,
    write_jailed_spec,
)
from .bwrap import HOST_ENV, memfd
from .contract import InfrastructureError, RunRequest, RunResult, SubmissionRejected
from .jail.forkserver import STATUS_FD
from .jail.protocol import SubmissionFormat
from .leftovers import remove_tree
from .outcome import judge
from .reader import Expected
from .runtime import Runtime, resolve_runtime
from .seccomp import build_filter
from .settings import SandboxSettings, get_settings
from .staging import RunDir, fill_job, runner_folder, scratch_dirs
from .supervise import Spawned, Supervisor, kill_group, reap_init, spawn
from .usage import children, tree_memory_kb
from .warm import PRELOAD_CPU_S, WarmKey, key_for

logger = logging.getLogger(__name__)
MB = 1024 * 1024
SERVER_BOOTSTRAP = BOOTSTRAP.replace(
    "from jail.main import run;run(a[2])", "from jail.forkserver import serve;serve(a[2])"
)
READY = b"ready"
READY_WAIT_S = 60.0
"""How long a run waits for a new server's imports before it runs on another path."""
MESSAGE_CAP = 65536
SERVER_CPU_S = 120.0
"""CPU seconds the server process itself may use (imports, then a fork per run)."""
KILLED = 9
"""The wait status of a process killed by SIGKILL."""
SERVED_FORMATS = frozenset(
    {
        SubmissionFormat.SKLEARN,
        SubmissionFormat.ONNX,
        SubmissionFormat.PYTHON,
        SubmissionFormat.MLFLOW,
    }
)
"""Formats run by a fork server; TorchScript and CUDA runs keep warm jails (torch and the CUDA
driver hold threads and device state that a fork does not carry over)."""


def eligible(request: RunRequest, runtime: Runtime) -> str:
    """'' when a fork server can run this request, else why not."""
    if request.device != "cpu":
        return f"device {request.device!r} (only CPU runs are forked)"
    if SubmissionFormat(request.format) not in SERVED_FORMATS:
        return f"format {request.format!r} is not forked"
    covered = ("/tmp", "/dev/shm")
    for path in runtime.mounts:
        if any(str(path) == c or str(path).startswith(c + "/") for c in covered):
            return f"the runtime {path} lies under a folder each run gets afresh"
    return ""


class ForkServer:
    """One server jail, its exchange folder and the host's end of its control socket."""

    def __init__(self, key: WarmKey, settings: SandboxSettings) -> None:
        from .runs import jail_identity, run_folder

        self.key = key
        self.used_at = time.monotonic()
        self.runs = 0
        self.dead = False
        self.server_pid = 0
        self._stack = ExitStack()
        try:
            self.identity = self._stack.enter_context(jail_identity(settings))
            root = self._stack.enter_context(run_folder(settings, None, self.identity))
            root.mkdir(mode=0o711)
            self.exchange = root / "jobs"
            self.exchange.mkdir(mode=0o711)
            os.chmod(root, 0o711)
            os.chmod(self.exchange, 0o711)
            self.spawned, self.control = self._start(settings)
        except BaseException:
            self._stack.close()
            raise

    def _start(self, settings: SandboxSettings) -> tuple[Spawned, socket.socket]:
        view = self.key.view
        runtime = resolve_runtime(settings, self.identity.uid, self.identity.gid)
        host_end, jail_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        status_pipe, info_pipe = os.pipe(), os.pipe()
        strict = memfd("mlchallenge-seccomp-run", build_filter())
        ticket = json.dumps(
            {
                "control_fd": jail_end.fileno(),
                "seccomp_fd": strict,
                "preload": list(self.key.preload),
                "tmp_bytes": view.limits.tmp_mb * MB,
                "shm_bytes": max(view.limits.tmp_mb // 4, 8) * MB,
                "env": jail_env(view.threads, "/tmp", view.device),
                "limits": run_limits(view, self.identity.drop),
            }
        )
        sites = [str(p) for p in runtime.site_dirs]
        tail = [str(runtime.interpreter), "-I", "-S", "-B", "-u", "-c", SERVER_BOOTSTRAP]
        tail += ["/runner", ticket, *sites]
        # the server's jail also holds the server itself and each run's pid-1 process
        limits = replace(view.limits, processes=view.limits.processes + 2)
        server_view = replace(view, limits=limits, cpu_s=view.cpu_s + SERVER_CPU_S)
        fds: tuple[int, ...] = ()
        spawning = False
        try:
            argv, fds = bwrap_command(
                server_view,
                server_folders(self.exchange),
                runner_folder(),
                runtime,
                self.identity,
                info_fd=info_pipe[1],
                chdir=None,
                tail=tail,
                server=True,
            )
            spawning = True  # from here on spawn closes the pipes itself when it fails
            spawned = spawn(
                argv,
                env=dict(HOST_ENV),
                pass_fds=(*fds, jail_end.fileno(), strict),
                status_pipe=status_pipe,
                info_pipe=info_pipe,
            )
        except BaseException:
            if not spawning:
                for fd in (*status_pipe, *info_pipe):
                    os.close(fd)
            host_end.close()
            raise
        finally:
            for fd in (*fds, strict):
                os.close(fd)
            jail_end.close()
        return spawned, host_end

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the server's imports are done; False when it died or took too long."""
        if self.server_pid:
            return True
        ready, _, _ = select.select([self.control], [], [], timeout_s)
        if not ready or self.control.recv(MESSAGE_CAP) != READY:
            return False
        # bwrap -> its namespace init -> the server: the runs are the server's children
        init = children(self.spawned.pid)
        server = children(init[0]) if init else []
        self.server_pid = server[0] if server else 0
        return bool(self.server_pid)

    def usable(self, key: WarmKey, max_idle_s: float, max_runs: int) -> bool:
        """Whether the next run with `key` may use this server."""
        return (
            not self.dead
            and self.spawned.proc.poll() is None
            and self.key == key
            and time.monotonic() - self.used_at <= max_idle_s
            and self.runs < max_runs
        )

    def kill(self) -> None:
        """Kill the server's jail with every run in it."""
        self.dead = True
        kill_group(self.spawned.pid)

    def run(
        self,
        request: RunRequest,
        *,
        expected: Expected,
        threads: int,
        supervisor: Callable[[RunDir], Supervisor],
        model_size_mb: float,
        failure: Callable[[str], RunResult],
    ) -> RunResult:
        """Stage one run into a fresh job folder, hand it to the server and supervise it."""
        self.runs += 1
        began = time.monotonic()
        name = uuid.uuid4().hex
        run_dir = scratch_dirs(self.exchange / name, uid=self.identity.uid, gid=self.identity.gid)
        try:
            try:
                fill_job(request, run_dir)
            except SubmissionRejected as exc:
                return failure(str(exc))
            write_jailed_spec(request, run_dir, STATUS_FD, threads)
            status_r, status_w = os.pipe()
            log_r, log_w = os.pipe()
            try:
                socket.send_fds(
                    self.control, [json.dumps({"job": name}).encode()], [status_w, log_w]
                )
            except OSError as exc:
                for fd in (status_r, log_r):
                    os.close(fd)
                self.dead = True
                raise InfrastructureError(
                    "the fork server ended before the run was handed over"
                ) from exc
            finally:
                os.close(status_w)
                os.close(log_w)
            staged = time.monotonic() - began
            supervision = supervisor(run_dir).watch(ForkedRun(self, status_r, log_r))
            return judge(
                request,
                supervision,
                run_dir.out,
                model_size_mb=model_size_mb,
                expected=expected,
                cpu_limit=run_limits(self.key.view, self.identity.drop)["cpu"],
                staged_s=staged,
            )
        finally:
            self.used_at = time.monotonic()
            with suppress(OSError):
                remove_tree(run_dir.root)

    def close(self) -> None:
        """Destroy the server: hang up, kill its jail, reap it, free its slot and folders."""
        with suppress(OSError):
            self.control.close()
        self.kill()
        proc = self.spawned.proc
        proc.wait()
        info = b""
        if self.spawned.info_r is not None:
            with suppress(OSError):
                info = os.read(self.spawned.info_r, 4096)
        self.spawned.close()
        reap_init(info)
        self._stack.close()


def run_limits(view: JailView, drop: bool) -> dict[str, int]:
    """The resource limits each run sets on itself, as `backends.limit_prefix` gives a cold run."""
    limits = view.limits
    run_cpu = view.cpu_s - PRELOAD_CPU_S  # the key's CPU seconds include a warm jail's imports
    return {
        **memory_limits_bytes(limits, view.device),
        "cpu": math.ceil(run_cpu * max(view.threads, 1)) + 1,
        "nproc": process_limit(limits, drop) + 2,  # the server and its namespace init
        "fsize": limits.file_size_mb * MB,
        "nofile": limits.open_files,
        "core": 0,
    }


@dataclass
class ForkedRun:
    """A run forked by a server, as the supervisor sees it (`supervise.Watched`)."""

    server: ForkServer
    status_r: int
    log_r: int
    info_r: int | None = None
    job_pid: int = 0

    @property
    def pid(self) -> int:
        """The run's first process (pid 1 of its namespace), once the server said it started."""
        return self.job_pid

    def memory_kb(self) -> int:
        """The memory of the run's processes, without its init's (which shares its pages)."""
        return tree_memory_kb(self.job_pid, root_private=False) if self.job_pid else 0

    def peak_kb(self, usage: resource.struct_rusage) -> int:
        """The peak of the run's init and every process it reaped (the job's included)."""
        return int(usage.ru_maxrss)

    def log_fd(self) -> int:
        """The run's standard output and error."""
        return self.log_r

    def exit_fd(self) -> int:
        """The control socket: the server reports there when the run ended."""
        return self.server.control.fileno()

    def poll(self) -> tuple[int, resource.struct_rusage | None] | None:
        """Read the server's reports; the run's end once it came (or the server died)."""
        while True:
            try:
                data = self.server.control.recv(MESSAGE_CAP, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return None
            except OSError:
                data = b""
            if not data:
                if self.server.dead:  # the host killed it, and the run with it
                    return KILLED, None
                self.server.kill()  # it died by itself: nothing of its jail may outlive it
                raise InfrastructureError(
                    "the fork server ended during the run (no fault of the model)"
                )
            event = json.loads(data)
            if event["event"] == "started":
                found = children(self.server.server_pid)
                self.job_pid = found[0] if found else 0
            elif event["event"] == "exit":
                return int(event["status"]), resource.struct_rusage(event["rusage"])
            else:  # "failed" (the child could not confine itself) or "refused"
                return int(event.get("status", 1 << 8)), None

    def kill(self) -> None:
        """A run is killed with its server (the next run starts a new one)."""
        self.server.kill()

    def wait(self) -> tuple[int, resource.struct_rusage | None]:
        """Wait for the killed server's jail to end."""
        self.server.spawned.proc.wait()
        return KILLED, None

    def close(self) -> None:
        """Close the host's ends of the run's pipes."""
        os.close(self.status_r)
        os.close(self.log_r)


class ForkServers:
    """This process's fork servers, one per key, at most `warm_jails` of them."""

    def __init__(self) -> None:
        self.servers: dict[WarmKey, ForkServer] = {}
        self.owner = os.getpid()
        self.lock = threading.Lock()

    def get(self, key: WarmKey, settings: SandboxSettings) -> ForkServer | None:
        """A ready server for `key`: the running one if still usable, else a new one (None when
        it does not get ready)."""
        with self.lock:
            if os.getpid() != self.owner:  # a forked child: the servers are its parent's
                self.servers, self.owner = {}, os.getpid()
            for other, server in list(self.servers.items()):
                fresh = other.runtime == key.runtime and other.settings == key.settings
                if not fresh or not server.usable(other, settings.warm_max_idle_s, 1 << 62):
                    self._discard(other)
            found = self.servers.get(key)
            if found is not None and not found.usable(
                key, settings.warm_max_idle_s, settings.fork_server_runs
            ):
                self._discard(key)
                found = None
            if found is None:  # room for it: the least recently used other server goes
                while self.servers and len(self.servers) >= max(settings.warm_jails, 1):
                    self._discard(min(self.servers, key=lambda k: self.servers[k].used_at))
            server = found or ForkServer(key, settings)
            self.servers[key] = server
            if server.wait_ready(READY_WAIT_S):
                return server
            logger.warning("a fork server did not get ready; the run takes another path")
            self._discard(key)
            return None

    def _discard(self, key: WarmKey) -> None:
        server = self.servers.pop(key, None)
        if server is not None:
            with suppress(Exception):
                server.close()

    def close(self) -> None:
        """Destroy every server (at exit, and between tests)."""
        with self.lock:
            if os.getpid() != self.owner:
                self.servers, self.owner = {}, os.getpid()
            for key in list(self.servers):
                self._discard(key)


SERVERS = ForkServers()
atexit.register(SERVERS.close)


def run_forked(
    request: RunRequest,
    *,
    expected: Expected,
    threads: int,
    supervisor: Callable[[RunDir], Supervisor],
    model_size_mb: float,
    failure: Callable[[str], RunResult],
) -> RunResult | None:
    """Run one job through this process's fork server for its key; None when the request is not
    eligible or no server gets ready (the caller takes the warm or cold path)."""
    settings = get_settings()
    key = key_for(request, threads, settings)
    uid = settings.uid_base if os.getuid() == 0 else os.getuid()
    runtime = resolve_runtime(settings, uid, uid if os.getuid() == 0 else os.getgid())
    why = eligible(request, runtime)
    if why:
        logger.debug("not forked: %s", why)
        return None
    server = SERVERS.get(key, settings)
    if server is None:
        return None
    return server.run(
        request,
        expected=expected,
        threads=threads,
        supervisor=supervisor,
        model_size_mb=model_size_mb,
        failure=failure,
    )

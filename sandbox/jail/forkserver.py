"""The fork server: a runner that imports once and forks one confined child per job.

It runs inside a jail started like any other (slot uid, namespaces, read-only view, limits,
seccomp) but never runs submitted code itself and never reads a job's data. For each job the host
sends the name of the job's folder under /jobs and two descriptors (the job's status pipe and log
pipe); the server forks a child C that

1. enters new user, mount, pid, ipc, uts, network and cgroup namespaces;
2. binds /jobs/<name>/job read-only at /job and /jobs/<name>/out at /out, mounts fresh tmpfs at
   /tmp and /dev/shm, and covers /jobs with an empty read-only tmpfs;
3. forks G, the first process of the new pid namespace, and exits: G is adopted by the server.

G mounts a fresh /proc, drops every capability, sets the run's limits and environment, keeps
only its standard streams and the status pipe and loads the strict seccomp filter; then it forks
the job's process J (`main.run`) and stays as the namespace's init, like bwrap's in a cold jail.
When J ends, G ends with J's status, and every process of the pid namespace ends with it. The
server reports G's wait status and resource usage to the host and waits for the next job. See
docs/sandbox.md#fork-server for the isolation argument.
"""

from __future__ import annotations

import gc
import json
import os
import re
import socket
import sys
from contextlib import suppress
from typing import Any, NoReturn

from . import confine
from .main import run
from .warm import preload

JOBS = "/jobs"
SPEC = "/job/spec.json"
MODEL_FOLDER = "/job/model"
STATUS_FD = 3
"""Where a child finds its status pipe (the job spec names it)."""
JOB_NAME = re.compile(r"[0-9a-f]{8,64}")
MESSAGE_CAP = 4096
SETUP_FAILED = 5


def _send(control: socket.socket, event: dict[str, Any]) -> None:
    control.send(json.dumps(event).encode())


def serve(ticket: str) -> NoReturn:
    """Preload, say `ready`, then run one confined child per job until the host hangs up."""
    settings = json.loads(ticket)
    control = socket.socket(fileno=int(settings["control_fd"]))
    with os.fdopen(int(settings["seccomp_fd"]), "rb") as program:
        seccomp = program.read()
    preload([str(m) for m in settings.get("preload", [])])
    # the imported objects go to a generation the collector never walks: a run's collections do
    # not touch (and copy) the pages it shares with the server
    gc.freeze()
    confine.set_dumpable(False)  # no process of this uid may trace it or read its memory
    confine.adopt_orphans()  # a run's first process comes back to it when C exits
    null = os.open("/dev/null", os.O_WRONLY)
    os.dup2(null, 1)  # nobody reads the server's own output once it is ready: a run has its own
    os.dup2(null, 2)
    os.close(null)
    control.send(b"ready")
    while True:
        message, fds, _, _ = socket.recv_fds(control, MESSAGE_CAP, 2)
        if not message:
            os._exit(0)  # the host hung up: the server is discarded
        try:
            name = str(json.loads(message)["job"])
            if len(fds) != 2 or not JOB_NAME.fullmatch(name):
                raise ValueError("a job needs a folder name and two descriptors")
        except (ValueError, KeyError, TypeError) as exc:
            for fd in fds:
                os.close(fd)
            _send(control, {"event": "refused", "message": str(exc)})
            continue
        _run_one(control, name, fds[0], fds[1], settings, seccomp)


def _run_one(
    control: socket.socket,
    name: str,
    status_fd: int,
    log_fd: int,
    settings: dict[str, Any],
    seccomp: bytes,
) -> None:
    child = os.fork()
    if child == 0:
        _child(name, status_fd, log_fd, settings, seccomp)
    os.close(status_fd)
    os.close(log_fd)
    _, status = os.waitpid(child, 0)
    if status != 0:
        _send(control, {"event": "failed", "status": status})
        return
    _send(control, {"event": "started"})
    _, status, usage = os.wait4(-1, 0)
    _send(control, {"event": "exit", "status": status, "rusage": list(usage)})
    while True:  # nothing else should be left; reap it if it is
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def _child(
    name: str, status_fd: int, log_fd: int, settings: dict[str, Any], seccomp: bytes
) -> NoReturn:
    """C: new namespaces and mounts, then fork the job's process and exit."""
    try:
        uid, gid = os.getuid(), os.getgid()
        # its own /proc files must be its uid's to map it (no job code runs in C; G's seccomp
        # filter and pid namespace keep G from tracing it in the moment before C exits)
        confine.set_dumpable(True)
        confine.unshare(confine.NEW_NAMESPACES)
        confine.map_identity(uid, gid)
        confine.mount(None, "/", None, confine.MS_REC | confine.MS_PRIVATE)
        confine.bind(f"{JOBS}/{name}/job", "/job", read_only=True)
        confine.bind(f"{JOBS}/{name}/out", "/out", read_only=False)
        confine.tmpfs("/tmp", int(settings["tmp_bytes"]))
        confine.tmpfs("/dev/shm", int(settings["shm_bytes"]))
        confine.tmpfs(JOBS, 0, read_only=True)  # no other job's folder, past or future
        if os.fork() == 0:
            _confined_job(status_fd, log_fd, settings, seccomp)
    except BaseException as exc:  # reported on the job's log; the host calls it a platform fault
        _report(log_fd, exc)
        os._exit(SETUP_FAILED)
    os._exit(0)


def _report(fd: int, exc: BaseException) -> None:
    with suppress(OSError):
        os.write(fd, f"mlchallenge: the fork server could not confine a run: {exc}\n".encode())


def _confined_job(
    status_fd: int, log_fd: int, settings: dict[str, Any], seccomp: bytes
) -> NoReturn:
    """G never returns into the server's code: it runs the job or ends."""
    try:
        _job(status_fd, log_fd, settings, seccomp)
    except BaseException as exc:
        _report(2, exc)
    finally:
        os._exit(SETUP_FAILED)


def _job(status_fd: int, log_fd: int, settings: dict[str, Any], seccomp: bytes) -> NoReturn:
    """G: pid 1 of the run's own pid namespace; confine it fully, then fork the job."""
    confine.mount("proc", "/proc", "proc", confine.MS_NOSUID | confine.MS_NODEV | confine.MS_NOEXEC)
    confine.set_hostname(str(settings.get("hostname", "sandbox")))
    os.setsid()
    status = os.dup(status_fd)
    log = os.dup(log_fd)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.dup2(status, STATUS_FD)
    os.closerange(STATUS_FD + 1, 1 << 20)  # the control socket, the server's pipes, everything
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in settings["env"].items()})
    confine.set_limits({str(k): int(v) for k, v in settings["limits"].items()})
    confine.drop_capabilities()
    confine.install_seccomp(seccomp)
    job = os.fork()
    if job == 0:
        try:
            os.chdir(MODEL_FOLDER)
            if "numpy" in sys.modules:  # the legacy global generator was seeded in the server
                sys.modules["numpy"].random.seed()
            run(SPEC)
        finally:
            os._exit(SETUP_FAILED)
    _init(job)


def _init(job: int) -> NoReturn:
    """G after the fork, as a jail's init: reap every process of the namespace and end as the
    job ended (its exit code, or 128 + the signal that killed it, as bwrap reports a cold run's);
    the kernel then ends whatever is left in the namespace."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == job:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            os._exit(code)

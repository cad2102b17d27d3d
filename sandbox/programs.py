"""Host programs in a jail: a competition's scoring or ingestion program (docs/scoring-programs.md).

A program is code like a model: it runs in its own bubblewrap jail (no network, the same runtime,
prlimit limits, a slot uid, the host's clock and output cap) and sees only the folders its request
lists, copied read-only into the jail at the paths it names (Codabench's `/app/...` layout), plus
one writable output folder. The caller decides what each jail may see: only a scoring jail is ever
given labels, and a participant's code is only ever given to an ingestion jail.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .backends import BACKENDS, Identity, jail_env, limit_prefix, threads_for
from .bwrap import HOST_ENV, device_args, etc_view, memfd, namespace_args, system_view
from .contract import InfrastructureError, Limits, Outcome, SubmissionRejected
from .outcome import MEMORY_SIGNS, log_tail
from .redact import Redactor
from .runs import jail_identity, run_folder
from .runtime import Runtime, resolve_runtime
from .seccomp import build_filter
from .settings import get_settings
from .staging import etc_files, unpack
from .supervise import Budget, KillReason, Supervision, Supervisor

logger = logging.getLogger(__name__)
MB = 1024 * 1024
PYTHON_NAMES = frozenset({"python", "python3", f"python3.{sys.version_info.minor}"})
BOOTSTRAP = (
    "import os,sys,site,runpy;a=sys.argv;i=a.index('--');[site.addsitedir(d) for d in a[1:i]];"
    "sys.argv=a[i+1:];m=sys.argv[0]=='-m';sys.argv=sys.argv[1:] if m else sys.argv;"
    "sys.path.insert(0,os.getcwd() if m else os.path.dirname(os.path.abspath(sys.argv[0])));"
    "runpy.run_module(sys.argv[0],run_name='__main__',alter_sys=True) if m else "
    "runpy.run_path(sys.argv[0],run_name='__main__')"
)
"""`python SCRIPT ARGS` (or `python -m MODULE ARGS`) in the jail with the runtime's site folders."""


@dataclass(frozen=True)
class Mount:
    """A host file or folder shown read-only in the jail at `target` (an absolute jail path)."""

    source: Path
    target: str
    archive: bool = False
    """`source` is a zip, unpacked (bounded, checked like an upload) into `target`."""


@dataclass(frozen=True)
class ProgramRequest:
    """One program run: its command line in the jail, what it sees, where it writes."""

    command: tuple[str, ...]
    """argv inside the jail; a leading `python`/`python3` is the sandbox's runtime."""
    mounts: tuple[Mount, ...]
    output_at: str
    """The writable folder's path in the jail (its content comes back in `ProgramResult.output`)."""
    workdir: str
    limits: Limits = field(default_factory=Limits)
    label: str = "program"
    """How messages name it: `scoring program`, `ingestion program`."""


@dataclass(frozen=True)
class ProgramResult:
    """How the program ended, its capped logs and the host folder holding what it wrote."""

    outcome: Outcome
    message: str
    logs: str
    output: Path | None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_memory_mb: float = 0.0


def run_program(
    request: ProgramRequest,
    keep: Path,
    *,
    backend: str | None = None,
    should_cancel: Callable[[], bool] | None = None,
    work_dir: Path | None = None,
) -> ProgramResult:
    """Run a program in a fresh jail; what it wrote is moved to `keep` (a folder that must not
    exist yet). Never raises for the program's faults; a platform fault is `infrastructure_error`.
    """
    name = backend or "bwrap"
    if name != "bwrap":
        return _failed(
            Outcome.INFRASTRUCTURE_ERROR,
            f"host programs run only in the bwrap sandbox (backend {name!r} was asked for)",
        )
    settings = get_settings()
    why = BACKENDS[name].unavailable(settings)
    if why:
        return _failed(Outcome.INFRASTRUCTURE_ERROR, f"the sandbox cannot run here: {why}")
    try:
        with jail_identity(settings) as identity, run_folder(settings, work_dir, identity) as root:
            runtime = resolve_runtime(settings, identity.uid, identity.gid)
            job, out, tmp = _stage(request, root, identity.uid, identity.gid)
            supervision = _supervise(request, job, out, tmp, runtime, identity, should_cancel)
            redact = Redactor([str(root), str(Path(sys.prefix).resolve()), str(Path.home())])
            result = _interpret(request, supervision, redact)
            if result.outcome is Outcome.OK:
                shutil.move(out, keep)
                return _with_output(result, keep)
            return result
    except SubmissionRejected as exc:
        return _failed(Outcome.INVALID_SUBMISSION, str(exc))
    except InfrastructureError as exc:
        logger.error("%s: sandbox infrastructure error: %s", request.label, exc)
        return _failed(Outcome.INFRASTRUCTURE_ERROR, str(exc))


def _failed(outcome: Outcome, message: str) -> ProgramResult:
    return ProgramResult(outcome, message, "", None)


def _with_output(result: ProgramResult, output: Path) -> ProgramResult:
    return ProgramResult(
        result.outcome,
        result.message,
        result.logs,
        output,
        result.wall_s,
        result.cpu_s,
        result.peak_memory_mb,
    )


def _jail_path(target: str) -> PurePosixPath:
    path = PurePosixPath(target)
    if not path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
        raise InfrastructureError(f"a program's mount point must be an absolute path: {target!r}")
    return path


def _readable(folder: Path) -> None:
    for current, dirs, files in os.walk(folder):
        os.chmod(current, 0o755)
        for entry in (*dirs, *files):
            path = Path(current) / entry
            if not path.is_symlink():
                os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _stage(request: ProgramRequest, root: Path, uid: int, gid: int) -> tuple[Path, Path, Path]:
    """Copy every mount into `root/job/<n>` (readable by the slot uid); make `out` and `tmp`."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)
    job = root / "job"
    job.mkdir()
    for number, mount in enumerate(request.mounts):
        _jail_path(mount.target)
        copy = job / str(number)
        if mount.archive:
            copy.mkdir()
            unpack(mount.source, copy)
        elif mount.source.is_dir():
            shutil.copytree(mount.source, copy, symlinks=True)
        elif mount.source.is_file():
            shutil.copyfile(mount.source, copy)
        else:
            raise InfrastructureError(f"the {request.label}'s input {mount.target} is missing")
    _readable(job)
    out, tmp = root / "out", root / "tmp"
    for folder in (out, tmp):
        folder.mkdir(mode=0o700)
        if os.getuid() == 0:
            os.chown(folder, uid, gid)
    return job, out, tmp


def _argv(request: ProgramRequest, runtime: Runtime) -> list[str]:
    command = list(request.command)
    if not command:
        raise InfrastructureError(f"the {request.label} has no command")
    if PurePosixPath(command[0]).name in PYTHON_NAMES:
        sites = [str(p) for p in runtime.site_dirs]
        python = [str(runtime.interpreter), "-I", "-S", "-B", "-u", "-c", BOOTSTRAP]
        return [*python, *sites, "--", *command[1:]]
    return command


def _supervise(
    request: ProgramRequest,
    job: Path,
    out: Path,
    tmp: Path,
    runtime: Runtime,
    identity: Identity,
    should_cancel: Callable[[], bool] | None,
) -> Supervision:
    limits = request.limits
    threads = threads_for(limits)
    seccomp_fd = memfd("mlchallenge-seccomp", build_filter())
    etc_fds = {
        name: memfd(f"mlchallenge-{name}", data)
        for name, data in etc_files(identity.uid, identity.gid).items()
    }
    binds = [
        arg
        for number, mount in enumerate(request.mounts)
        for arg in ("--ro-bind", str(job / str(number)), str(_jail_path(mount.target)))
    ]
    argv = [
        *limit_prefix(identity, limits, limits.time_s, threads),
        get_settings().bwrap,
        *namespace_args(),
        *system_view(),
        *etc_view(etc_fds),
        *("--size", str(max(limits.tmp_mb // 4, 8) * MB), "--tmpfs", "/dev/shm"),
        *("--size", str(limits.tmp_mb * MB), "--tmpfs", "/tmp"),
        *(arg for p in runtime.mounts for arg in ("--ro-bind", str(p), str(p))),
        *binds,
        *("--bind", str(out), str(_jail_path(request.output_at))),
        *device_args("cpu"),
        *("--remount-ro", "/"),
        *("--chdir", request.workdir),
        *(arg for k, v in jail_env(threads, "/tmp").items() for arg in ("--setenv", k, v)),
        *("--seccomp", str(seccomp_fd)),
    ]
    status_pipe, info_pipe = os.pipe(), os.pipe()
    argv += ["--info-fd", str(info_pipe[1]), "--", *_argv(request, runtime)]
    supervisor = Supervisor(
        budget=Budget(limits.time_s, None),
        log_cap=limits.log_kb * 1024,
        out_dir=out,
        output_cap=limits.output_mb * MB,
        should_cancel=should_cancel,
    )
    pass_fds = (seccomp_fd, *etc_fds.values())
    try:
        return supervisor.run(
            argv,
            env=dict(HOST_ENV),
            pass_fds=pass_fds,
            status_pipe=status_pipe,
            info_pipe=info_pipe,
        )
    finally:
        for fd in pass_fds:
            os.close(fd)


def _interpret(
    request: ProgramRequest, sup: Supervision, redact: Callable[[str], str]
) -> ProgramResult:
    """Exactly one outcome for what the host saw, with a message that names no host path."""
    limits, label = request.limits, request.label
    logs = redact(sup.logs)
    figures = (round(sup.wall_s, 4), round(sup.cpu_s, 4), round(sup.peak_kb / 1024, 2))

    def done(outcome: Outcome, message: str) -> ProgramResult:
        return ProgramResult(outcome, redact(message)[:4000], logs, None, *figures)

    status = sup.wait_status
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
    if sup.killed is KillReason.CANCELLED:
        return done(Outcome.CANCELLED, "the run was cancelled")
    if sup.killed is KillReason.TIMEOUT or sig == signal.SIGXCPU:
        return done(Outcome.TIMEOUT, f"the {label} ran longer than {limits.time_s:g} s (time_s)")
    if sup.killed is KillReason.OUTPUT_TOO_LARGE:
        return done(
            Outcome.INVALID_OUTPUT,
            f"the {label} wrote more than {limits.output_mb} MB (output_mb) or too many files",
        )
    if sig == signal.SIGXFSZ:
        return done(
            Outcome.RUNTIME_ERROR,
            f"the {label} wrote a file larger than {limits.file_size_mb} MB (file_size_mb)",
        )
    tail = log_tail(logs)
    if sig or code:
        if any(s in tail for s in MEMORY_SIGNS) or sup.peak_kb / 1024 >= 0.9 * limits.memory_mb:
            return done(
                Outcome.MEMORY_EXCEEDED,
                f"the {label} needed more than {limits.memory_mb} MB (memory_mb); "
                f"last output:\n{tail}",
            )
        how = f"was killed by {signal.Signals(sig).name}" if sig else f"exited with code {code}"
        return done(Outcome.RUNTIME_ERROR, f"the {label} {how}; last lines of its output:\n{tail}")
    return ProgramResult(Outcome.OK, "", logs, None, *figures)

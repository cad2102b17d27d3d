"""Backends that turn a staged run into a command line: `bwrap` (the default jail) and `process`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from .bwrap import (
    HOST_ENV,
    SETPRIV,
    device_args,
    etc_view,
    memfd,
    namespace_args,
    system_view,
    trial_jail,
)
from .contract import Limits, RunRequest
from .jail.protocol import JobSpec
from .runtime import Runtime
from .seccomp import SeccompUnavailable, build_filter
from .settings import SandboxSettings, get_settings
from .staging import RunDir, etc_files, model_file

MB = 1024 * 1024
BOOTSTRAP = (
    "import sys,site;a=sys.argv;sys.path.insert(0,a[1]);[site.addsitedir(d) for d in a[3:]];"
    "from jail.main import run;run(a[2])"
)
"""The runner's command line: `run` exits without the interpreter's teardown (see jail/main.py)."""
PRLIMIT = "/usr/bin/prlimit"


@dataclass(frozen=True)
class Identity:
    """Who the model runs as: a slot uid (dropped to with setpriv) or the worker's own uid."""

    uid: int
    gid: int
    drop: bool


@dataclass(frozen=True)
class Launch:
    """A ready command: argv, environment, inherited descriptors and the job spec it expects."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...]
    spec: JobSpec


def jail_env(threads: int, home: str, device: str = "cpu") -> dict[str, str]:
    """The whole environment the model sees: no platform settings, tokens or URLs."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "MALLOC_ARENA_MAX": "2",
        # pyarrow's default pool (jemalloc/mimalloc) commits about 1 GB of private memory it never
        # touches, which RLIMIT_DATA would count against `memory_mb`: use the system allocator
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        "MPLBACKEND": "Agg",
        "MLFLOW_DISABLE_TELEMETRY": "true",  # no network in the jail: MLflow need not try
        "MPLCONFIGDIR": home,
    }
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        env[name] = str(threads)
    if device == "cuda":
        env.update(cuda_env(home))
    return env


def cuda_env(home: str) -> dict[str, str]:
    """What CUDA needs from the worker's environment: its GPU choice and driver library path."""
    env = {"CUDA_CACHE_PATH": f"{home}/.nv"}
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    # only folders the jail can see (/usr is bound read-only): e.g. /usr/local/nvidia/lib64
    library_path = [
        d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d.startswith("/usr/")
    ]
    if library_path:
        env["LD_LIBRARY_PATH"] = ":".join(library_path)
    return env


def run_seconds(request: RunRequest) -> float:
    """The longest wall time a run may take."""
    train = request.limits.train_time_s if request.train_path is not None else 0.0
    return request.limits.time_s + train


def own_process_count() -> int:
    """How many processes the worker's uid already has (they count against RLIMIT_NPROC)."""
    uid = os.getuid()
    return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid)


def _owner(path: Path) -> int:
    try:
        return path.stat().st_uid
    except OSError:
        return -1


ADDRESS_HEADROOM_MB = 8192
"""Address space a CPU run may map beyond `memory_mb`: shared libraries and reservations (a
CUDA build of torch maps about 3.3 GB of libraries at import, most never resident)."""


def memory_limits(limits: Limits, device: str) -> list[str]:
    """The prlimit memory flags: `memory_mb` of private memory per process, hard.

    `RLIMIT_DATA` counts the private writable memory a process commits (heap, anonymous
    mappings) and ignores mapped libraries, so it is what `memory_mb` bounds. On the CPU
    `RLIMIT_AS` (`memory_mb` + `ADDRESS_HEADROOM_MB`) also bounds what `RLIMIT_DATA` does not count
    (shared anonymous mappings). The CUDA driver reserves tens of GB of address space (unified
    addressing) at start-up, so CUDA runs get no address-space limit. The memory of the whole
    process tree is bounded from outside (`supervise.Budget.memory_kb`).
    """
    return [f"--{name}={value}" for name, value in memory_limits_bytes(limits, device).items()]


def memory_limits_bytes(limits: Limits, device: str) -> dict[str, int]:
    """The memory limits of `memory_limits`, in bytes by rlimit name (`data`, `as`)."""
    values = {"data": limits.memory_mb * MB}
    if device != "cuda":
        values["as"] = (limits.memory_mb + ADDRESS_HEADROOM_MB) * MB
    return values


def process_limit(limits: Limits, drop: bool) -> int:
    """RLIMIT_NPROC of a jail: its processes, bwrap and its init, and (when the worker does not
    drop to a slot uid) the processes the worker's uid already has."""
    return limits.processes + 2 + (0 if drop else own_process_count())


def limit_prefix(
    identity: Identity, limits: Limits, cpu_s: float, threads: int, device: str = "cpu"
) -> list[str]:
    """`setpriv` (when dropping root) then `prlimit` with every resource limit."""
    nproc = process_limit(limits, identity.drop)
    cpu = math.ceil(cpu_s * max(threads, 1)) + 1
    prefix: list[str] = []
    if identity.drop:
        prefix = [
            SETPRIV,
            f"--reuid={identity.uid}",
            f"--regid={identity.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]
    return [
        *prefix,
        PRLIMIT,
        *memory_limits(limits, device),
        f"--cpu={cpu}",
        f"--nproc={nproc}",
        f"--fsize={limits.file_size_mb * MB}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


def _spec(
    request: RunRequest, job: Path, out: Path, model: Path, status_fd: int, threads: int
) -> JobSpec:
    return JobSpec(
        format=str(request.format),
        model_path=str(model),
        features_path=str(job / "features.parquet"),
        output_dir=str(out),
        id_column=request.id_column,
        target=request.target,
        task=request.task,
        classes=list(request.classes) if request.classes is not None else None,
        train_path=str(job / "train.parquet") if request.train_path is not None else None,
        device=request.device,
        status_fd=status_fd,
        threads=threads,
    )


def write_jailed_spec(
    request: RunRequest, run_dir: RunDir, status_fd: int, threads: int
) -> JobSpec:
    """Write the job spec of a jailed run (paths as the jail sees them: /job, /out) into its
    job folder."""
    job = Path("/job")
    inner_model = job / model_file(request, run_dir).relative_to(run_dir.job)
    spec = _spec(request, job, Path("/out"), inner_model, status_fd, threads)
    path = run_dir.job / "spec.json"
    path.write_text(spec.dumps())
    os.chmod(path, 0o644)
    return spec


class Backend(Protocol):
    """Builds the command that runs the in-jail runner."""

    name: ClassVar[str]
    reports_init: ClassVar[bool]
    """Whether the command reports its namespace init's pid (bwrap --info-fd)."""

    def unavailable(self, settings: SandboxSettings) -> str:
        """'' when usable on this machine, else why not."""

    def launch(
        self,
        request: RunRequest,
        run_dir: RunDir,
        runtime: Runtime,
        identity: Identity,
        *,
        status_fd: int,
        info_fd: int | None,
        threads: int,
    ) -> Launch:
        """The command for one staged run."""


def _python(runtime: Runtime, runner: Path, spec_path: Path) -> list[str]:
    sites = [str(p) for p in runtime.site_dirs]
    return [
        str(runtime.interpreter),
        "-I",
        "-S",
        "-B",
        "-u",
        "-c",
        BOOTSTRAP,
        str(runner),
        str(spec_path),
        *sites,
    ]


def missing_limit_tools() -> str:
    """Why the limit tools (prlimit, and setpriv for a root worker) are unusable; '' if usable."""
    for tool in (PRLIMIT, *((SETPRIV,) if os.getuid() == 0 else ())):
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing: apt-get install util-linux"
    return ""


class ProcessBackend:
    """Resource limits and a slot uid only: no namespaces, no filesystem view. Explicit use only."""

    name: ClassVar[str] = "process"
    reports_init: ClassVar[bool] = False

    def unavailable(self, settings: SandboxSettings) -> str:
        """Needs prlimit (and setpriv when the worker is root)."""
        return missing_limit_tools()

    def launch(
        self,
        request: RunRequest,
        run_dir: RunDir,
        runtime: Runtime,
        identity: Identity,
        *,
        status_fd: int,
        info_fd: int | None,
        threads: int,
    ) -> Launch:
        """Run the runner directly on the host paths."""
        spec = _spec(
            request, run_dir.job, run_dir.out, model_file(request, run_dir), status_fd, threads
        )
        spec_path = run_dir.job / "spec.json"
        spec_path.write_text(spec.dumps())
        os.chmod(spec_path, 0o644)
        argv = [
            *limit_prefix(identity, request.limits, run_seconds(request), threads, request.device),
            "/usr/bin/env",
            "-i",
            "-C",
            str(run_dir.model),
            *(f"{k}={v}" for k, v in jail_env(threads, str(run_dir.tmp), request.device).items()),
            *_python(runtime, run_dir.runner, spec_path),
        ]
        return Launch(argv, dict(HOST_ENV), (), spec)


class BwrapBackend:
    """bubblewrap: new user, pid, net, ipc, uts and mount namespaces, seccomp, a private view."""

    name: ClassVar[str] = "bwrap"
    reports_init: ClassVar[bool] = True

    def unavailable(self, settings: SandboxSettings) -> str:
        """Checks the tools, the seccomp table and a trial jail."""
        if not os.access(settings.bwrap, os.X_OK):
            return f"{settings.bwrap} is missing: apt-get install bubblewrap"
        if missing := missing_limit_tools():
            return missing
        try:
            build_filter()
        except SeccompUnavailable as exc:
            return str(exc)
        return trial_jail(settings)

    def launch(
        self,
        request: RunRequest,
        run_dir: RunDir,
        runtime: Runtime,
        identity: Identity,
        *,
        status_fd: int,
        info_fd: int | None,
        threads: int,
    ) -> Launch:
        """Build the bwrap command line with the private filesystem view."""
        job = Path("/job")
        spec = write_jailed_spec(request, run_dir, status_fd, threads)
        view = JailView(request.limits, request.device, threads, run_seconds(request))
        argv, fds = bwrap_command(
            view,
            job_folders(run_dir),
            run_dir.runner,
            runtime,
            identity,
            info_fd=info_fd,
            chdir=str(job / "model"),
            tail=_python(runtime, Path("/runner"), job / "spec.json"),
        )
        return Launch(argv, dict(HOST_ENV), fds, spec)


@dataclass(frozen=True)
class JailView:
    """What shapes a jail before its job is known: limits, device, threads and CPU seconds."""

    limits: Limits
    device: str
    threads: int
    cpu_s: float


def job_folders(run_dir: RunDir) -> list[str]:
    """A run's folders in its jail: the job read-only at /job, the output writable at /out."""
    return ["--ro-bind", str(run_dir.job), "/job", "--bind", str(run_dir.out), "/out"]


def server_folders(exchange: Path) -> list[str]:
    """A fork server's folders: every job's folder under /jobs, and empty /job and /out on which
    each run binds its own (`jail/forkserver.py`)."""
    return ["--bind", str(exchange), "/jobs", "--dir", "/job", "--dir", "/out"]


def bwrap_command(
    view: JailView,
    folders: list[str],
    runner: Path,
    runtime: Runtime,
    identity: Identity,
    *,
    info_fd: int | None,
    chdir: str | None,
    tail: list[str],
    server: bool = False,
) -> tuple[list[str], tuple[int, ...]]:
    """The limits, namespaces and private view of a jail, then `tail`; and the fds it inherits.

    `server`: a fork server's jail, whose runs enter namespaces of their own: it may create user
    namespaces and gets the seccomp filter of `seccomp.SERVER_ALLOWED`."""
    seccomp_fd = memfd("mlchallenge-seccomp", build_filter(server=server))
    etc_fds = {
        name: memfd(f"mlchallenge-{name}", data)
        for name, data in etc_files(identity.uid, identity.gid).items()
    }
    limits = view.limits
    argv = [
        *limit_prefix(identity, limits, view.cpu_s, view.threads, view.device),
        get_settings().bwrap,
        *(a for a in namespace_args() if not (server and a == "--disable-userns")),
        *system_view(),
        *etc_view(etc_fds),
        # The private /tmp comes first: a runtime installed under /tmp is bound on top of it.
        *("--size", str(max(limits.tmp_mb // 4, 8) * MB), "--tmpfs", "/dev/shm"),
        *("--size", str(limits.tmp_mb * MB), "--tmpfs", "/tmp"),
        *(arg for p in runtime.mounts for arg in ("--ro-bind", str(p), str(p))),
        *folders,
        *("--ro-bind", str(runner), "/runner"),
        *device_args(view.device),
        *("--remount-ro", "/"),
        *(("--chdir", chdir) if chdir is not None else ()),
        *(
            arg
            for k, v in jail_env(view.threads, "/tmp", view.device).items()
            for arg in ("--setenv", k, v)
        ),
        *("--seccomp", str(seccomp_fd)),
        *(("--info-fd", str(info_fd)) if info_fd is not None else ()),
        "--",
        *tail,
    ]
    return argv, (seccomp_fd, *etc_fds.values())


BACKENDS: dict[str, Backend] = {
    BwrapBackend.name: BwrapBackend(),
    ProcessBackend.name: ProcessBackend(),
}


def threads_for(limits: Limits) -> int:
    """Threads for BLAS/torch/onnxruntime: the CPUs, bounded by the process limit."""
    return max(1, min(os.cpu_count() or 1, 8, limits.processes // 4))

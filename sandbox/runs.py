"""`run`: stage a submission, start it in a backend, supervise it and judge what came out."""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path

import pyarrow.parquet as pq

from .backends import BACKENDS, Identity, run_seconds, threads_for
from .contract import (
    InfrastructureError,
    Outcome,
    RunRequest,
    RunResult,
    SubmissionRejected,
    empty_kpis,
)
from .formats import FormatSpec, check_extension, get_format
from .leftovers import owned_prefix, remove_tree, sweep
from .outcome import interpret
from .runtime import accessible, resolve_runtime
from .settings import SandboxSettings, get_settings
from .slots import claim_slot
from .staging import stage
from .supervise import Budget, Supervisor
from .validate import OutputInvalid, parse_predictions

logger = logging.getLogger(__name__)
MB = 1024 * 1024
DEFAULT_BACKEND = "bwrap"
RUN_FOLDER_BASE = "mlchallenge-run-"


def available_backends() -> dict[str, str]:
    """Each backend with '' when usable here, else why not."""
    settings = get_settings()
    return {name: backend.unavailable(settings) for name, backend in BACKENDS.items()}


def _model_size_mb(path: Path) -> float:
    try:
        return round(path.stat().st_size / MB, 4)
    except OSError:
        return 0.0


def _failure(outcome: Outcome, message: str, model_size_mb: float) -> RunResult:
    return RunResult(outcome, message, None, "", empty_kpis(model_size_mb))


def _count_rows(path: Path) -> int:
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception as exc:
        raise InfrastructureError(
            f"the features file {path} is not readable Parquet: {exc}"
        ) from exc


def run_predictions(request: RunRequest, model_size_mb: float) -> RunResult:
    """The `predictions` format: no code runs; the file is parsed with strict caps and validated."""
    started = time.monotonic()
    n_rows = _count_rows(request.features_path)
    try:
        predictions = parse_predictions(
            request.model_path,
            id_column=request.id_column,
            target=request.target,
            task=request.task,
            classes=request.classes,
            n_rows=n_rows,
            max_bytes=request.limits.output_mb * MB,
        )
    except OutputInvalid as exc:
        return _failure(Outcome.INVALID_OUTPUT, str(exc), model_size_mb)
    except (TypeError, ValueError, KeyError) as exc:
        message = f"the predictions have unusable values: {exc}"
        return _failure(Outcome.INVALID_OUTPUT, message, model_size_mb)
    kpis = empty_kpis(model_size_mb)
    kpis["wall_time_s"] = round(time.monotonic() - started, 4)
    return RunResult(Outcome.OK, "", predictions, "", kpis)


@contextmanager
def _identity(settings: SandboxSettings) -> Iterator[Identity]:
    if os.getuid() != 0:
        yield Identity(os.getuid(), os.getgid(), drop=False)
        return
    with claim_slot(
        settings.lock_dir, settings.uid_base, settings.slots, settings.slot_wait_s
    ) as uid:
        yield Identity(uid, uid, drop=True)


@contextmanager
def _scratch(
    settings: SandboxSettings, work_dir: Path | None, identity: Identity
) -> Iterator[Path]:
    parent = work_dir or settings.work_root or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    blocked = accessible(parent, identity.uid, identity.gid, need=os.X_OK)
    if blocked:
        raise InfrastructureError(
            f"the sandbox uid {identity.uid} cannot reach the work folder {parent}: {blocked}; "
            "use a work_dir (or MLCHALLENGE_SANDBOX_WORK_ROOT) that other users can traverse"
        )
    _sweep_once(parent)
    root = parent / f"{owned_prefix(RUN_FOLDER_BASE)}{uuid.uuid4().hex}"
    try:
        yield root
    finally:
        with suppress(OSError):  # what stays is swept by the next process
            remove_tree(root)


@lru_cache(maxsize=16)
def _sweep_once(parent: Path) -> None:
    """Remove the run folders that killed processes left in `parent` (once per process)."""
    sweep(parent, RUN_FOLDER_BASE)


def _backend_name(backend: str | None) -> str:
    name = backend or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise InfrastructureError(
            f"unknown sandbox backend '{name}'; use one of: {', '.join(BACKENDS)}"
        )
    if name == "process":
        message = (
            "SANDBOX BACKEND 'process' IN USE: the model runs with resource limits only, without "
            "namespaces or a private filesystem view; it can read the worker's files and reach the "
            "network. Use it only for trusted code on machines without bubblewrap."
        )
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        logger.warning(message)
    return name


def _run_code(
    request: RunRequest,
    spec: FormatSpec,
    backend_name: str,
    should_cancel: Callable[[], bool] | None,
    work_dir: Path | None,
    model_size_mb: float,
) -> RunResult:
    settings = get_settings()
    backend = BACKENDS[backend_name]
    why = backend.unavailable(settings)
    if why:
        raise InfrastructureError(
            f"the '{backend_name}' sandbox cannot run on this machine: {why}. "
            f"{spec.format} submissions run code and are refused without a sandbox; "
            "run `python -m sandbox check` for details"
        )
    n_rows = _count_rows(request.features_path)
    threads = threads_for(request.limits)
    with _identity(settings) as identity, _scratch(settings, work_dir, identity) as root:
        runtime = resolve_runtime(settings, identity.uid, identity.gid)
        try:
            run_dir = stage(request, root, uid=identity.uid, gid=identity.gid)
        except SubmissionRejected as exc:
            return _failure(Outcome.INVALID_SUBMISSION, str(exc), model_size_mb)
        status_pipe = os.pipe()
        info_pipe = os.pipe() if backend.reports_init else None
        launch = backend.launch(
            request,
            run_dir,
            runtime,
            identity,
            status_fd=status_pipe[1],
            info_fd=info_pipe[1] if info_pipe else None,
            threads=threads,
        )
        train_budget = request.limits.train_time_s if request.train_path is not None else None
        supervisor = Supervisor(
            budget=Budget(request.limits.time_s, train_budget),
            log_cap=request.limits.log_kb * 1024,
            out_dir=run_dir.out,
            output_cap=request.limits.output_mb * MB,
            should_cancel=should_cancel,
        )
        try:
            supervision = supervisor.run(
                launch.argv,
                env=launch.env,
                pass_fds=launch.pass_fds,
                status_pipe=status_pipe,
                info_pipe=info_pipe,
            )
        finally:
            for fd in launch.pass_fds:
                os.close(fd)
        cpu_limit = math.ceil(run_seconds(request) * threads) + 1
        return interpret(
            request,
            supervision,
            run_dir.out,
            model_size_mb=model_size_mb,
            n_rows=n_rows,
            cpu_limit=cpu_limit,
        )


def run(
    request: RunRequest,
    *,
    backend: str | None = None,
    should_cancel: Callable[[], bool] | None = None,
    work_dir: Path | None = None,
) -> RunResult:
    """Run one submission in the sandbox and return its validated predictions and KPIs."""
    model_size_mb = _model_size_mb(request.model_path)
    try:
        spec = get_format(request.format)
        check_extension(spec, request.model_path)
        if not request.model_path.is_file():
            raise SubmissionRejected(f"the uploaded file {request.model_path.name} is missing")
        if not spec.runs_code:
            return run_predictions(request, model_size_mb)
        name = _backend_name(backend)
        return _run_code(request, spec, name, should_cancel, work_dir, model_size_mb)
    except SubmissionRejected as exc:
        return _failure(Outcome.INVALID_SUBMISSION, str(exc), model_size_mb)
    except InfrastructureError as exc:
        logger.error("sandbox infrastructure error: %s", exc)
        return _failure(Outcome.INFRASTRUCTURE_ERROR, str(exc), model_size_mb)

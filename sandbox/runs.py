"""`run`: stage a submission, start it in a backend, supervise it and judge what came out."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import reference
from .backends import BACKENDS, BwrapBackend, Identity, run_seconds, threads_for
from .contract import (
    InfrastructureError,
    Outcome,
    RunRequest,
    RunResult,
    SubmissionRejected,
    empty_kpis,
)
from .formats import FormatSpec, check_file, get_format
from .leftovers import owned_prefix, remove_tree, sweep
from .outcome import judge
from .reader import Expected, Predictions, feature_ids, read_predictions
from .redact import redactor_for
from .runtime import accessible, resolve_runtime
from .settings import SandboxSettings, get_settings
from .slots import claim_slot
from .staging import RunDir, stage
from .supervise import Budget, Supervisor
from .validate import OutputInvalid

logger = logging.getLogger(__name__)
MB = 1024 * 1024
DEFAULT_BACKEND = "bwrap"
RUN_FOLDER_BASE = "mlchallenge-run-"


@dataclass(frozen=True)
class RunPath:
    """Which prepared jails a code run may use before a cold jail: a fork server, a warm jail."""

    warm: bool = False
    fork: bool = False

    def label(self, backend: str) -> str:
        """The backend's name with the paths in use (reference measurements are kept per path)."""
        return backend + "".join(
            f"-{p}" for p, on in (("fork", self.fork), ("warm", self.warm)) if on
        )


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


def expected_of(request: RunRequest) -> Expected:
    """What the predictions of this request must match (reads the test features' ids)."""
    return _expected(
        features_path=request.features_path,
        id_column=request.id_column,
        target=request.target,
        task=request.task,
        classes=request.classes,
        max_bytes=request.limits.output_mb * MB,
    )


def _expected(
    *,
    features_path: Path,
    id_column: str,
    target: str,
    task: str,
    classes: list[str | int] | None,
    max_bytes: int,
) -> Expected:
    return Expected(
        id_column=id_column,
        target=target,
        task=task,
        classes=list(classes) if classes is not None else None,
        feature_ids=feature_ids(features_path, id_column),
        max_bytes=max_bytes,
    )


def _read_bounded(path: Path, expected: Expected) -> Predictions:
    settings = get_settings()
    return read_predictions(path, expected, memory_mb=settings.parse_mb, time_s=settings.parse_s)


def parse_predictions(
    path: Path,
    *,
    features_path: Path,
    id_column: str,
    target: str,
    task: str,
    classes: list[str | int] | None,
    max_bytes: int,
) -> pd.DataFrame:
    """Parse and validate an untrusted predictions file in a bounded child, against the test
    features' ids: the upload check and the worker share this (`OutputInvalid` says what to fix)."""
    expected = _expected(
        features_path=features_path,
        id_column=id_column,
        target=target,
        task=task,
        classes=classes,
        max_bytes=max_bytes,
    )
    return _read_bounded(path, expected).frame


def run_predictions(request: RunRequest, model_size_mb: float) -> RunResult:
    """The `predictions` format: no code runs; the file is parsed in a bounded child."""
    started = time.monotonic()
    try:
        predictions = _read_bounded(request.model_path, expected_of(request))
    except OutputInvalid as exc:
        return _failure(Outcome.INVALID_OUTPUT, str(exc), model_size_mb)
    kpis = empty_kpis(model_size_mb)
    elapsed = time.monotonic() - started
    kpis["wall_time_s"] = round(elapsed, 4)
    return RunResult(Outcome.OK, "", predictions.frame, "", kpis, timings={"validate": elapsed})


@contextmanager
def jail_identity(settings: SandboxSettings) -> Iterator[Identity]:
    """The uid a jail runs as: a claimed slot uid for a root worker, else the worker's own."""
    if os.getuid() != 0:
        yield Identity(os.getuid(), os.getgid(), drop=False)
        return
    with claim_slot(
        settings.lock_dir, settings.uid_base, settings.slots, settings.slot_wait_s
    ) as uid:
        yield Identity(uid, uid, drop=True)


@contextmanager
def run_folder(
    settings: SandboxSettings, work_dir: Path | None, identity: Identity
) -> Iterator[Path]:
    """A fresh run folder (removed afterwards) under a parent the jail's uid can traverse."""
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
    path: RunPath = RunPath(),
) -> RunResult:
    began = time.monotonic()
    settings = get_settings()
    backend = BACKENDS[backend_name]
    why = backend.unavailable(settings)
    if why:
        raise InfrastructureError(
            f"the '{backend_name}' sandbox cannot run on this machine: {why}. "
            f"{spec.format} submissions run code and are refused without a sandbox; "
            "run `python -m sandbox check` for details"
        )
    expected = expected_of(request)
    threads = threads_for(request.limits)

    def supervisor(run_dir: RunDir) -> Supervisor:
        train_budget = request.limits.train_time_s if request.train_path is not None else None
        return Supervisor(
            budget=Budget(request.limits.time_s, train_budget, request.limits.memory_mb * 1024),
            log_cap=request.limits.log_kb * 1024,
            out_dir=run_dir.out,
            output_cap=request.limits.output_mb * MB,
            should_cancel=should_cancel,
        )

    if backend_name == BwrapBackend.name and (path.fork or path.warm):
        from .forkserver import run_forked
        from .warm import run_warm

        for wanted, runner in ((path.fork, run_forked), (path.warm, run_warm)):
            if not wanted:
                continue
            result = runner(
                request,
                expected=expected,
                threads=threads,
                supervisor=supervisor,
                model_size_mb=model_size_mb,
                failure=lambda text: _failure(Outcome.INVALID_SUBMISSION, text, model_size_mb),
            )
            if result is not None:
                return result
    with jail_identity(settings) as identity, run_folder(settings, work_dir, identity) as root:
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
        staged = time.monotonic()
        try:
            supervision = supervisor(run_dir).run(
                launch.argv,
                env=launch.env,
                pass_fds=launch.pass_fds,
                status_pipe=status_pipe,
                info_pipe=info_pipe,
            )
        finally:
            for fd in launch.pass_fds:
                os.close(fd)
        return judge(
            request,
            supervision,
            run_dir.out,
            model_size_mb=model_size_mb,
            expected=expected,
            cpu_limit=math.ceil(run_seconds(request) * threads) + 1,
            staged_s=staged - began,
        )


def _measured(
    request: RunRequest,
    first: RunResult,
    run_once: Callable[[RunRequest], RunResult],
    backend_name: str,
) -> RunResult:
    """Repeat a successful run for its timing and measure its reference, as the request asks."""
    results = [first]
    for _ in range(request.timing_runs - 1):
        again = run_once(request)
        if again.outcome is Outcome.CANCELLED:
            return again
        if again.outcome is Outcome.OK:  # a model that fails on a repeat gains nothing by it
            results.append(again)
    kpis = reference.median_kpis(results)
    if request.reference:
        measured = reference.measure(request, backend_name, run_once)
        n_rows = len(first.predictions) if first.predictions is not None else 0
        kpis.update(reference.above(kpis, measured, n_rows))
    return dataclasses.replace(first, kpis=kpis)


def run(
    request: RunRequest,
    *,
    backend: str | None = None,
    should_cancel: Callable[[], bool] | None = None,
    work_dir: Path | None = None,
    warm: bool | None = None,
    fork: bool | None = None,
) -> RunResult:
    """Run one submission in the sandbox and return its validated predictions and KPIs.

    `fork` (default: the `MLCHALLENGE_SANDBOX_FORK_SERVER` setting) runs CPU code through this
    process's fork server (`forkserver.py`); `warm` (default: `MLCHALLENGE_SANDBOX_WARM`) runs it
    in a warm single-use jail of the bwrap backend and prepares the next one (`warm.py`). A run
    the fork server does not take goes warm when `warm`, else cold. The message and logs name no
    host path (`redact.py`); a platform fault is logged in full.
    """
    settings = get_settings()
    path = RunPath(
        warm=settings.warm if warm is None else warm,
        fork=settings.fork_server if fork is None else fork,
    )
    result = _run(request, backend, should_cancel, work_dir, path)
    if result.outcome is Outcome.INFRASTRUCTURE_ERROR:
        logger.error("sandbox infrastructure error: %s", result.message)
    redact = redactor_for(request, get_settings(), work_dir)
    return dataclasses.replace(result, message=redact(result.message), logs=redact(result.logs))


def _run(
    request: RunRequest,
    backend: str | None,
    should_cancel: Callable[[], bool] | None,
    work_dir: Path | None,
    path: RunPath,
) -> RunResult:
    model_size_mb = _model_size_mb(request.model_path)
    try:
        spec = get_format(request.format)
        if not request.model_path.is_file():
            raise SubmissionRejected(f"the uploaded file {request.model_path.name} is missing")
        check_file(spec, request.model_path)
        if spec.needs_programs:
            raise SubmissionRejected(
                f"format '{spec.format}' is run by a competition's ingestion and scoring "
                "programs, not as a model (sandbox.programs)"
            )
        if not spec.runs_code:
            return run_predictions(request, model_size_mb)
        name = _backend_name(backend)

        def run_once(one: RunRequest) -> RunResult:
            size = _model_size_mb(one.model_path)
            fmt = get_format(one.format)
            return _run_code(one, fmt, name, should_cancel, work_dir, size, path)

        result = run_once(request)
        if result.outcome is not Outcome.OK:
            return result
        # a reference is measured on the same path as the runs it is compared with
        return _measured(request, result, run_once, path.label(name))
    except SubmissionRejected as exc:
        return _failure(Outcome.INVALID_SUBMISSION, str(exc), model_size_mb)
    except InfrastructureError as exc:
        return _failure(Outcome.INFRASTRUCTURE_ERROR, str(exc), model_size_mb)

"""Turn what the host observed (exit status, kill reason, result, predictions) into a RunResult."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .contract import Outcome, RunRequest, RunResult, empty_kpis
from .jail.protocol import PREDICTIONS_FILE, RESULT_FILE, JailStatus, Phase
from .reader import Expected, read_predictions
from .settings import get_settings
from .supervise import KillReason, Supervision
from .timings import kill_reason, phase_timings
from .validate import OutputInvalid, open_regular

MB = 1024 * 1024
RESULT_CAP = 64 * 1024
MESSAGE_CAP = 4000
LOG_TAIL_LINES = 15
MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")
STATUS_OUTCOMES = {
    JailStatus.INVALID_SUBMISSION: Outcome.INVALID_SUBMISSION,
    JailStatus.RUNTIME_ERROR: Outcome.RUNTIME_ERROR,
    JailStatus.MEMORY_EXCEEDED: Outcome.MEMORY_EXCEEDED,
    JailStatus.INVALID_OUTPUT: Outcome.INVALID_OUTPUT,
}


def log_tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def read_result(out_dir: Path) -> dict[str, str] | None:
    """The runner's status and message, or None when missing or malformed (it comes from the jail).

    Only `status` and `message` are read, as text; anything else in the file is ignored.
    """
    path = out_dir / RESULT_FILE
    try:
        with open_regular(path, RESULT_CAP) as handle:
            data = json.loads(handle.read().decode("utf-8", errors="replace"))
    except (OutputInvalid, OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    return {key: str(data.get(key, ""))[:MESSAGE_CAP] for key in ("status", "message")}


def measured_kpis(sup: Supervision, model_size_mb: float, n_rows: int) -> dict[str, float]:
    """KPIs measured by the host: its clock, the jail's rusage and /proc, the upload's size.

    `latency_ms_per_1k` is the host's wall time from the `device` mark (written before any
    submitted code is loaded) to the jail's exit, per 1,000 rows: loading, fitting (when the
    model trains in the jail), predicting and writing the predictions. A model cannot move work
    out of that interval, and no clock it can reach is read.
    """
    kpis = empty_kpis(model_size_mb)
    kpis["wall_time_s"] = round(sup.wall_s, 4)
    kpis["cpu_time_s"] = round(sup.cpu_s, 4)
    kpis["peak_memory_mb"] = round(sup.peak_kb / 1024, 2)
    ready = sup.phase_at.get(Phase.DEVICE)
    if ready is not None:
        model_s = max(sup.wall_s - ready, 0.0)
        kpis["latency_ms_per_1k"] = round(model_s * 1e6 / max(n_rows, 1), 4)
    return kpis


def _death(request: RunRequest, sup: Supervision, cpu_limit: int) -> tuple[Outcome, str]:
    status = sup.wait_status
    logs_tail = log_tail(sup.logs)
    limits = request.limits
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and sup.cpu_s >= cpu_limit - 1):
        return (
            Outcome.TIMEOUT,
            f"the model used more than {cpu_limit} s of CPU time; make it faster",
        )
    if sig == signal.SIGXFSZ:
        return Outcome.RUNTIME_ERROR, (
            f"the model wrote a file larger than the {limits.file_size_mb} MB limit (file_size_mb)"
        )
    peak_mb = sup.peak_kb / 1024
    if any(s in logs_tail for s in MEMORY_SIGNS) or peak_mb >= 0.9 * limits.memory_mb:
        return Outcome.MEMORY_EXCEEDED, (
            f"the model needed more than the {limits.memory_mb} MB memory limit (memory_mb); "
            f"last output:\n{logs_tail}"
        )
    how = f"was killed by {signal.Signals(sig).name}" if sig else f"exited with code {code}"
    return Outcome.RUNTIME_ERROR, (
        f"the model process {how} before it finished; last lines of its output:\n{logs_tail}"
    )


def interpret(
    request: RunRequest,
    sup: Supervision,
    out_dir: Path,
    *,
    model_size_mb: float,
    expected: Expected,
    cpu_limit: int,
) -> RunResult:
    """Map the observations to exactly one outcome with a message for the team."""
    result = read_result(out_dir)
    kpis = measured_kpis(sup, model_size_mb, expected.n_rows)
    limits = request.limits

    def done(outcome: Outcome, message: str, predictions: pd.DataFrame | None = None) -> RunResult:
        return RunResult(outcome, message[:MESSAGE_CAP], predictions, sup.logs, kpis)

    if sup.killed is KillReason.CANCELLED:
        return done(Outcome.CANCELLED, "the run was cancelled")
    if sup.killed is KillReason.TIMEOUT:
        return done(
            Outcome.TIMEOUT, f"the model ran longer than the {limits.time_s:g} s limit (time_s)"
        )
    if sup.killed is KillReason.TRAIN_TIMEOUT:
        return done(
            Outcome.TIMEOUT,
            f"fit ran longer than the {limits.train_time_s:g} s training limit (train_time_s)",
        )
    if sup.killed is KillReason.MEMORY:
        return done(
            Outcome.MEMORY_EXCEEDED,
            f"the model needed more than the {limits.memory_mb} MB memory limit (memory_mb); "
            f"last output:\n{log_tail(sup.logs)}",
        )
    if sup.killed is KillReason.OUTPUT_TOO_LARGE:
        return done(
            Outcome.INVALID_OUTPUT,
            f"the model wrote more than {limits.output_mb} MB (output_mb) or too many files "
            "to its output folder",
        )
    if Phase.STARTED not in sup.phases:
        return done(
            Outcome.INFRASTRUCTURE_ERROR,
            f"the sandbox did not start the runner; its output:\n{log_tail(sup.logs)}",
        )
    if Phase.DEVICE not in sup.phases:
        return done(
            Outcome.INFRASTRUCTURE_ERROR,
            f"the sandbox could not use device '{request.device}' (no fault of the model); "
            f"its output:\n{log_tail(sup.logs)}",
        )
    if result is None:
        return done(*_death(request, sup, cpu_limit))
    try:
        status = JailStatus(result["status"])
    except ValueError:
        return done(Outcome.RUNTIME_ERROR, "the model overwrote the runner's result file")
    if status is not JailStatus.OK:
        return done(STATUS_OUTCOMES[status], result["message"])
    exit_code = os.waitstatus_to_exitcode(sup.wait_status)
    if exit_code != 0:
        return done(*_death(request, sup, cpu_limit))
    settings = get_settings()
    try:
        predictions = read_predictions(
            out_dir / PREDICTIONS_FILE,
            expected,
            memory_mb=settings.parse_mb,
            time_s=settings.parse_s,
        )
    except OutputInvalid as exc:
        return done(Outcome.INVALID_OUTPUT, str(exc))
    return done(Outcome.OK, "", predictions.frame)


def judge(
    request: RunRequest,
    sup: Supervision,
    out_dir: Path,
    *,
    model_size_mb: float,
    expected: Expected,
    cpu_limit: int,
    staged_s: float,
) -> RunResult:
    """`interpret` a supervised run, with the host's seconds per phase (`stage`, the jail's
    phases, `validate`) and why it was killed; every path (cold, warm, fork) ends here."""
    ended = time.monotonic()
    result = interpret(
        request, sup, out_dir, model_size_mb=model_size_mb, expected=expected, cpu_limit=cpu_limit
    )
    timings = {"stage": staged_s, **phase_timings(sup)}
    timings["validate"] = time.monotonic() - ended
    return replace(result, timings=timings, kill_reason=kill_reason(sup, request.limits, cpu_limit))

"""Small pieces of observability: phase timings and kill reasons from what the host saw, the JSON
log formatter, the metrics folder of a process group."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from challenge.observability import multiproc
from challenge.observability.logs import JsonFormatter, submission_context
from sandbox.contract import Limits
from sandbox.jail.protocol import Phase
from sandbox.supervise import KillReason, Supervision
from sandbox.timings import kill_reason, phase_timings


def signalled(sig: int) -> int:
    """A wait status of a process killed by `sig`."""
    return sig & 0x7F


def test_phase_timings_follow_the_marks_and_the_last_phase_lasts_until_the_end() -> None:
    sup = Supervision(wall_s=10.0)
    sup.phase_at = {Phase.STARTED: 0.5, Phase.DEVICE: 1.0, Phase.PREDICT: 4.0}
    assert phase_timings(sup) == {"jail_start": 1.0, "load": 3.0, "predict": 6.0}
    sup.phase_at[Phase.FIT] = 2.0
    assert phase_timings(sup) == {"jail_start": 1.0, "load": 1.0, "fit": 2.0, "predict": 6.0}
    never_ready = Supervision(wall_s=2.5)
    assert phase_timings(never_ready) == {"jail_start": 2.5}


@pytest.mark.parametrize(
    ("killed", "status", "cpu_s", "peak_kb", "expected"),
    [
        (KillReason.TIMEOUT, signalled(signal.SIGKILL), 0.0, 0, "timeout"),
        (KillReason.OUTPUT_TOO_LARGE, signalled(signal.SIGKILL), 0.0, 0, "output_too_large"),
        (None, signalled(signal.SIGXCPU), 0.0, 0, "cpu_time"),
        (None, signalled(signal.SIGKILL), 30.0, 0, "cpu_time"),
        (None, signalled(signal.SIGXFSZ), 0.0, 0, "file_size"),
        (None, signalled(signal.SIGKILL), 1.0, 1000 * 1024, "memory"),
        (None, signalled(signal.SIGSEGV), 1.0, 0, None),  # the model crashed: not a kill
        (None, 1 << 8, 1.0, 0, None),  # exit code 1
    ],
)
def test_kill_reasons(
    killed: KillReason | None, status: int, cpu_s: float, peak_kb: int, expected: str | None
) -> None:
    sup = Supervision(wait_status=status, killed=killed, cpu_s=cpu_s, peak_kb=peak_kb)
    assert kill_reason(sup, Limits(memory_mb=1024), cpu_limit=30) == expected


def record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("mlfo.tasks", logging.INFO, __file__, 1, message, (), info)


def test_json_lines_carry_the_submission_only_inside_its_context() -> None:
    formatter = JsonFormatter()
    outside = json.loads(formatter.format(record("idle")))
    assert "submission_id" not in outside and outside["level"] == "info"
    with submission_context(42):
        inside = json.loads(formatter.format(record("working")))
    assert inside["submission_id"] == 42 and inside["logger"] == "mlfo.tasks"
    try:
        raise ValueError("boom\nsecond line")
    except ValueError as exc:
        line = formatter.format(record("failed", exc))
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exc"]


def test_a_command_gets_a_private_metrics_folder_and_dead_ones_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"{multiproc.PREFIX}worker-{dead.stdout.strip()}-abc"
    stale.mkdir()
    alive = tmp_path / f"{multiproc.PREFIX}api-{os.getppid()}-def"
    alive.mkdir()
    script = (
        "import os; from challenge.observability import multiproc; "
        "print(multiproc.ensure_dir('api')); print(os.environ[multiproc.ENV])"
    )
    env = {k: v for k, v in os.environ.items() if k != multiproc.ENV}
    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown[0] == shown[1] and Path(shown[0]).parent == tmp_path
    assert not Path(shown[0]).exists()  # removed when the command ended
    assert not stale.exists() and alive.exists()
    chosen = tmp_path / "chosen"
    env[multiproc.ENV] = str(chosen)
    given = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert given == [str(chosen), str(chosen)] and chosen.is_dir()  # the owner's, kept

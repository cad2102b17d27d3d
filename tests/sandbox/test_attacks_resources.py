"""Attacks on resources: fork bomb, memory, disk, CPU, sleep, log flood, output size, the parent."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sandbox import Limits, Outcome
from sandbox.settings import get_settings
from sandbox.slots import pids_of_uid

from .conftest import assert_still_scores, run_python, slot_processes

FORK_BOMB = """
import os
import time


def predict(features):
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
"""


def test_fork_bomb_is_capped_and_killed(tmp_path: Path, work_dir: Path) -> None:
    settings = get_settings()
    peak = {"count": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for uid in range(settings.uid_base, settings.uid_base + settings.slots):
                peak["count"] = max(peak["count"], len(pids_of_uid(uid)))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    limits = Limits(time_s=4, processes=16, memory_mb=1536)
    try:
        result = run_python(tmp_path, work_dir, FORK_BOMB, limits=limits)
    finally:
        stop.set()
        sampler.join()
    assert result.outcome is Outcome.TIMEOUT
    assert "4 s limit (time_s)" in result.message
    assert 2 < peak["count"] <= 16 + 2
    assert_still_scores(tmp_path, work_dir)


MEMORY_BOMB = """
def predict(features):
    hoard = []
    while True:
        hoard.append(bytearray(50 * 1024 * 1024))
"""


def test_memory_bomb_is_stopped(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=20, memory_mb=1024)
    result = run_python(tmp_path, work_dir, MEMORY_BOMB, limits=limits)
    assert result.outcome is Outcome.MEMORY_EXCEEDED, result.message
    assert result.kpis["peak_memory_mb"] < 1024
    assert_still_scores(tmp_path, work_dir)


DISK_FILL = """
def _fill(path):
    with open(path, "wb") as handle:
        while True:
            handle.write(b"x" * 1024 * 1024)
            handle.flush()


def predict(features):
    try:
        _fill("/dev/shm/fill")
    except OSError as exc:
        print("shm full:", exc.strerror)
    _fill("/tmp/fill")
"""


def test_disk_fill_hits_the_tmpfs_cap(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=20, memory_mb=1536, tmp_mb=16, file_size_mb=64)
    result = run_python(tmp_path, work_dir, DISK_FILL, limits=limits)
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert "No space left on device" in result.message
    assert "shm full: No space left on device" in result.logs
    assert_still_scores(tmp_path, work_dir)


OUTPUT_FLOOD = """
import itertools


def predict(features):
    for index in itertools.count():
        with open(f"/out/part-{index}", "wb") as handle:
            handle.write(b"x" * 1024 * 1024)
"""


def test_filling_the_output_folder_is_stopped(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=20, memory_mb=1536, output_mb=4, file_size_mb=2)
    result = run_python(tmp_path, work_dir, OUTPUT_FLOOD, limits=limits)
    assert result.outcome is Outcome.INVALID_OUTPUT
    assert "more than 4 MB (output_mb)" in result.message
    assert_still_scores(tmp_path, work_dir)


HUGE_FILE = """
def predict(features):
    with open("/out/huge.bin", "wb") as handle:
        for _ in range(100):
            handle.write(b"x" * 1024 * 1024)
"""


def test_a_huge_output_file_hits_the_file_size_limit(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=20, memory_mb=1536, output_mb=64, file_size_mb=2)
    result = run_python(tmp_path, work_dir, HUGE_FILE, limits=limits)
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert "File too large" in result.message
    assert_still_scores(tmp_path, work_dir)


def test_an_endless_cpu_loop_times_out(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=3, memory_mb=1536)
    result = run_python(
        tmp_path, work_dir, "def predict(features):\n    while True:\n        pass\n", limits=limits
    )
    assert result.outcome is Outcome.TIMEOUT
    assert 3 <= result.kpis["wall_time_s"] < 6
    assert_still_scores(tmp_path, work_dir)


def test_sleeping_forever_times_out(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=3, memory_mb=1536)
    body = "import time\n\ndef predict(features):\n    time.sleep(10_000)\n"
    result = run_python(tmp_path, work_dir, body, limits=limits)
    assert result.outcome is Outcome.TIMEOUT
    assert result.kpis["wall_time_s"] < 6
    assert_still_scores(tmp_path, work_dir)


def test_flooding_stdout_is_capped(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=3, memory_mb=1536, log_kb=16)
    body = "import sys\n\ndef predict(f):\n    while True:\n        sys.stdout.write('y' * 65536)\n"
    result = run_python(tmp_path, work_dir, body, limits=limits)
    assert result.outcome is Outcome.TIMEOUT
    assert len(result.logs.encode()) < 16 * 1024 + 200
    assert "bytes of output dropped" in result.logs
    assert_still_scores(tmp_path, work_dir)


KILL_PARENT = """
import os
import signal


def predict(features):
    for pid in ({worker}, os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
            print("signalled", pid)
        except OSError as exc:
            print("blocked", pid, type(exc).__name__)
    os.kill(-1, signal.SIGKILL) if False else os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killing_the_parent_only_ends_the_model(tmp_path: Path, work_dir: Path) -> None:
    import os

    result = run_python(
        tmp_path,
        work_dir,
        KILL_PARENT.format(worker=os.getpid()),
        limits=Limits(time_s=20, memory_mb=1536),
    )
    assert result.outcome is Outcome.RUNTIME_ERROR
    assert "before it finished" in result.message
    assert f"blocked {os.getpid()} ProcessLookupError" in result.logs
    assert slot_processes() == {}
    assert_still_scores(tmp_path, work_dir)


SPREAD_MEMORY = """
import multiprocessing, time


def _hold(_):
    block = bytearray(300 * 1024 * 1024)
    block[:: 4096] = b"x" * len(block[:: 4096])
    time.sleep(30)


def predict(features):
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_hold, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""


def test_memory_spread_over_processes_is_bounded_for_the_whole_tree(
    tmp_path: Path, work_dir: Path
) -> None:
    """Each process stays under its rlimit; together they pass `memory_mb`: the host stops them."""
    limits = Limits(time_s=20, processes=16, memory_mb=640)
    result = run_python(tmp_path, work_dir, SPREAD_MEMORY, limits=limits)
    assert result.outcome is Outcome.MEMORY_EXCEEDED, result.message
    assert result.kpis["wall_time_s"] < 15
    assert_still_scores(tmp_path, work_dir)

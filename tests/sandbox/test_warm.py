"""Warm single-use jails: same results as a cold run, one job per jail, nothing reaches it early."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox
from sandbox import Limits, Outcome, SubmissionFormat
from sandbox.backends import threads_for
from sandbox.runtime import default_site_dirs
from sandbox.settings import get_settings
from sandbox.usage import tree
from sandbox.warm import POOL, AlreadyUsed, WarmJail, key_for

from .conftest import SAMPLES, python_model, request_for, slot_processes

pytestmark = pytest.mark.usefixtures("bwrap_available")
GOOD = "def predict(features):\n    return _good(features)\n"
HOST_WRITABLE_FS = {"tmpfs", "proc", "devtmpfs", "devpts"}
"""Writable mounts a jail may have besides /out: its own private tmpfs, /proc and device nodes."""


@pytest.fixture(autouse=True)
def empty_pool() -> Iterator[None]:
    """No warm jail survives a test."""
    POOL.close()
    yield
    POOL.close()


def _jail(request: sandbox.RunRequest) -> WarmJail:
    threads = threads_for(request.limits)
    return WarmJail(key_for(request, threads, get_settings()), get_settings())


def _runner_pid(jail: WarmJail, wait_s: float = 30.0) -> int:
    """The jailed interpreter (the deepest process of the jail's tree)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        pids = tree(jail.spawned.proc.pid)
        if len(pids) >= 3:
            return pids[-1]
        time.sleep(0.05)
    raise AssertionError("the warm jail's runner did not start")


@pytest.mark.parametrize(
    ("fmt", "model"),
    [(SubmissionFormat.SKLEARN, "sklearn.joblib"), (SubmissionFormat.PYTHON, "python_model.py")],
)
def test_warm_run_scores_like_a_cold_run(fmt: SubmissionFormat, model: str, work_dir: Path) -> None:
    request = request_for(SAMPLES / model, fmt, limits=Limits(time_s=60))
    cold = sandbox.run(request, work_dir=work_dir, warm=False)
    first = sandbox.run(request, work_dir=work_dir, warm=True)
    assert len(POOL.jails) == 1  # the next jail is prepared while the slot idles
    second = sandbox.run(request, work_dir=work_dir, warm=True)
    for result in (cold, first, second):
        assert result.outcome is Outcome.OK, result.message
    assert cold.predictions is not None
    for result in (first, second):
        assert result.predictions is not None
        assert result.predictions.equals(cold.predictions)
        assert "warm_wait" in result.timings
        assert result.kpis["cpu_time_s"] > 0 and result.kpis["peak_memory_mb"] > 0


def test_a_job_is_never_released_into_a_jail_that_ran_one(tmp_path: Path, work_dir: Path) -> None:
    request = request_for(python_model(tmp_path, GOOD), SubmissionFormat.PYTHON)
    jail = _jail(request)
    try:
        jail.release(request, 2)
        with pytest.raises(AlreadyUsed):
            jail.release(request, 2)
    finally:
        jail.close()
    # the pool never hands out a used jail, and a run always ends its jail
    sandbox.run(request, work_dir=work_dir, warm=True)
    prepared = POOL.jails[0]
    prepared_pid = prepared.spawned.proc.pid
    prepared.used = True
    assert POOL.take(prepared.key, 600) is None
    assert prepared not in POOL.jails
    with pytest.raises(ProcessLookupError):
        os.kill(prepared_pid, 0)
    assert slot_processes() == {}


def test_each_warm_run_gets_a_new_jail_and_leaves_nothing(tmp_path: Path, work_dir: Path) -> None:
    marker = """
import os
def predict(features):
    os.makedirs('/tmp/seen', exist_ok=True)
    before = sorted(os.listdir('/tmp/seen')) + sorted(os.listdir('/out'))
    open('/tmp/seen/' + str(os.getpid()), 'w').close()
    print('BEFORE', before, 'PID', os.getpid(), 'PROCS', sorted(
        p for p in os.listdir('/proc') if p.isdigit()))
    return _good(features)
"""
    request = request_for(python_model(tmp_path, marker), SubmissionFormat.PYTHON)
    logs = []
    for _ in range(3):
        result = sandbox.run(request, work_dir=work_dir, warm=True)
        assert result.outcome is Outcome.OK, result.message
        logs.append(result.logs)
    for log in logs:
        assert "BEFORE []" in log  # no file of an earlier job, in /tmp or /out
        assert "PROCS ['1', '2']" in log  # bwrap's init and the runner: nothing else
    POOL.close()
    assert slot_processes() == {}


def test_nothing_reaches_a_warm_jail_before_its_release(tmp_path: Path, work_dir: Path) -> None:
    request = request_for(python_model(tmp_path, GOOD), SubmissionFormat.PYTHON)
    jail = _jail(request)
    try:
        pid = _runner_pid(jail)
        # its only writable host folder is its own output folder, private to its slot uid
        writable = []
        for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
            fields = line.split()
            fs_type = fields[fields.index("-") + 1]
            if fields[5].startswith("rw") and fs_type not in HOST_WRITABLE_FS:
                writable.append((fields[3], fields[4]))
        assert writable == [(str(jail.run_dir.out), "/out")]
        out = jail.run_dir.out.stat()
        assert (out.st_uid, out.st_mode & 0o777) == (jail.identity.uid, 0o700)
        job = jail.run_dir.job.stat()
        assert job.st_uid == os.getuid() and job.st_mode & 0o022 == 0
        assert list(jail.run_dir.job.iterdir()) == []  # nothing staged before the release
        # the runner has no socket, and one pipe to read: the release pipe, whose only write end
        # is this process's
        readable = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
            flags = int(info.split("flags:")[1].split()[0], 8)
            assert not target.startswith("socket:"), (fd, target)
            if target.startswith("pipe:") and flags & os.O_ACCMODE != os.O_WRONLY:
                readable.append(target)
        assert len(readable) == 1
        assert readable[0] == os.readlink(f"/proc/self/fd/{jail._go_w}")
        # another team's jail (another slot uid, running now) cannot find or touch it
        attacker = f"""
import os, signal
def predict(features):
    found = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
    print('FOUND', found)
    for pid in range(3, 4096):  # anything beyond its own init and runner (threads included)
        if str(pid) not in os.listdir('/proc/self/task'):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for target in ({str(jail.run_dir.job)!r}, {str(jail.run_dir.out)!r}, '/proc/{pid}'):
        try:
            open(target + '/x', 'w')
            print('WROTE', target)
        except OSError:
            pass
    return _good(features)
"""
        attack = request_for(python_model(tmp_path, attacker, "attack.py"), SubmissionFormat.PYTHON)
        result = sandbox.run(attack, work_dir=work_dir, warm=False)
        assert result.outcome is Outcome.OK, result.message
        assert "FOUND [1, 2]" in result.logs
        assert "WROTE" not in result.logs
        assert jail.alive() and not jail.used
        assert list(jail.run_dir.job.iterdir()) == []
        assert list(jail.run_dir.out.iterdir()) == []
    finally:
        jail.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_stale_or_changed_warm_jail_is_replaced(
    tmp_path: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = request_for(python_model(tmp_path, GOOD), SubmissionFormat.PYTHON)
    assert sandbox.run(request, work_dir=work_dir, warm=True).outcome is Outcome.OK

    def replaced() -> bool:
        old = POOL.jails[0]
        result = sandbox.run(request, work_dir=work_dir, warm=True)
        assert result.outcome is Outcome.OK, result.message
        return old.watched and old not in POOL.jails and result.timings["warm_wait"] < 5

    # too old: destroyed, never used
    monkeypatch.setenv("MLCHALLENGE_SANDBOX_WARM_MAX_IDLE_S", "0")
    get_settings.cache_clear()
    try:
        assert replaced()
    finally:
        monkeypatch.delenv("MLCHALLENGE_SANDBOX_WARM_MAX_IDLE_S")
        get_settings.cache_clear()
    # settings changed
    monkeypatch.setenv("MLCHALLENGE_SANDBOX_PARSE_S", "59")
    get_settings.cache_clear()
    try:
        old = POOL.jails[0]
        assert replaced()
        assert old.key.settings != POOL.jails[0].key.settings
    finally:
        monkeypatch.delenv("MLCHALLENGE_SANDBOX_PARSE_S")
        get_settings.cache_clear()
    # runtime changed (a package installed into the site folder)
    site = default_site_dirs()[0]
    stamp = site.stat()
    os.utime(site, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    try:
        assert replaced()
    finally:
        os.utime(site, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))


def test_a_jail_of_another_shape_is_not_used(tmp_path: Path, work_dir: Path) -> None:
    request = request_for(python_model(tmp_path, GOOD), SubmissionFormat.PYTHON)
    assert sandbox.run(request, work_dir=work_dir, warm=True).outcome is Outcome.OK
    other = request_for(SAMPLES / "sklearn.joblib", SubmissionFormat.SKLEARN)
    key = key_for(other, threads_for(other.limits), get_settings())
    assert key.preload and POOL.take(key, 600) is None
    assert len(POOL.jails) == 1  # kept for a job of its own shape


def test_a_warm_jail_that_died_while_waiting_is_replaced(tmp_path: Path, work_dir: Path) -> None:
    request = request_for(python_model(tmp_path, GOOD), SubmissionFormat.PYTHON)
    assert sandbox.run(request, work_dir=work_dir, warm=True).outcome is Outcome.OK
    waiting = POOL.jails[0]
    os.kill(_runner_pid(waiting), 9)
    waiting.spawned.proc.wait(timeout=30)
    result = sandbox.run(request, work_dir=work_dir, warm=True)
    assert result.outcome is Outcome.OK, result.message
    assert waiting.watched and waiting not in POOL.jails

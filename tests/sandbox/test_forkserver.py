"""The fork server: same results as a cold run, and a run sees no trace of an earlier one (files,
processes, environment, memory contents, descriptors, namespaces), nor the server itself."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import sandbox
from sandbox import Limits, Outcome, SubmissionFormat
from sandbox.backends import threads_for
from sandbox.forkserver import SERVERS, eligible
from sandbox.runtime import resolve_runtime
from sandbox.settings import get_settings
from sandbox.usage import tree
from sandbox.warm import key_for
from tests.polling import wait_until

from .conftest import SAMPLES, python_model, request_for, slot_processes

pytestmark = pytest.mark.usefixtures("bwrap_available")
PYTHON = SubmissionFormat.PYTHON
PRIVATE_FS = {"tmpfs", "proc", "devtmpfs", "devpts"}
"""Writable mounts a run may have besides /out: its own tmpfs, /proc and device nodes."""
NAMESPACES = ("user", "mnt", "pid", "ipc", "uts", "net", "cgroup")


@pytest.fixture(autouse=True)
def no_servers() -> Iterator[None]:
    """No fork server survives a test."""
    SERVERS.close()
    yield
    SERVERS.close()


def _server_pid() -> int:
    (server,) = SERVERS.servers.values()
    return server.server_pid


def _report(logs: str) -> dict[str, Any]:
    """The JSON line a probe model printed."""
    for line in logs.splitlines():
        if line.startswith("REPORT "):
            report: dict[str, Any] = json.loads(line[len("REPORT ") :])
            return report
    raise AssertionError(f"no report in the run's logs:\n{logs}")


@pytest.mark.parametrize(
    ("fmt", "model"),
    [(SubmissionFormat.SKLEARN, "sklearn.joblib"), (SubmissionFormat.PYTHON, "python_model.py")],
)
def test_forked_runs_score_like_a_cold_run(
    fmt: SubmissionFormat, model: str, work_dir: Path
) -> None:
    request = request_for(SAMPLES / model, fmt, limits=Limits(time_s=60))
    cold = sandbox.run(request, work_dir=work_dir, fork=False, warm=False)
    forked = [sandbox.run(request, work_dir=work_dir, fork=True) for _ in range(3)]
    assert len(SERVERS.servers) == 1  # one server served the three runs
    assert cold.outcome is Outcome.OK and cold.predictions is not None, cold.message
    for result in forked:
        assert result.outcome is Outcome.OK, result.message
        assert result.predictions is not None and result.predictions.equals(cold.predictions)
        assert result.kpis["cpu_time_s"] > 0 and result.kpis["peak_memory_mb"] > 0
        assert "warm_wait" not in result.timings  # it did not take the warm path


TRACE = """
import ctypes, hashlib, os, socket, subprocess, sys, time
import numpy

SECRET = hashlib.sha256(b"fork-server-trace").hexdigest().encode()
KEEP = []


def predict(features):
    # files in every writable place
    for folder in ("/tmp", "/dev/shm", "/out", os.path.expanduser("~")):
        with open(os.path.join(folder, "trace"), "wb") as handle:
            handle.write(SECRET)
    # a descriptor left open and inheritable
    fd = os.open("/tmp/trace", os.O_RDONLY)
    os.set_inheritable(fd, True)
    # the environment, and module state of the process
    os.environ["TRACE"] = SECRET.decode()
    numpy.fork_server_trace = SECRET
    sys.fork_server_trace = SECRET
    # memory: many copies of the secret on the heap and in an anonymous mapping
    KEEP.append(SECRET * 100_000)
    buffer = ctypes.create_string_buffer(SECRET * 10_000)
    KEEP.append(buffer)
    # a listener on an abstract unix socket, and a process that detaches and lingers
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\\0fork-server-trace")
    listener.listen(1)
    KEEP.append(listener)
    subprocess.Popen(
        [sys.executable, "-c", "import os, time; os.setsid(); time.sleep(300)"],
        start_new_session=True, close_fds=False,
    )
    time.sleep(0.2)
    return _good(features)
"""

PROBE = '''
import hashlib, os, socket, sys
import numpy

SECRET = hashlib.sha256(b"fork-server-trace").hexdigest().encode()


def _namespaces():
    names = ("user", "mnt", "pid", "ipc", "uts", "net", "cgroup")
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in names}


def _copies_in_memory():
    """How many times the secret occurs in this process's memory (this module holds one)."""
    found = 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5].startswith("[v")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                found += mem.read(end - start).count(SECRET)
            except (OSError, OverflowError, ValueError):
                continue
    return found


def _descriptors():
    links = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            links[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return links


def predict(features):
    fds = _descriptors()
    files = {
        folder: sorted(os.listdir(folder))
        for folder in ("/tmp", "/dev/shm", "/out", os.path.expanduser("~"), "/jobs")
    }
    try:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect("\\0fork-server-trace")
        listener = "reached"
    except OSError:
        listener = "absent"
    report = {
        "files": files,
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "pid": os.getpid(),
        "env": sorted(os.environ),
        "trace_env": "TRACE" in os.environ,
        "module_state": hasattr(numpy, "fork_server_trace") or hasattr(sys, "fork_server_trace"),
        "fds": fds,
        "listener": listener,
        "copies": _copies_in_memory(),
        "namespaces": _namespaces(),
        "uid": os.getuid(),
    }
    print("REPORT " + __import__("json").dumps(report), flush=True)
    return _good(features)
'''


def test_a_run_sees_no_trace_of_an_earlier_run(tmp_path: Path, work_dir: Path) -> None:
    limits = Limits(time_s=60, memory_mb=1536)
    probe = request_for(python_model(tmp_path, PROBE, "probe.py"), SubmissionFormat.PYTHON)
    probe = request_for(probe.model_path, SubmissionFormat.PYTHON, limits=limits)
    trace = request_for(python_model(tmp_path, TRACE, "trace.py"), SubmissionFormat.PYTHON)
    trace = request_for(trace.model_path, SubmissionFormat.PYTHON, limits=limits)
    first = sandbox.run(probe, work_dir=work_dir, fork=True)
    assert first.outcome is Outcome.OK, first.message
    server = _server_pid()
    left = sandbox.run(trace, work_dir=work_dir, fork=True)
    assert left.outcome is Outcome.OK, left.message
    second = sandbox.run(probe, work_dir=work_dir, fork=True)
    assert second.outcome is Outcome.OK, second.message
    assert _server_pid() == server  # the same server forked all three runs
    before, after = _report(first.logs), _report(second.logs)
    assert after["files"] == {"/tmp": [], "/dev/shm": [], "/out": [], "/jobs": []}
    assert after["pids"] == [1, 2] and after["pid"] == 2  # its init and itself: nothing else
    assert after["env"] == before["env"] and not after["trace_env"]
    assert not after["module_state"]
    # standard streams and the status pipe (3), as in a cold run; nothing of the server's
    assert sorted(after["fds"]) == ["0", "1", "2", "3"], after["fds"]
    assert after["fds"]["0"] == "/dev/null"
    assert after["listener"] == "absent"
    # its own constant (and copies the scan itself makes); none of the 1.1 million left behind
    assert after["copies"] < 100, after["copies"]
    assert after["uid"] == before["uid"]
    # namespaces of its own, neither the server's nor the host's (an earlier run's are gone:
    # the kernel may give a later one the same number)
    for name in NAMESPACES:
        assert os.readlink(f"/proc/{server}/ns/{name}") != after["namespaces"][name], name
        assert os.readlink(f"/proc/self/ns/{name}") != after["namespaces"][name], name
    assert slot_processes() == {}  # the lingering process died with its run


def test_nothing_of_the_host_is_writable_but_the_runs_own_output(
    tmp_path: Path, work_dir: Path
) -> None:
    mounts = """
import os
def predict(features):
    top = {}  # the mount on top at each point: what a path there reaches
    for line in open('/proc/self/mountinfo'):
        fields = line.split()
        top[fields[4]] = [fields[5].split(',')[0], fields[fields.index('-') + 1]]
    print('REPORT', __import__('json').dumps({'top': top}), flush=True)
    return _good(features)
"""
    request = request_for(python_model(tmp_path, mounts), SubmissionFormat.PYTHON)
    result = sandbox.run(request, work_dir=work_dir, fork=True)
    assert result.outcome is Outcome.OK, result.message
    top: dict[str, list[str]] = _report(result.logs)["top"]
    writable = {point: kind for point, (mode, kind) in top.items() if mode == "rw"}
    host_backed = sorted(p for p, kind in writable.items() if kind not in PRIVATE_FS)
    assert host_backed == ["/out"]
    # its tmpfs are new ones, and every job folder of the server is covered by an empty one
    assert sorted(p for p, kind in writable.items() if kind == "tmpfs") == ["/dev/shm", "/tmp"]
    assert top["/jobs"] == ["ro", "tmpfs"]
    assert top["/job"][0] == "ro"


def test_a_killed_run_takes_its_server_and_the_next_run_gets_a_new_one(
    tmp_path: Path, work_dir: Path
) -> None:
    limits = Limits(time_s=3)
    good = python_model(tmp_path, "def predict(f):\n    return _good(f)\n")
    good_request = request_for(good, PYTHON, limits=limits)
    assert sandbox.run(good_request, work_dir=work_dir, fork=True).outcome is Outcome.OK
    first = _server_pid()
    slow = python_model(tmp_path, "import time\ndef predict(f):\n    time.sleep(60)\n", "slow.py")
    request = request_for(slow, SubmissionFormat.PYTHON, limits=limits)
    started = time.monotonic()
    result = sandbox.run(request, work_dir=work_dir, fork=True)
    assert result.outcome is Outcome.TIMEOUT, result.message
    assert time.monotonic() - started < 15
    assert next(iter(SERVERS.servers.values())).dead
    again = sandbox.run(good_request, work_dir=work_dir, fork=True)
    assert again.outcome is Outcome.OK, again.message
    assert _server_pid() != first
    with pytest.raises(ProcessLookupError):  # gone, and reaped
        os.kill(first, 0)
    assert slot_processes() == {}


def test_a_server_that_dies_during_a_run_is_a_platform_fault(
    tmp_path: Path, work_dir: Path
) -> None:
    good = request_for(python_model(tmp_path, "def predict(f):\n    return _good(f)\n"), PYTHON)
    assert sandbox.run(good, work_dir=work_dir, fork=True).outcome is Outcome.OK
    server = _server_pid()
    slow = python_model(tmp_path, "import time\ndef predict(f):\n    time.sleep(60)\n", "slow.py")
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(sandbox.run, request_for(slow, PYTHON), work_dir=work_dir, fork=True)
        wait_until(lambda: len(tree(server)) > 1, timeout=30, what="the run to be forked")
        os.kill(server, signal.SIGKILL)
        result = running.result(timeout=30)
    assert result.outcome is Outcome.INFRASTRUCTURE_ERROR, result.message
    assert "fork server ended" in result.message
    again = sandbox.run(good, work_dir=work_dir, fork=True)
    assert again.outcome is Outcome.OK, again.message
    assert _server_pid() != server
    assert slot_processes() == {}


def test_a_server_is_replaced_after_its_runs_and_when_settings_change(
    tmp_path: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = request_for(python_model(tmp_path, "def predict(f):\n    return _good(f)\n"), PYTHON)
    monkeypatch.setenv("MLCHALLENGE_SANDBOX_FORK_SERVER_RUNS", "2")
    get_settings.cache_clear()
    try:
        pids = []
        for _ in range(3):
            assert sandbox.run(good, work_dir=work_dir, fork=True).outcome is Outcome.OK
            pids.append(_server_pid())
        assert pids[0] == pids[1] != pids[2]  # two runs per server
        monkeypatch.setenv("MLCHALLENGE_SANDBOX_WARM_MAX_IDLE_S", "300")
        get_settings.cache_clear()
        assert sandbox.run(good, work_dir=work_dir, fork=True).outcome is Outcome.OK
        assert _server_pid() != pids[2]  # other settings: a new server
        assert len(SERVERS.servers) == 1
    finally:
        get_settings.cache_clear()


def test_gpu_torch_and_runtimes_under_tmp_are_not_forked() -> None:
    settings = get_settings()
    uid = settings.uid_base if os.getuid() == 0 else os.getuid()
    runtime = resolve_runtime(settings, uid, uid if os.getuid() == 0 else os.getgid())
    sklearn = request_for(SAMPLES / "sklearn.joblib", SubmissionFormat.SKLEARN)
    assert eligible(sklearn, runtime) == ""
    torch = request_for(SAMPLES / "torchscript.pt", SubmissionFormat.TORCHSCRIPT)
    assert "not forked" in eligible(torch, runtime)
    cuda = replace(sklearn, device="cuda")
    assert "device" in eligible(cuda, runtime)
    under_tmp = replace(runtime, mounts=(Path("/tmp/venv"),))
    assert "afresh" in eligible(sklearn, under_tmp)
    key = key_for(sklearn, threads_for(sklearn.limits), settings)
    assert key.preload  # a sklearn server imports scikit-learn once

"""Runner folders of killed workers: the next worker removes them, and never a live worker's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import Outcome
from sandbox.leftovers import process_tag, sweep
from sandbox.staging import RUNNER_FOLDER_BASE, RUNNER_PACKAGE
from tests.polling import runner_started, wait_until

# a worker: makes its runner folder, says where, and waits for a line (or to be killed); with
# `os._exit` it then exits at once without exit handlers, as multiprocessing and Celery children do
WORKER = (
    "import os, sys\n"
    "from sandbox.staging import runner_folder\n"
    "print(runner_folder(), flush=True)\n"
    "sys.stdin.readline()\n"
    "if sys.argv[1:] == ['os._exit']:\n"
    "    os._exit(0)\n"
)


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    """The workers' temp folder (their TMPDIR), so that the real /tmp is left alone."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.fixture
def workers(temp_dir: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def start_worker(
    temp_dir: Path, workers: list[subprocess.Popen[str]], *args: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        env={**os.environ, "TMPDIR": str(temp_dir)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers.append(process)
    return process


def folder_of(process: subprocess.Popen[str]) -> Path:
    """The runner folder the worker made (it has made it, and swept, once it says so)."""
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, process.stderr.read() if process.stderr else "no output"
    return Path(line)


def finish(process: subprocess.Popen[str]) -> None:
    """Let the worker exit normally and check that it did."""
    _, err = process.communicate("\n", timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def namespace() -> str:
    tag = process_tag()
    assert tag is not None, "this test needs /proc"
    return tag.split("-", 1)[0]


def test_a_killed_workers_folder_is_removed_by_the_next_worker(
    temp_dir: Path, workers: list[subprocess.Popen[str]]
) -> None:
    killed = start_worker(temp_dir, workers)
    left = folder_of(killed)
    assert left.parent == temp_dir and left.name.startswith(RUNNER_FOLDER_BASE)
    assert f"-{killed.pid}-" in left.name
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert (left / RUNNER_PACKAGE / "main.py").is_file(), "SIGKILL runs no exit handler"

    successor = start_worker(temp_dir, workers)
    own = folder_of(successor)
    assert not left.exists()
    assert (own / RUNNER_PACKAGE / "main.py").is_file()
    finish(successor)
    assert list(temp_dir.iterdir()) == []


def test_an_unreaped_child_that_skipped_its_exit_handlers_counts_as_gone(
    temp_dir: Path, workers: list[subprocess.Popen[str]]
) -> None:
    child = start_worker(temp_dir, workers, "os._exit")
    left = folder_of(child)
    assert child.stdin is not None
    child.stdin.write("\n")
    child.stdin.flush()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.02)
    assert left.is_dir(), "os._exit runs no exit handler"

    successor = start_worker(temp_dir, workers)
    folder_of(successor)
    assert not left.exists()
    finish(successor)
    child.wait(timeout=30)
    assert list(temp_dir.iterdir()) == []


def test_a_live_workers_folder_is_kept(
    temp_dir: Path, workers: list[subprocess.Popen[str]]
) -> None:
    first = start_worker(temp_dir, workers)
    kept = folder_of(first)
    second = start_worker(temp_dir, workers)
    other = folder_of(second)
    assert other != kept
    assert (kept / RUNNER_PACKAGE / "main.py").is_file()
    finish(second)
    assert (kept / RUNNER_PACKAGE / "main.py").is_file()
    assert not other.exists()
    finish(first)
    assert list(temp_dir.iterdir()) == []


def test_workers_starting_at_once_remove_each_stale_folder_once(
    temp_dir: Path, workers: list[subprocess.Popen[str]]
) -> None:
    pid = dead_pid()
    stale = [temp_dir / f"{RUNNER_FOLDER_BASE}{namespace()}-{pid}-1-x{i}" for i in range(30)]
    for folder in stale:
        (folder / RUNNER_PACKAGE).mkdir(parents=True)
        (folder / RUNNER_PACKAGE / "main.py").write_text("")
    started = [start_worker(temp_dir, workers) for _ in range(4)]
    own = [folder_of(process) for process in started]
    assert sorted(temp_dir.iterdir()) == sorted(own)
    for process in started:
        finish(process)
    assert list(temp_dir.iterdir()) == []


def test_the_sweep_tells_a_reused_pid_and_touches_nothing_else(tmp_path: Path) -> None:
    tag = process_tag()
    assert tag is not None
    ns, pid, start = tag.split("-")
    base = RUNNER_FOLDER_BASE
    mine = tmp_path / f"{base}{ns}-{pid}-{start}-live"
    reused = tmp_path / f"{base}{ns}-{pid}-{int(start) + 1}-old"  # a dead owner, same pid
    dead = tmp_path / f"{base}{ns}-{dead_pid()}-{start}-gone"
    elsewhere = tmp_path / f"{base}{int(ns) + 1}-{dead_pid()}-{start}-ns"  # another pid namespace
    old_style = tmp_path / f"{base}k2j4l_3a"  # unnamed owner: cannot tell, left alone
    other_tool = tmp_path / f"other-{ns}-{dead_pid()}-{start}-x"
    target = tmp_path / "target"
    linked = tmp_path / f"{base}{ns}-{dead_pid()}-{start}-link"
    a_file = tmp_path / f"{base}{ns}-{dead_pid()}-{start}-file"
    for folder in (mine, reused, dead, elsewhere, old_style, other_tool, target):
        (folder / "jail").mkdir(parents=True)
        (folder / "jail" / "main.py").write_text("")
    linked.symlink_to(target, target_is_directory=True)
    a_file.write_text("")
    for folder in (reused, dead):  # read-only trees, as staging leaves them
        (folder / "jail" / "main.py").chmod(0o444)
        (folder / "jail").chmod(0o555)
        folder.chmod(0o555)

    removed = sweep(tmp_path, base)

    assert sorted(removed) == sorted([reused, dead])
    assert not reused.exists() and not dead.exists()
    for kept in (mine, elsewhere, old_style, other_tool, target):
        assert (kept / "jail" / "main.py").is_file(), kept
    assert linked.is_symlink() and a_file.is_file()
    assert sweep(tmp_path, base) == []


def test_the_sweep_survives_a_folder_it_cannot_list(tmp_path: Path) -> None:
    assert sweep(tmp_path / "missing", RUNNER_FOLDER_BASE) == []


# a worker in the middle of a run: its model sleeps until the test kills the whole group
RUNNING_WORKER = """
import sys
from pathlib import Path
import sandbox
from tests.sandbox.conftest import request_for
from sandbox import Limits, SubmissionFormat

model, work_dir = Path(sys.argv[1]), Path(sys.argv[2])
request = request_for(model, SubmissionFormat.PYTHON, limits=Limits(time_s=120))
sandbox.run(request, work_dir=work_dir)
"""


def test_run_folders_of_a_killed_worker_are_removed_by_the_next_run(
    base: Path, work_dir: Path
) -> None:
    from tests.sandbox.conftest import python_model, run_python

    model = python_model(base, "import time\ndef predict(features):\n    time.sleep(300)\n")
    os.chmod(model, 0o644)
    worker = subprocess.Popen(
        [sys.executable, "-c", RUNNING_WORKER, str(model), str(work_dir)],
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )
    try:
        # the model is sleeping in its jail once the runner is up (it predicts at once)
        wait_until(lambda: runner_started(worker.pid), timeout=60, what="the model's jail")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    left = list(work_dir.glob("mlchallenge-run-*"))
    assert len(left) == 1, left
    # a run in this process sweeps the work folder first
    result = run_python(base, work_dir, "def predict(features):\n    return _good(features)\n")
    assert result.outcome is Outcome.OK, result.message
    assert list(work_dir.glob("mlchallenge-run-*")) == []

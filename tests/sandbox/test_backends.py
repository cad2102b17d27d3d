"""Backends: bwrap by default, `process` on request only, refusal, cancel, concurrency."""

from __future__ import annotations

import glob
import multiprocessing
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox
from sandbox import Limits, Outcome, SubmissionFormat
from sandbox.formats import FORMATS
from sandbox.settings import get_settings
from tests.polling import jail_processes, runner_started, wait_until

from .conftest import (
    assert_still_scores,
    python_model,
    request_for,
    run_python,
    slot_processes,
)


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend bubblewrap is not installed."""
    monkeypatch.setenv("MLCHALLENGE_SANDBOX_BWRAP", "/nonexistent/bwrap")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_both_backends_are_usable_here() -> None:
    assert sandbox.available_backends() == {"bwrap": "", "process": ""}


def test_without_bwrap_code_formats_are_refused_but_predictions_still_score(no_bwrap: None) -> None:
    reasons = sandbox.available_backends()
    assert "apt-get install bubblewrap" in reasons["bwrap"]
    spec = FORMATS[SubmissionFormat.SKLEARN]
    refused = sandbox.run(request_for(spec.sample_path, spec.format))
    assert refused.outcome is Outcome.INFRASTRUCTURE_ERROR
    assert "apt-get install bubblewrap" in refused.message
    assert "refused without a sandbox" in refused.message
    predictions = FORMATS[SubmissionFormat.PREDICTIONS]
    scored = sandbox.run(request_for(predictions.sample_path, predictions.format))
    assert scored.outcome is Outcome.OK


def test_an_unknown_backend_is_an_infrastructure_error() -> None:
    spec = FORMATS[SubmissionFormat.SKLEARN]
    result = sandbox.run(request_for(spec.sample_path, spec.format), backend="docker")
    assert result.outcome is Outcome.INFRASTRUCTURE_ERROR
    assert "use one of: bwrap, process" in result.message


def test_the_process_backend_runs_only_when_asked_and_warns(tmp_path: Path, work_dir: Path) -> None:
    model = python_model(
        tmp_path,
        "import os\n\ndef predict(f):\n    print('uid', os.getuid())\n    return _good(f)\n",
    )
    with pytest.warns(RuntimeWarning, match="SANDBOX BACKEND 'process' IN USE"):
        result = sandbox.run(
            request_for(model, SubmissionFormat.PYTHON), backend="process", work_dir=work_dir
        )
    assert result.outcome is Outcome.OK, result.message
    uid = int(re.search(r"uid (\d+)", result.logs).group(1))  # type: ignore[union-attr]
    assert uid >= get_settings().uid_base


def test_cancel_kills_the_run(tmp_path: Path, work_dir: Path) -> None:
    model = python_model(tmp_path, "import time\n\ndef predict(f):\n    time.sleep(600)\n")
    started = time.monotonic()
    result = sandbox.run(
        request_for(model, SubmissionFormat.PYTHON, limits=Limits(time_s=60)),
        work_dir=work_dir,
        should_cancel=lambda: time.monotonic() - started > 1.5,
    )
    assert result.outcome is Outcome.CANCELLED
    assert time.monotonic() - started < 5
    assert_still_scores(tmp_path, work_dir)


UID_SLEEP = """
import os
import time


def predict(f):
    print("uid", os.getuid())
    time.sleep(1.5)
    return _good(f)
"""


def _run_in_worker(args: tuple[str, str]) -> tuple[str, str]:
    model, work_dir = args
    result = sandbox.run(request_for(Path(model), SubmissionFormat.PYTHON), work_dir=Path(work_dir))
    return str(result.outcome), result.logs


def test_concurrent_runs_from_two_processes_get_distinct_uids(
    tmp_path: Path, work_dir: Path
) -> None:
    models = []
    for index in range(2):
        folder = tmp_path / f"team{index}"
        folder.mkdir()
        models.append((str(python_model(folder, UID_SLEEP)), str(work_dir)))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_run_in_worker, models)
    assert [outcome for outcome, _ in results] == ["ok", "ok"]
    uids = {re.search(r"uid (\d+)", logs).group(1) for _, logs in results}  # type: ignore[union-attr]
    assert len(uids) == 2


def test_the_check_command_reports_a_working_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox.__main__ import main

    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "[ok] backend bwrap: usable" in out
    assert "[ok] sample sklearn model on cpu in the bwrap backend: ok" in out
    if glob.glob("/dev/nvidia[0-9]*"):
        assert "[ok] sample torchscript model on cuda in the bwrap backend: ok" in out
    else:
        assert "[ok] gpu: no NVIDIA device (/dev/nvidia*)" in out


def test_run_python_helper_uses_the_default_backend(tmp_path: Path, work_dir: Path) -> None:
    result = run_python(tmp_path, work_dir, "def predict(f):\n    return _good(f)\n")
    assert result.outcome is Outcome.OK


def test_packages_installed_under_tmp_stay_visible_in_the_jail(
    tmp_path: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform checked out under /tmp: its packages are bound above the jail's private /tmp."""
    import json
    import shutil
    import tempfile

    from sandbox.runtime import default_site_dirs

    extra = Path(tempfile.mkdtemp(prefix="mlc-site-", dir="/tmp"))
    try:
        extra.chmod(0o755)
        (extra / "probe_module_under_tmp.py").write_text("VALUE = 1\n")
        (extra / "probe_module_under_tmp.py").chmod(0o644)
        sites = [str(p) for p in default_site_dirs()] + [str(extra)]
        monkeypatch.setenv("MLCHALLENGE_SANDBOX_SITE_PACKAGES", json.dumps(sites))
        get_settings.cache_clear()
        result = run_python(
            tmp_path,
            work_dir,
            "import probe_module_under_tmp\n\ndef predict(f):\n    return _good(f)\n",
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        shutil.rmtree(extra)
    assert result.outcome is Outcome.OK, (result.message, result.logs)


def _exited_slot_children() -> list[int]:
    """Exited (zombie) processes of slot uids whose parent is this test process."""
    settings = get_settings()
    slot_uids = range(settings.uid_base, settings.uid_base + settings.slots)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            lines = (entry / "status").read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        zombie = fields.get("State", "").split()[:1] == ["Z"]
        mine = fields.get("PPid", "").strip() == str(os.getpid())
        if zombie and mine and int(fields["Uid"].split()[0]) in slot_uids:
            found.append(int(entry.name))
    return found


KILLED_WORKER = """
import sys
import sandbox
from tests.sandbox.conftest import request_for
from sandbox import SubmissionFormat
from pathlib import Path
sandbox.run(request_for(Path(sys.argv[1]), SubmissionFormat.PYTHON), work_dir=Path(sys.argv[2]))
"""


def test_jails_of_a_killed_worker_are_reaped(tmp_path: Path, work_dir: Path) -> None:
    """A worker killed mid-run leaves its jail to the nearest subreaper, which must reap it."""
    import subprocess
    import sys

    assert_still_scores(tmp_path, work_dir)  # this process is now a subreaper, like a worker
    model = python_model(tmp_path, "import time\n\ndef predict(f):\n    time.sleep(60)\n")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, str(model), str(work_dir)],
        cwd=Path(__file__).resolve().parents[2],
    )
    wait_until(lambda: runner_started(child.pid), timeout=60, what="the jail's runner")
    child.kill()
    child.wait()
    # bwrap dies with its parent; its jail is re-parented to this process, a subreaper
    wait_until(lambda: not jail_processes(os.getpid()), timeout=30, what="the jail to exit")
    after = run_python(tmp_path, work_dir, "def predict(f):\n    return _good(f)\n")
    assert after.outcome is Outcome.OK
    assert _exited_slot_children() == []
    assert slot_processes() == {}


@pytest.mark.parametrize("cancel_after_s", [0.0, 0.3, 1.0])
def test_runs_leave_no_zombies_behind(
    tmp_path: Path, work_dir: Path, cancel_after_s: float
) -> None:
    """The worker is a subreaper: every jail process re-parented to it must be reaped."""
    model = python_model(tmp_path, "import time\n\ndef predict(f):\n    time.sleep(60)\n")
    started = time.monotonic()
    result = sandbox.run(
        request_for(model, SubmissionFormat.PYTHON),
        work_dir=work_dir,
        should_cancel=lambda: time.monotonic() - started > cancel_after_s,
    )
    assert result.outcome is Outcome.CANCELLED
    # whatever of the jail still runs ends as a child of this process: wait until none runs
    wait_until(lambda: not jail_processes(os.getpid()), timeout=30, what="the jail to exit")
    assert _exited_slot_children() == []

"""Fixtures for the sandbox tests: a small task, secrets outside the jail, and a runner helper."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sandbox
from sandbox import Limits, Outcome, RunRequest, RunResult, SubmissionFormat
from sandbox.forkserver import SERVERS
from sandbox.samples.generate import CLASSES, ID_COLUMN, TARGET
from sandbox.settings import get_settings
from sandbox.slots import stray_processes
from sandbox.warm import POOL

SAMPLES = Path(sandbox.__file__).parent / "samples"
SECRET = "TOP-SECRET-LABELS-7f3a9c"
FAST = Limits(time_s=20, memory_mb=1536, processes=32, log_kb=32, tmp_mb=32, output_mb=16)


ATTACK_MODULES = "test_attacks_"
"""Every test of these modules runs on each path: a cold jail, a warm one, a fork server's child
(docs/sandbox.md)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each attack test on every path: a cold jail, a warm jail, a fork server's child."""
    if metafunc.module.__name__.rsplit(".", 1)[-1].startswith(ATTACK_MODULES):
        metafunc.parametrize("jail_path", list(PATH_SETTINGS), indirect=True, scope="module")


PATH_SETTINGS = {
    "cold": "",
    "warm": "MLCHALLENGE_SANDBOX_WARM",
    "fork": "MLCHALLENGE_SANDBOX_FORK_SERVER",
}
"""Each path a code run can take, and the setting that turns it on."""


@pytest.fixture(scope="module", autouse=True)
def jail_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """`warm`: `sandbox.run` uses warm single-use jails (MLCHALLENGE_SANDBOX_WARM) in this test;
    `fork`: it uses this process's fork server (MLCHALLENGE_SANDBOX_FORK_SERVER)."""
    path = getattr(request, "param", "cold")
    variable = PATH_SETTINGS[path]
    if not variable:
        yield path
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, "1")
        get_settings.cache_clear()
        try:
            yield path
        finally:
            POOL.close()
            SERVERS.close()
            patch.delenv(variable)
            get_settings.cache_clear()


@pytest.fixture
def bwrap_available() -> None:
    """Skip a test of the bwrap backend where bwrap cannot run (it says why)."""
    why = sandbox.available_backends()["bwrap"]
    if why:
        pytest.skip(why)


@dataclass(frozen=True)
class Host:
    """Files on the host that the jail must never see."""

    root: Path
    labels: Path
    data_dir: Path
    other_submission: Path


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder under /tmp that every uid can traverse (pytest's own tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="mlc-sandbox-test-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def host(base: Path) -> Host:
    """A fake data dir with hidden labels and another team's submission, readable but outside."""
    root = base / "host"
    data_dir = root / "data" / "competition"
    data_dir.mkdir(parents=True)
    labels = data_dir / "test_labels.csv"
    labels.write_text(f"id,label\n10000,{SECRET}\n")
    (data_dir / "train.csv").write_text(f"secret,{SECRET}\n")
    other = root / "submissions" / "team-b" / "model.py"
    other.parent.mkdir(parents=True)
    other.write_text(f"# {SECRET}\n")
    for path in (root, root / "data", data_dir, other.parent.parent, other.parent):
        os.chmod(path, 0o755)
    for path in (labels, other, data_dir / "train.csv"):
        os.chmod(path, 0o644)
    return Host(root, labels, data_dir, other)


@pytest.fixture
def work_dir(base: Path) -> Path:
    """A scratch parent the slot uids can traverse."""
    folder = base / "work"
    folder.mkdir()
    os.chmod(folder, 0o711)
    return folder


def request_for(
    model: Path,
    fmt: SubmissionFormat,
    *,
    limits: Limits = FAST,
    train: bool = False,
    task: str = "binary",
) -> RunRequest:
    """A request on the sample task."""
    return RunRequest(
        model_path=model,
        format=fmt,
        features_path=SAMPLES / "features.parquet",
        id_column=ID_COLUMN,
        target=TARGET,
        task=task,
        classes=list(CLASSES) if task == "binary" else None,
        train_path=SAMPLES / "train.parquet" if train else None,
        limits=limits,
    )


GOOD_PREDICT = """
def _good(features):
    return (features["f0"] > 0).astype(int).to_numpy()
"""


def python_model(tmp_path: Path, body: str, name: str = "model.py") -> Path:
    """Write a `python` submission whose source is `body` (dedented) plus a `_good` helper."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(GOOD_PREDICT) + textwrap.dedent(body))
    return path


def run_python(
    tmp_path: Path, work_dir: Path, body: str, *, limits: Limits = FAST, task: str = "binary"
) -> RunResult:
    """Run a `python` submission in the default (bwrap) backend."""
    model = python_model(tmp_path, body)
    return sandbox.run(
        request_for(model, SubmissionFormat.PYTHON, limits=limits, task=task), work_dir=work_dir
    )


def slot_processes() -> dict[int, list[int]]:
    """Processes alive under a slot uid whose slot is free (other runs may hold slots)."""
    settings = get_settings()
    return stray_processes(settings.lock_dir, settings.uid_base, settings.slots)


def assert_still_scores(tmp_path: Path, work_dir: Path) -> None:
    """After an attack: nothing of the jail is left and a normal submission still scores."""
    assert slot_processes() == {}
    result = run_python(tmp_path, work_dir, "def predict(features):\n    return _good(features)\n")
    assert result.outcome is Outcome.OK, result.message
    assert result.predictions is not None and len(result.predictions) == 50

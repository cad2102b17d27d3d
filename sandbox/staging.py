"""The per-run scratch folder: a read-only job folder and a writable output folder."""

from __future__ import annotations

import atexit
import compileall
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .archive import extract_zip
from .bounded import ChildFailed, Failure, call_bounded
from .contract import RunRequest, SubmissionRejected
from .jail.protocol import SubmissionFormat
from .leftovers import owned_prefix, remove_tree, sweep
from .settings import get_settings

JAIL_PACKAGE = Path(__file__).resolve().parent / "jail"
RUNNER_PACKAGE = "jail"
RUNNER_FOLDER_BASE = "mlchallenge-runner-"


@dataclass(frozen=True)
class RunDir:
    """Host paths of one run's scratch folder."""

    root: Path
    job: Path
    out: Path
    tmp: Path

    @property
    def model(self) -> Path:
        """The model folder (an extracted archive, or one file)."""
        return self.job / "model"

    @property
    def runner(self) -> Path:
        """The folder holding the runner package (shared by the runs of this process)."""
        return runner_folder()


def runner_folder() -> Path:
    """A read-only copy of the runner package with its bytecode, made once per process.

    The folder is named after this process (a forked child makes its own) and removed at exit; a
    process killed before its exit handlers run leaves it behind, and the next process that makes
    its own removes it.
    """
    return _runner_folder(os.getpid())


@lru_cache(maxsize=1)
def _runner_folder(pid: int) -> Path:
    parent = Path(tempfile.gettempdir())
    sweep(parent, RUNNER_FOLDER_BASE)
    folder = Path(tempfile.mkdtemp(prefix=owned_prefix(RUNNER_FOLDER_BASE), dir=parent))
    shutil.copytree(
        JAIL_PACKAGE, folder / RUNNER_PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )
    # the jail runs with -B and never writes bytecode: compile it here, once (same Python minor)
    compileall.compile_dir(folder / RUNNER_PACKAGE, quiet=2, workers=1)
    _readable_tree(folder)
    atexit.register(_remove_at_exit, folder, pid)
    return folder


def _remove_at_exit(folder: Path, owner: int) -> None:
    if os.getpid() != owner:
        return  # a forked child that exits normally leaves its parent's folder alone
    with contextlib.suppress(OSError):  # else the next process to make its folder tries again
        remove_tree(folder)


def etc_files(uid: int, gid: int) -> dict[str, bytes]:
    """The jail's /etc/passwd, /etc/group and /etc/hosts."""
    return {
        "passwd": (
            "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"sandbox:x:{uid}:{gid}:sandbox:/tmp:/usr/sbin/nologin\n"
        ).encode(),
        "group": f"root:x:0:\nsandbox:x:{gid}:\n".encode(),
        "hosts": b"127.0.0.1 localhost\n::1 localhost\n",
    }


def model_file(request: RunRequest, run_dir: RunDir) -> Path:
    """Where the model lands in the job folder: the extracted folder, or `model<suffix>`."""
    if request.model_path.suffix.lower() == ".zip":
        return run_dir.model
    if request.format is SubmissionFormat.PYTHON:
        return run_dir.model / "model.py"
    return run_dir.model / f"model{request.model_path.suffix.lower()}"


def unpack(archive: Path, dest: Path) -> None:
    """Extract an uploaded zip in a bounded child: its central directory alone can hold a million
    entries (a 30 MB upload that costs a parser 250 MB), so the worker never parses it itself."""
    settings = get_settings()
    try:
        call_bounded(
            lambda: str(extract_zip(archive, dest)).encode(),
            memory_mb=settings.parse_mb,
            time_s=settings.parse_s,
            max_reply=64,
            expected=(SubmissionRejected,),
        )
    except ChildFailed as exc:
        if exc.failure is Failure.MEMORY:
            raise SubmissionRejected(
                f"the archive needs more than {settings.parse_mb} MB of memory to unpack "
                "(too many entries?); zip only the model's files"
            ) from None
        if exc.failure is Failure.TIME:
            raise SubmissionRejected(
                f"unpacking the archive took longer than {settings.parse_s:g} s"
            ) from None
        raise SubmissionRejected(f"the archive cannot be unpacked: {exc}") from None


def _readable_tree(folder: Path) -> None:
    for current, dirs, files in os.walk(folder):
        os.chmod(current, 0o755)
        for name in dirs:
            os.chmod(Path(current) / name, 0o755)
        for name in files:
            os.chmod(Path(current) / name, 0o644)


def stage(request: RunRequest, root: Path, *, uid: int, gid: int) -> RunDir:
    """Copy the model, features and runner into `root` with the modes the slot uid needs."""
    run_dir = scratch_dirs(root, uid=uid, gid=gid)
    fill_job(request, run_dir)
    return run_dir


def scratch_dirs(root: Path, *, uid: int, gid: int) -> RunDir:
    """Empty run folders: `job` (root's, read-only to the slot), `out` and `tmp` (the slot's)."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o711)
    run_dir = RunDir(root=root, job=root / "job", out=root / "out", tmp=root / "tmp")
    run_dir.job.mkdir(mode=0o755)
    os.chmod(run_dir.job, 0o755)
    for folder in (run_dir.out, run_dir.tmp):
        folder.mkdir(mode=0o700)
        if os.getuid() == 0:
            os.chown(folder, uid, gid)
    return run_dir


def fill_job(request: RunRequest, run_dir: RunDir) -> None:
    """Stage one job into the (empty) job folder: the model, the features, the training data."""
    run_dir.model.mkdir()
    if request.model_path.suffix.lower() == ".zip":
        unpack(request.model_path, run_dir.model)
    else:
        if not request.model_path.is_file():
            raise SubmissionRejected(f"the model file {request.model_path.name} does not exist")
        shutil.copyfile(request.model_path, model_file(request, run_dir))
    link_or_copy(request.features_path, run_dir.job / "features.parquet")
    if request.train_path is not None:
        link_or_copy(request.train_path, run_dir.job / "train.parquet")
    _readable_tree(run_dir.job)


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link a data file of the platform into a job folder (a 1M-row table is not copied per
    run) when it is readable by everyone already, else (or across file systems) copy it. The jail
    sees it read-only either way: the job folder is bound read-only."""
    with contextlib.suppress(OSError):
        if source.stat().st_mode & 0o004:
            os.link(source, target)
            return
    shutil.copyfile(source, target)

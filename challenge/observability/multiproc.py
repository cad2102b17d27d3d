"""The folder where every process of one machine writes its metrics (prometheus_client's
multiprocess mode), chosen before `prometheus_client` is imported.

`mlchallenge api` and `mlchallenge worker` run several processes (uvicorn workers, Celery's
prefork pool); each writes its counters and histograms to files in one folder and a scrape of any
of them adds the files up. When `PROMETHEUS_MULTIPROC_DIR` is set, its owner (`mlchallenge serve`,
or an operator) empties it before the processes start; otherwise each command makes a private
folder in the temporary directory, and removes the folders that dead commands left behind.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "mlchallenge-metrics-"


def active_dir() -> Path | None:
    """The folder of this process group's metrics, if multiprocess mode is on."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def ensure_dir(role: str) -> Path:
    """Turn on multiprocess mode for this process and the processes it starts."""
    existing = active_dir()
    if existing is not None:
        existing.mkdir(parents=True, exist_ok=True)
        return existing
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            f"{ENV} must be set before prometheus_client is imported; call ensure_dir() first"
        )
    parent = Path(tempfile.gettempdir())
    _sweep(parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{role}-{os.getpid()}-", dir=parent))
    os.environ[ENV] = str(folder)
    owner = os.getpid()
    atexit.register(_remove, folder, owner)
    return folder


def fresh_dir(role: str) -> Path:
    """A new empty folder for processes started later (by `mlchallenge serve`); removed at exit."""
    parent = Path(tempfile.gettempdir())
    _sweep(parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{role}-{os.getpid()}-", dir=parent))
    atexit.register(_remove, folder, os.getpid())
    return folder


def _remove(folder: Path, owner: int) -> None:
    if os.getpid() == owner:  # forked children run atexit too; only the owner removes
        shutil.rmtree(folder, ignore_errors=True)


def _sweep(parent: Path) -> None:
    """Remove the folders of commands that died without cleaning up (killed with -9)."""
    for folder in parent.glob(f"{PREFIX}*-*-*"):
        try:
            pid = int(folder.name[len(PREFIX) :].split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

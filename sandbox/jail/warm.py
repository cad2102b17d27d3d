"""The warm runner: import the libraries first, wait for the host's release, then run one job.

A warm jail is started while a worker slot idles, with the namespaces, view, uid and limits of a
normal run but an empty job folder. This process imports what every run needs (and the libraries
of the formats the competition accepts), then blocks on the release pipe. The host stages the job
into the (read-only) job folder and writes one byte: the runner reads the job spec, runs it once
and exits. An end of file instead of the byte means the jail was discarded: it exits at once.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import NoReturn

from .main import run

BASE_MODULES = ("pyarrow.parquet",)
"""What every run imports besides the runner's own modules (numpy and pandas come with them)."""
MODEL_FOLDER = "/job/model"
READY = b"ready\n"
"""Written to the status pipe once the imports are done (before any job exists)."""


def preload(modules: list[str]) -> None:
    """Import `modules`; one that is missing or broken is left for the job to report."""
    for name in (*BASE_MODULES, *modules):
        try:
            importlib.import_module(name)
        except Exception:  # the job's own import reports it with the team's traceback
            continue


def wait(ticket: str) -> NoReturn:
    """Preload, say so on `status_fd`, wait for the release byte on `go_fd`, then run the job in
    `spec` (once)."""
    settings = json.loads(ticket)
    go_fd = int(settings["go_fd"])
    preload([str(m) for m in settings.get("preload", [])])
    os.write(int(settings["status_fd"]), READY)
    released = os.read(go_fd, 1)
    os.close(go_fd)
    if not released:
        os._exit(0)  # discarded before any job was released into it
    os.chdir(MODEL_FOLDER)
    run(str(settings["spec"]))

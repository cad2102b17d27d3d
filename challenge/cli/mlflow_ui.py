"""The MLflow UI server of `serve --mlflow-ui`: on a Unix socket in a private folder, no port.

The platform proxies it at /mlflow behind its login (`challenge.web.mlflow_ui`), so the UI has no
address that a browser, or another user of the machine, could reach around that check.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path

from challenge.cli.supervisor import Child
from challenge.config import Settings

MAX_SOCKET_PATH = 100
"""Unix socket paths are limited to 108 bytes; longer data directories use a private temp dir."""


def socket_path(settings: Settings) -> Path:
    """Where the UI server listens: a folder only this user may enter (mode 0700)."""
    folder = settings.home / "mlflow-ui"
    if len(str(folder / "ui.sock")) > MAX_SOCKET_PATH:
        folder = Path(tempfile.mkdtemp(prefix="mlc-ui-"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    socket = folder / "ui.sock"
    socket.unlink(missing_ok=True)
    return socket


def mlflow_ui_child(settings: Settings) -> tuple[Child, Path]:
    """The supervised `mlflow server` process and its socket."""
    settings.mlflow_artifacts.mkdir(parents=True, exist_ok=True)
    socket = socket_path(settings)
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        settings.mlflow_tracking_uri,
        "--default-artifact-root",
        settings.mlflow_artifacts.as_uri(),
        "--static-prefix",
        "/mlflow",
        "--workers",
        "1",
        "--uvicorn-opts",
        f"--uds {shlex.quote(str(socket))}",
    ]
    return Child("mlflow-ui", argv), socket

"""Evaluation artifacts on disk that pages show: the diagnostics plots of the latest attempt."""

from __future__ import annotations

import re
from pathlib import Path

from challenge.config import Settings
from challenge.files import storage

ATTEMPT = re.compile(r"^attempt-(\d+)$")
PLOTS = {
    "public": ("diagnostics_public.png",),
    # before plots were drawn per split, `diagnostics.png` showed every row: private, then
    "private": ("diagnostics_private.png", "diagnostics.png"),
}


def _attempts(settings: Settings, submission_id: int) -> list[Path]:
    """The submission's attempt folders, oldest first."""
    runs = storage.runs_dir(settings.storage, submission_id)
    if not runs.is_dir():
        return []
    attempts = sorted(
        (int(match.group(1)), child)
        for child in runs.iterdir()
        if (match := ATTEMPT.match(child.name)) and child.is_dir()
    )
    return [folder for _, folder in attempts]


def diagnostics_pending(settings: Settings, submission_id: int) -> bool:
    """Whether the latest attempt's plots are still to be drawn (mlfo/worker/plots.py)."""
    from mlfo.sinks import PLOT_INPUT

    attempts = _attempts(settings, submission_id)
    return bool(attempts) and (attempts[-1] / PLOT_INPUT).is_file()


def diagnostics_path(settings: Settings, submission_id: int, split: str = "public") -> Path | None:
    """The split's diagnostics plot of the submission's latest attempt that wrote one, if any."""
    for folder in reversed(_attempts(settings, submission_id)):
        for name in PLOTS[split]:
            plot = folder / name
            if plot.is_file() and not plot.is_symlink():
                return plot
    return None


def mlflow_run_url(settings: Settings, run_id: str | None) -> str | None:
    """The run's page in the MLflow UI, when the UI's address is configured."""
    if not run_id or not settings.mlflow_ui_url:
        return None
    return f"{settings.mlflow_ui_url.rstrip('/')}/#/runs/{run_id}"

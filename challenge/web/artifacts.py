"""Evaluation artifacts on disk that pages show: the diagnostics plots of the latest attempt."""

from __future__ import annotations

import re
from pathlib import Path

from challenge.config import Settings
from challenge.files import objects, storage

ATTEMPT = re.compile(r"^attempt-(\d+)$")
PLOTS = {
    "public": ("diagnostics_public.png",),
    # before plots were drawn per split, `diagnostics.png` showed every row: private, then
    "private": ("diagnostics_private.png", "diagnostics.png"),
}


def _attempts(settings: Settings, submission_id: int) -> list[Path]:
    """The submission's attempt folders, oldest first (as named at the storage URL, if any)."""
    runs = storage.runs_dir(settings.storage, submission_id)
    store = objects.store_for(settings)
    if store.remote:
        names = store.listdir(runs)
    elif runs.is_dir():
        names = [child.name for child in runs.iterdir() if child.is_dir()]
    else:
        return []
    attempts = sorted(
        (int(match.group(1)), runs / name) for name in names if (match := ATTEMPT.match(name))
    )
    return [folder for _, folder in attempts]


def _stored(settings: Settings, path: Path) -> bool:
    """Whether an attempt's file exists: on this disk, or at the storage URL (then fetched)."""
    store = objects.store_for(settings)
    if path.is_file() or not store.remote:
        return path.is_file()
    if not store.exists(path):
        return False
    store.restore(path)
    return path.is_file()


def diagnostics_pending(settings: Settings, submission_id: int) -> bool:
    """Whether the latest attempt's plots are still to be drawn (mlfo/worker/plots.py)."""
    from mlfo.sinks import PLOT_INPUT

    attempts = _attempts(settings, submission_id)
    if not attempts:
        return False
    store = objects.store_for(settings)
    plot_input = attempts[-1] / PLOT_INPUT
    return store.exists(plot_input) if store.remote else plot_input.is_file()


def diagnostics_path(settings: Settings, submission_id: int, split: str = "public") -> Path | None:
    """The split's diagnostics plot of the submission's latest attempt that wrote one, if any."""
    for folder in reversed(_attempts(settings, submission_id)):
        for name in PLOTS[split]:
            plot = folder / name
            if _stored(settings, plot) and not plot.is_symlink():
                return plot
    return None


def mlflow_run_url(settings: Settings, run_id: str | None) -> str | None:
    """The run's page in the MLflow UI, when the UI's address is configured."""
    if not run_id or not settings.mlflow_ui_url:
        return None
    return f"{settings.mlflow_ui_url.rstrip('/')}/#/runs/{run_id}"

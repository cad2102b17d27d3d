"""diagnostics_plot writes a PNG for every task kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from challenge.scoring import diagnostics_plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def test_regression_residuals(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=30_000)
    out = diagnostics_plot("regression", y, y + rng.normal(size=y.size), tmp_path / "a" / "r.png")
    assert out == tmp_path / "a" / "r.png" and _is_png(out)


def test_confusion_matrix_with_many_classes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 64, 2_000)
    pred = np.where(rng.random(y.size) < 0.6, y, rng.integers(0, 64, y.size))
    out = diagnostics_plot("multiclass", y, pred, tmp_path / "cm.png", classes=list(range(64)))
    assert _is_png(out)


def test_binary_confusion_with_string_labels(tmp_path: Path) -> None:
    y = np.array(["no", "yes", "yes", "no"])
    assert _is_png(diagnostics_plot("binary", y, y[::-1], tmp_path / "b.png"))


def test_forecast_error_per_horizon_step(tmp_path: Path) -> None:
    steps = np.tile(np.arange(1, 25), 50)
    y = np.sin(steps / 4.0)
    pred = y + np.random.default_rng(2).normal(scale=steps / 24.0)
    assert _is_png(diagnostics_plot("forecast", y, pred, tmp_path / "f.png", horizon=steps))
    assert _is_png(diagnostics_plot("forecast", y, pred, tmp_path / "g.png"))


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        diagnostics_plot("ranking", [1.0], [1.0], tmp_path / "x.png")
    with pytest.raises(ValueError, match="same, non-zero length"):
        diagnostics_plot("regression", [1.0, 2.0], [1.0], tmp_path / "x.png")
    with pytest.raises(ValueError, match="one step per row"):
        diagnostics_plot("forecast", [1.0, 2.0], [1.0, 2.0], tmp_path / "x.png", horizon=[1])

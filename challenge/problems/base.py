"""What every built-in problem statement provides, and how its host bundle is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml


@dataclass(frozen=True)
class GeneratedData:
    """The tables a simulator produces for one seed and size."""

    train: pd.DataFrame
    test: pd.DataFrame
    labels: pd.DataFrame
    """id column, target, and `split` ("public" or "private")."""
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Ground truth the tests' oracle may use (never written into the bundle)."""


@dataclass(frozen=True)
class Problem:
    """A built-in problem statement: simulator, description, settings with intent, baseline."""

    id: str
    title: str
    summary: str
    task: str
    default_size: int
    settings: Callable[[], dict[str, Any]]
    """competition.yaml as a dict (see docs/host-bundle.md), including `intent`."""
    simulate: Callable[[int, int], GeneratedData]
    """(seed, size) -> tables; deterministic."""
    description: Callable[[], str]
    """The participants' page, in Markdown."""
    write_baseline: Callable[[pd.DataFrame, Path], tuple[str, str]]
    """(train table, bundle dir) -> (relative path, format) of a baseline model trained on train."""

    def generate(self, seed: int = 0, size: int | None = None) -> GeneratedData:
        """Simulate the data for a seed; `size` is the number of test rows (default per problem)."""
        return self.simulate(seed, size or self.default_size)

    def write_bundle(
        self, out_dir: Path, *, seed: int = 0, size: int | None = None, baseline: bool = True
    ) -> Path:
        """Write the host bundle of DESIGN.md into `out_dir` and return it."""
        data = self.generate(seed, size)
        out_dir.mkdir(parents=True, exist_ok=True)
        settings = dict(self.settings())
        settings["split"] = {**settings.get("split", {}), "seed": seed}
        if "intent" in settings:
            intent = dict(settings["intent"])
            intent["split"] = {**intent.get("split", {}), "seed": seed}
            settings["intent"] = intent
        write_table(data.train, out_dir / "train.parquet")
        write_table(data.test, out_dir / "test.parquet")
        write_table(data.labels, out_dir / "test_labels.parquet")
        id_column, target = settings["id_column"], settings["target"]
        placeholder = data.train[target].mode().iloc[0]
        sample = pd.DataFrame({id_column: data.test[id_column], target: placeholder})
        sample.head(1000).to_csv(out_dir / "sample_submission.csv", index=False)
        (out_dir / "description.md").write_text(self.description(), encoding="utf-8")
        if baseline:
            path, fmt = self.write_baseline(data.train, out_dir)
            settings["baseline"] = {"path": path, "format": fmt}
        (out_dir / "competition.yaml").write_text(
            yaml.safe_dump(settings, sort_keys=False), encoding="utf-8"
        )
        return out_dir


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as Parquet, byte-for-byte reproducible for the same frame."""
    frame.reset_index(drop=True).to_parquet(path, index=False, compression="zstd")


def split_column(n: int, public_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A `split` column: exactly round(n * public_fraction) rows "public", the rest "private"."""
    n_public = round(n * public_fraction)
    split = np.array(["private"] * n, dtype=object)
    split[rng.permutation(n)[:n_public]] = "public"
    return split

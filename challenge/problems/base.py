"""What every built-in problem statement provides, how its host bundle is written, and the
helpers that build its settings with intent, its page and its baseline file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml

from sandbox import SubmissionFormat

FORMATS = [
    str(f)
    for f in (
        SubmissionFormat.PREDICTIONS,
        SubmissionFormat.SKLEARN,
        SubmissionFormat.ONNX,
        SubmissionFormat.TORCHSCRIPT,
        SubmissionFormat.PYTHON,
    )
]
"""Every submission format a built-in problem accepts (from the one registry, `sandbox.formats`)."""
LISTED_KPIS = ["wall_time_s", "peak_memory_mb", "model_size_mb", "latency_ms_per_1k"]
"""The KPIs an intent lists when it names them: all the sandbox measures but CPU time."""
PUBLIC_FRACTION = 0.3
"""The share of the test rows scored on the public board."""
BASELINE_PATH = "baseline/model.joblib"
"""Where a joblib baseline lies inside the bundle."""

MetricSpec = str | tuple[str, dict[str, Any]]
"""A metric as `name` (intent entry without params) or `(name, params)` (params written out)."""


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
    intelligence_level: str = ""
    """The ITU-T Y.3173 level (L0 to L5) a solution of this problem would reach."""
    data_handling: dict[str, str] = field(default_factory=dict)
    """The ITU-T Y.3174 data-handling profile: `source`, `nature` (synthetic, real or mixed) and
    `sharing` (the terms it is shared under)."""

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
        sample.to_csv(out_dir / "sample_submission.csv", index=False)
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


def competition_settings(
    problem: Problem,
    *,
    id_column: str,
    target: str,
    metrics: Sequence[MetricSpec],
    classes: Sequence[Any] | None = None,
    time_s: int = 120,
    chunk_rows: int = 100_000,
    preprocessing: list[dict[str, Any]] | None = None,
    policies: list[dict[str, Any]] | None = None,
    kpis: Sequence[str] = (),
    ranking: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """competition.yaml as a dict: the plain keys, and the ML intent that mirrors them."""
    formats = list(FORMATS)
    limits = {"time_s": time_s, "memory_mb": 2048}
    shared_classes = None if classes is None else list(classes)
    intent = _given(
        version=1,
        task=problem.task,
        id_column=id_column,
        target=target,
        classes=shared_classes,
        source={"name": "test", "kind": "table", "chunk_rows": chunk_rows},
        preprocessing=preprocessing,
        model={"formats": formats, "limits": limits, "allow_training": True},
        policies=policies,
        metrics=[_intent_metric(metric) for metric in metrics],
        kpis=list(kpis) or None,
        split={"public_fraction": PUBLIC_FRACTION},
        sinks=[{"kind": "scorer"}, {"kind": "mlflow"}, {"kind": "leaderboard"}],
        placement={"resource_class": "cpu"},
        ranking=ranking,
    )
    return _given(
        title=problem.title,
        slug=problem.id,
        task=problem.task,
        id_column=id_column,
        target=target,
        classes=shared_classes,
        metrics=[metric if isinstance(metric, str) else metric[0] for metric in metrics],
        formats=formats,
        limits=limits,
        split={"public_fraction": PUBLIC_FRACTION},
        phases=[development_phase()],
        team={"max_size": 4},
        intent=intent,
    )


def development_phase() -> dict[str, Any]:
    """The open-ended phase every built-in competition starts with."""
    return {
        "name": "development",
        "start": "2026-01-01T00:00:00Z",
        "max_per_day": 10,
        "max_total": 200,
        "max_pending": 3,
    }


def _intent_metric(metric: MetricSpec) -> dict[str, Any]:
    """A metric entry of the intent."""
    if isinstance(metric, str):
        return {"name": metric}
    name, params = metric
    return {"name": name, "params": params}


def _given(**entries: Any) -> dict[str, Any]:
    """The entries that are not None, in order."""
    return {key: value for key, value in entries.items() if value is not None}


def markdown_page(module_file: str) -> str:
    """A problem's participants' page: the Markdown file beside its module."""
    return Path(module_file).with_suffix(".md").read_text(encoding="utf-8")


def save_joblib_baseline(model: Any, bundle_dir: Path, *, compress: int = 0) -> tuple[str, str]:
    """Save a fitted scikit-learn model as the bundle's baseline: (relative path, format)."""
    path = bundle_dir / BASELINE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=compress)
    return BASELINE_PATH, str(SubmissionFormat.SKLEARN)

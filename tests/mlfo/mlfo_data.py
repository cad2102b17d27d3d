"""Tiny datasets and intents shared by the mlfo tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlfo.evaluation import EvaluationInput
from mlfo.validation import validate_intent


@dataclass(frozen=True)
class Dataset:
    """A bundle's tables on disk plus the frames they came from."""

    train_path: Path
    test_path: Path
    labels_path: Path
    train: pd.DataFrame
    test: pd.DataFrame
    labels: pd.DataFrame


def _split(n: int, rng: np.random.Generator) -> np.ndarray:
    split = np.array(["private"] * n, dtype=object)
    split[rng.permutation(n)[: round(n * 0.3)]] = "public"
    return split


def write_dataset(root: Path, task: str, n_train: int = 200, n_test: int = 120) -> Dataset:
    """Write train/test/labels Parquet tables for a regression or binary task."""
    rng = np.random.default_rng(7)
    root.mkdir(parents=True, exist_ok=True)

    def frame(n: int, start: int) -> pd.DataFrame:
        x1, x2 = rng.normal(size=n), rng.uniform(0, 10, size=n)
        return pd.DataFrame({"id": np.arange(start, start + n), "x1": x1, "x2": x2})

    train, test = frame(n_train, 0), frame(n_test, 10_000)
    if task == "regression":
        train["y"] = 3 * train.x1 + train.x2 + rng.normal(0, 0.1, n_train)
        truth = 3 * test.x1 + test.x2 + rng.normal(0, 0.1, n_test)
    else:
        train["y"] = (train.x1 + 0.2 * train.x2 > 1).astype(int)
        truth = (test.x1 + 0.2 * test.x2 > 1).astype(int)
    labels = pd.DataFrame({"id": test.id, "y": truth, "split": _split(n_test, rng)})
    paths = [root / "train.parquet", root / "test.parquet", root / "labels.parquet"]
    for table, path in zip((train, test, labels), paths, strict=True):
        table.to_parquet(path, index=False)
    return Dataset(paths[0], paths[1], paths[2], train, test, labels)


def intent_data(task: str, **extra: Any) -> dict[str, Any]:
    """A minimal valid intent for the tiny datasets."""
    data: dict[str, Any] = {
        "task": task,
        "id_column": "id",
        "target": "y",
        "metrics": [{"name": "mae"}, {"name": "rmse"}]
        if task == "regression"
        else [{"name": "accuracy"}, {"name": "f1"}],
        "source": {"chunk_rows": 1000},
        "sinks": [{"kind": "scorer"}, {"kind": "mlflow"}],
    }
    if task == "binary":
        data["classes"] = [0, 1]
    data.update(extra)
    return data


def evaluation_input(
    data: Dataset,
    intent: dict[str, Any],
    model_path: Path,
    work_dir: Path,
    *,
    fmt: str = "predictions",
    tracking_uri: str | None = None,
) -> EvaluationInput:
    """An EvaluationInput over a tiny dataset."""
    work_dir.mkdir(parents=True, exist_ok=True)
    return EvaluationInput(
        submission_id=1,
        competition_slug="tiny",
        intent=validate_intent(intent),
        model_path=model_path,
        format=fmt,
        train_path=data.train_path,
        test_path=data.test_path,
        labels_path=data.labels_path,
        work_dir=work_dir,
        mlflow_tracking_uri=tracking_uri,
        team_name="team-a",
        phase="development",
    )


def linear_torchscript(path: Path, weights: list[float]) -> Path:
    """A scripted linear layer `y = weights . x` (no bias) saved at `path`."""
    import torch

    layer = torch.nn.Linear(len(weights), 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weights], dtype=torch.float32))
    torch.jit.script(layer).save(str(path))
    path.chmod(0o644)
    return path

"""A worker's table caches: reused across evaluations, never served once a data file changed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from mlfo import pipeline, tables
from mlfo.errors import Outcome
from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.pipeline import build_pipeline
from mlfo.preprocessing import PREPROCESSORS, FrameContext, Transform
from mlfo.provenance import sha256_of
from tests.mlfo.mlfo_data import Dataset, evaluation_input, intent_data, write_dataset


def _write(frame: pd.DataFrame, path: Path) -> None:
    """Parquet whose size depends only on the shape (no compression, no dictionaries)."""
    frame.to_parquet(path, index=False, compression=None, use_dictionary=False)


@pytest.fixture
def data(tmp_path: Path) -> Dataset:
    """A dataset of this test's own: the tests rewrite its files."""
    tables.clear()
    dataset = write_dataset(tmp_path / "data", "regression")
    _write(dataset.test, dataset.test_path)
    _write(dataset.labels, dataset.labels_path)
    return dataset


def _rewrite_keeping_size_and_mtime(path: Path, frame: pd.DataFrame) -> None:
    """Replace a file's content in place, then put its modification time back."""
    before = path.stat()
    scratch = path.with_suffix(".new")
    _write(frame, scratch)
    assert scratch.stat().st_size == before.st_size
    with path.open("r+b") as handle:
        handle.write(scratch.read_bytes())
    scratch.unlink()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def _predictions(data: Dataset, root: Path) -> Path:
    path = root / "predictions.csv"
    test = data.test
    pd.DataFrame({"id": test["id"], "y": 3 * test.x1 + test.x2}).to_csv(path, index=False)
    return path


def test_a_rewritten_labels_file_is_never_served_from_the_cache(
    data: Dataset, tmp_path: Path
) -> None:
    intent = intent_data("regression")
    model = _predictions(data, tmp_path)
    first = build_pipeline(intent).run(evaluation_input(data, intent, model, tmp_path / "a"))
    assert first.outcome == Outcome.OK, first.message
    shifted = data.labels.assign(y=data.labels["y"] + 1.0)
    _rewrite_keeping_size_and_mtime(data.labels_path, shifted)
    second = build_pipeline(intent).run(evaluation_input(data, intent, model, tmp_path / "b"))
    assert second.outcome == Outcome.OK, second.message
    labels_sha = "mlchallenge.labels_sha256"
    assert second.provenance[labels_sha] != first.provenance[labels_sha]
    assert second.provenance[labels_sha] == sha256_of(data.labels_path)
    for split in ("public", "private"):
        assert second.scores[split]["mae"] == pytest.approx(
            float(
                np.mean(
                    np.abs(shifted.y - (3 * data.test.x1 + data.test.x2))[
                        (data.labels.split == split).to_numpy()
                    ]
                )
            ),
        )
        assert second.scores[split]["mae"] > first.scores[split]["mae"] + 0.5


def test_prepared_labels_are_read_once_per_content_and_settings(
    data: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real = tables.read_table

    def counting(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
        reads.append(path)
        return real(path, columns)

    monkeypatch.setattr(tables, "read_table", counting)
    intent = build_pipeline(intent_data("regression")).intent
    sha = sha256_of(data.labels_path)
    first = tables.hidden_labels(data.labels_path, sha, intent)
    assert tables.hidden_labels(data.labels_path, sha, intent) is first
    assert len(reads) == 1
    other_split = intent.model_copy(update={"split": intent.split.model_copy(update={"seed": 99})})
    assert tables.hidden_labels(data.labels_path, sha, other_split) is not first
    assert len(reads) == 2


def _sklearn_run(data: Dataset, root: Path, cache: Path, name: str, **extra: Any) -> Any:
    train = data.train
    model = LinearRegression().fit(train[["x1", "x2"]], train["y"])
    path = root / "model.joblib"
    joblib.dump(model, path)
    root.chmod(0o755)
    intent = intent_data(
        "regression", model={"formats": ["sklearn"], "limits": {"time_s": 60}}, **extra
    )
    inp = evaluation_input(data, intent, path, root / name, fmt="sklearn")
    return build_pipeline(intent).run(replace(inp, cache_dir=cache))


def _counting_collects(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = pipeline.collect_features

    def counting(path: Path, out_path: Path, **kwargs: Any) -> Any:
        calls.append(path)
        return real(path, out_path, **kwargs)

    monkeypatch.setattr(pipeline, "collect_features", counting)
    return calls


def test_collected_features_are_reused_until_the_test_data_changes(
    data: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collects = _counting_collects(monkeypatch)
    cache = tmp_path / "cache"
    steps = {"preprocessing": [{"kind": "fill_missing", "params": {"value": 0}}]}
    first = _sklearn_run(data, tmp_path, cache, "a", **steps)
    second = _sklearn_run(data, tmp_path, cache, "b", **steps)
    assert first.outcome == second.outcome == Outcome.OK, f"{first.message}{second.message}"
    assert collects == [data.test_path]
    assert second.scores == first.scores
    assert len(list(cache.glob("features-*.parquet"))) == 1
    moved = data.test.assign(x1=data.test.x1 + 5.0)
    _rewrite_keeping_size_and_mtime(data.test_path, moved)
    third = _sklearn_run(data, tmp_path, cache, "c", **steps)
    assert third.outcome == Outcome.OK, third.message
    assert collects == [data.test_path, data.test_path]
    assert third.scores["public"]["mae"] > first.scores["public"]["mae"] + 1.0
    assert len(list(cache.glob("features-*.parquet"))) == 2
    other_steps = {"preprocessing": [{"kind": "fill_missing", "params": {"value": 1}}]}
    _sklearn_run(data, tmp_path, cache, "d", **other_steps)
    assert len(collects) == 3


def _shift(params: Any, train: Callable[[], pd.DataFrame], ctx: FrameContext) -> Transform:
    """A plug-in PP step: its code is not the platform's, so its output is never cached."""

    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    return apply


def test_a_plug_in_step_is_collected_for_every_evaluation(
    data: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    PREPROCESSORS.register("test_passthrough", _shift)
    try:
        collects = _counting_collects(monkeypatch)
        intent = intent_data("regression", preprocessing=[{"kind": "test_passthrough"}])
        model = _predictions(data, tmp_path)
        cache = tmp_path / "cache"
        for name in ("a", "b"):
            inp: EvaluationInput = evaluation_input(data, intent, model, tmp_path / name)
            result: EvaluationResult = build_pipeline(intent).run(replace(inp, cache_dir=cache))
            assert result.outcome == Outcome.OK, result.message
        assert len(collects) == 2
        assert not cache.exists() or not list(cache.iterdir())
    finally:
        PREPROCESSORS.unregister("test_passthrough")


def test_the_cache_folder_keeps_the_most_recently_used_files(tmp_path: Path) -> None:
    source = tmp_path / "table.parquet"
    pd.DataFrame({"id": [1, 2]}).to_parquet(source, index=False)
    cache = tmp_path / "cache"

    def collect(out: Path) -> Any:
        shutil.copyfile(source, out)
        return tables.Collected(out, 2, 1, ["id"])

    for index in range(tables.FEATURE_FILES):
        tables.cached_collect(cache, f"features-{index}", tmp_path / "unused", collect)
        os.utime(cache / f"features-{index}.parquet", (index, index))
    tables.cached_collect(cache, "features-0", tmp_path / "unused", collect)  # used again
    tables.cached_collect(cache, "features-new", tmp_path / "unused", collect)
    kept = {p.stem for p in cache.glob("*.parquet")}
    assert len(kept) == tables.FEATURE_FILES
    assert {"features-0", "features-new", "features-2"} <= kept
    assert "features-1" not in kept
    assert not list(cache.glob(".*partial"))


def test_broken_hidden_labels_are_a_platform_fault_that_names_the_problem(
    data: Dataset, tmp_path: Path
) -> None:
    _write(data.labels.assign(id=data.labels["id"].iloc[0]), data.labels_path)
    intent = intent_data("regression")
    model = _predictions(data, tmp_path)
    result = build_pipeline(intent).run(evaluation_input(data, intent, model, tmp_path / "a"))
    assert result.outcome == Outcome.INFRASTRUCTURE_ERROR
    assert result.message == "test_labels: column 'id' repeats ids; ids must be unique"


def test_the_cache_folder_stays_within_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "table.parquet"
    pd.DataFrame({"id": range(1000)}).to_parquet(source, index=False)
    size = source.stat().st_size
    monkeypatch.setattr(tables, "FEATURE_BYTES", 3 * size + size // 2)
    cache = tmp_path / "cache"

    def collect(out: Path) -> Any:
        shutil.copyfile(source, out)
        return tables.Collected(out, 1000, 1, ["id"])

    for index in range(6):
        tables.cached_collect(cache, f"features-{index}", tmp_path / "unused", collect)
        os.utime(cache / f"features-{index}.parquet", (index, index))
    assert {p.stem for p in cache.glob("*.parquet")} == {f"features-{i}" for i in (3, 4, 5)}

"""network-delay: determinism, bundle, intent, and trivial < baseline < oracle on MAPE."""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import mean_absolute_percentage_error

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.network_delay import FEATURES, TARGET, TEST_NODES, TRAIN_NODES, mm1k_delay_s
from mlfo.intent import Intent

PROBLEM = get_problem("network-delay")
SIZE = 3000


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return PROBLEM.generate(seed=0, size=SIZE)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_same_seed_writes_the_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = _files(PROBLEM.write_bundle(tmp_path / "a", seed=7, size=600))
    second = _files(PROBLEM.write_bundle(tmp_path / "b", seed=7, size=600))
    other = _files(PROBLEM.write_bundle(tmp_path / "c", seed=8, size=600))
    assert first == second
    assert first["train.parquet"] != other["train.parquet"]
    assert first["test_labels.parquet"] != other["test_labels.parquet"]


def test_bundle_has_every_file_and_no_target_in_the_test_features(tmp_path: Path) -> None:
    out = PROBLEM.write_bundle(tmp_path, seed=0, size=600)
    names = set(_files(out))
    expected = {"competition.yaml", "description.md", "train.parquet", "test.parquet"}
    assert (
        expected | {"test_labels.parquet", "sample_submission.csv", "baseline/model.joblib"}
        <= names
    )
    settings = yaml.safe_load((out / "competition.yaml").read_text())
    assert settings["baseline"] == {"path": "baseline/model.joblib", "format": "sklearn"}
    assert (out / "baseline" / "model.joblib").stat().st_size < 2_000_000
    test = pd.read_parquet(out / "test.parquet")
    labels = pd.read_parquet(out / "test_labels.parquet")
    assert list(test.columns) == ["id", *FEATURES]
    assert TARGET not in test.columns
    assert all(pd.api.types.is_numeric_dtype(test[c]) for c in test.columns)
    assert list(labels.columns) == ["id", TARGET, "split"]
    assert (labels["id"] == test["id"]).all() and len(test) == 600
    assert (labels["split"] == "public").sum() == 180


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, tmp_path: Path
) -> None:
    truth = data.labels[TARGET].to_numpy()
    path, fmt = PROBLEM.write_baseline(data.train, tmp_path)
    assert fmt == "sklearn"
    model = joblib.load(tmp_path / path)
    trivial = mean_absolute_percentage_error(truth, np.full_like(truth, data.train[TARGET].mean()))
    baseline = mean_absolute_percentage_error(truth, model.predict(data.test[FEATURES]))
    oracle = mean_absolute_percentage_error(truth, data.extras["noiseless"][TARGET].to_numpy())
    assert trivial > 2 * baseline
    assert baseline > 2 * oracle
    assert oracle < 0.06  # only the ~5 % measurement noise is left


def test_test_topologies_are_larger_than_any_training_topology(data: GeneratedData) -> None:
    assert data.train["nodes"].max() <= TRAIN_NODES[1] < TEST_NODES[0] <= data.test["nodes"].min()
    assert (data.train["hops"] >= 1).all() and data.test["hops"].max() > data.train["hops"].max()


def test_mm1k_delay_matches_queueing_theory() -> None:
    mu = np.array([1000.0])
    light = mm1k_delay_s(np.array([0.5]), mu, 64)
    assert light == pytest.approx(1 / (mu - 0.5 * mu), rel=1e-6)  # M/M/1 when the buffer is large
    overloaded = mm1k_delay_s(np.array([5.0]), mu, 16)
    assert overloaded == pytest.approx(16 / mu, rel=0.05)  # a full buffer ahead of every packet
    critical = mm1k_delay_s(np.array([1.0]), mu, 16)
    assert critical == pytest.approx((16 / 2) / (mu * (1 - 1 / 17)), rel=1e-6)
    grid = mm1k_delay_s(np.linspace(0.05, 2.0, 50), np.full(50, 1000.0), 32)
    assert np.all(np.diff(grid) > 0)


def test_delay_grows_with_congestion(data: GeneratedData) -> None:
    train = data.train
    busy = train["max_utilization"] > 0.9
    quiet = train["max_utilization"] < 0.3
    per_hop = train[TARGET] / train["hops"]
    assert per_hop[busy].median() > 2 * per_hop[quiet].median()


def test_intent_validates_and_agrees_with_the_plain_keys() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "network-delay" and intent.task == settings["task"] == "regression"
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["mape", "mre"]
    assert (intent.id_column, intent.target) == (settings["id_column"], settings["target"])
    assert intent.model.formats == settings["formats"] and intent.split.public_fraction == 0.3
    assert settings["phases"][0]["name"] == "development" and "end" not in settings["phases"][0]


def test_description_documents_every_feature_and_how_to_submit() -> None:
    text = PROBLEM.description()
    for column in [*FEATURES, TARGET]:
        assert f"`{column}`" in text
    assert "mlchallenge submit network-delay model.joblib --format sklearn --wait" in text
    assert "--format predictions" in text


def test_default_size_generates_quickly() -> None:
    start = time.perf_counter()
    generated = PROBLEM.generate(seed=0)
    assert time.perf_counter() - start < 30
    assert len(generated.test) == PROBLEM.default_size == len(generated.labels)
    assert len(generated.train) == 2 * PROBLEM.default_size

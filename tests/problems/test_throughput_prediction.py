"""throughput-prediction: determinism, bundle, intent, physics, and trivial < baseline < oracle."""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import mean_absolute_error

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.throughput_prediction import FEATURES, TARGET, mcs_rate, path_loss_db
from mlfo.intent import Intent

PROBLEM = get_problem("throughput-prediction")
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
    trivial = mean_absolute_error(truth, np.full_like(truth, data.train[TARGET].mean()))
    baseline = mean_absolute_error(truth, model.predict(data.test[FEATURES]))
    oracle = mean_absolute_error(truth, data.extras["noiseless"][TARGET].to_numpy())
    assert trivial > 1.2 * baseline
    assert baseline > 5 * oracle


def test_rate_follows_the_mcs_table_and_path_loss_grows_with_distance_and_walls() -> None:
    assert mcs_rate(np.array([-5.0, 2.0, 10.0, 40.0])).tolist() == [0.0, 8.6, 25.8, 143.4]
    assert np.all(np.diff(mcs_rate(np.linspace(-10, 45, 200))) >= 0)
    loss = path_loss_db(np.array([1.0, 5.0, 20.0, 20.0]), np.array([0, 0, 0, 2]))
    assert np.all(np.diff(loss[:3]) > 0) and loss[3] - loss[2] == pytest.approx(10.0)
    assert loss[2] - loss[1] == pytest.approx(35 * np.log10(4))


def test_throughput_falls_with_sharing_and_rises_with_signal(data: GeneratedData) -> None:
    train = data.train
    alone = train[(train["stations_on_ap"] == 1) & (train["contending_aps"] == 0)]
    crowded = train[(train["stations_on_ap"] >= 8) & (train["contending_aps"] >= 2)]
    assert alone[TARGET].median() > 10 * crowded[TARGET].median()
    strong, weak = train[train["sinr_db"] > 35], train[train["sinr_db"] < 10]
    assert strong[TARGET].median() > 2 * weak[TARGET].median()
    assert (train[TARGET] >= 0).all() and train["channel_width_mhz"].isin([20, 40, 80]).all()


def test_intent_validates_and_agrees_with_the_plain_keys() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "throughput-prediction"
    assert intent.task == settings["task"] == "regression"
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["mae", "rmse"]
    assert (intent.id_column, intent.target) == (settings["id_column"], settings["target"])
    assert intent.model.formats == settings["formats"] and intent.split.public_fraction == 0.3


def test_description_documents_every_feature_and_how_to_submit() -> None:
    text = PROBLEM.description()
    for column in [*FEATURES, TARGET]:
        assert f"`{column}`" in text
    assert "mlchallenge submit throughput-prediction model.joblib --format sklearn --wait" in text
    assert "--format predictions" in text


def test_default_size_generates_quickly() -> None:
    start = time.perf_counter()
    generated = PROBLEM.generate(seed=0)
    assert time.perf_counter() - start < 30
    assert len(generated.test) == PROBLEM.default_size == len(generated.labels)
    assert len(generated.train) == 2 * PROBLEM.default_size

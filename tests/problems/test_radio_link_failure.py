"""radio-link-failure: determinism, bundle, intent, P.838 physics, trivial < baseline < oracle."""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import f1_score

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.radio_link_failure import (
    FEATURES,
    TARGET,
    rain_attenuation_db,
    rain_coefficients,
)
from mlfo.intent import Intent

PROBLEM = get_problem("radio-link-failure")
SIZE = 10_000


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return PROBLEM.generate(seed=0, size=SIZE)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_same_seed_writes_the_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = _files(PROBLEM.write_bundle(tmp_path / "a", seed=7, size=2000))
    second = _files(PROBLEM.write_bundle(tmp_path / "b", seed=7, size=2000))
    other = _files(PROBLEM.write_bundle(tmp_path / "c", seed=8, size=2000))
    assert first == second
    assert first["train.parquet"] != other["train.parquet"]
    assert first["test_labels.parquet"] != other["test_labels.parquet"]


def test_bundle_has_every_file_and_no_target_in_the_test_features(tmp_path: Path) -> None:
    out = PROBLEM.write_bundle(tmp_path, seed=0, size=2000)
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
    assert (labels["id"] == test["id"]).all() and len(test) == 2000
    assert (labels["split"] == "public").sum() == 600
    assert set(labels[TARGET]) == {0, 1}


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, tmp_path: Path
) -> None:
    truth = data.labels[TARGET].to_numpy()
    path, fmt = PROBLEM.write_baseline(data.train, tmp_path)
    assert fmt == "sklearn"
    model = joblib.load(tmp_path / path)
    trivial = f1_score(truth, np.zeros_like(truth))  # the majority class: never fails
    baseline = f1_score(truth, model.predict(data.test[FEATURES]))
    attenuation = data.extras["attenuation"]["attenuation_db"].to_numpy()
    oracle = f1_score(truth, attenuation > data.test["fade_margin_db"].to_numpy())
    assert trivial == 0.0
    assert baseline > 0.1
    assert oracle > baseline + 0.3


def test_failures_are_rare() -> None:
    rate = PROBLEM.generate(seed=3, size=5000).train[TARGET].mean()
    assert 0.003 < rate < 0.1


def test_rain_attenuation_follows_p838() -> None:
    k, alpha = rain_coefficients(np.array([10.0, 20.0, 40.0]), np.array([False, False, True]))
    assert k == pytest.approx([0.01217, 0.09164, 0.4274], rel=1e-6)
    assert alpha == pytest.approx([1.2571, 1.0568, 0.8421], rel=1e-6)
    rain = np.array([5.0, 25.0, 100.0])
    one_km = rain_attenuation_db(rain, np.full(3, 0.001), np.full(3, 0.1), np.full(3, 1.0))
    assert one_km / 0.001 == pytest.approx(0.1 * rain, rel=1e-3)  # short hop: k * R^alpha per km
    long_hop = rain_attenuation_db(
        np.full(2, 50.0), np.array([5.0, 50.0]), k[[1, 1]], alpha[[1, 1]]
    )
    assert long_hop[1] < 10 * long_hop[0]  # heavy rain cells are small: shorter effective length
    f = np.linspace(6, 80, 30)
    assert np.all(np.diff(rain_coefficients(f, np.zeros(30, bool))[0]) > 0)


def test_failures_follow_rain_and_frequency(data: GeneratedData) -> None:
    train = data.train
    wet, dry = train["forecast_rain_mm_h"] > 20, train["forecast_rain_mm_h"] == 0
    assert train.loc[wet, TARGET].mean() > 10 * train.loc[dry, TARGET].mean()


def test_intent_validates_and_agrees_with_the_plain_keys() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "radio-link-failure" and intent.task == settings["task"] == "binary"
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["f1", "precision", "recall"]
    assert intent.classes == settings["classes"] == [0, 1]
    assert (intent.id_column, intent.target) == (settings["id_column"], settings["target"])
    assert intent.model.formats == settings["formats"] and intent.split.public_fraction == 0.3


def test_description_documents_every_feature_and_how_to_submit() -> None:
    text = PROBLEM.description()
    for column in [*FEATURES, TARGET]:
        assert f"`{column}`" in text
    assert "mlchallenge submit radio-link-failure model.joblib --format sklearn --wait" in text
    assert "--format predictions" in text


def test_default_size_generates_quickly() -> None:
    start = time.perf_counter()
    generated = PROBLEM.generate(seed=0)
    assert time.perf_counter() - start < 30
    assert len(generated.test) == PROBLEM.default_size == len(generated.labels)
    assert len(generated.train) >= 2 * PROBLEM.default_size

"""beam-selection: determinism, bundle, intent, beamforming, and trivial < baseline < oracle."""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import accuracy_score, top_k_accuracy_score

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.beam_selection import (
    FEATURES,
    GRID_FEATURES,
    N_BEAMS,
    N_RX,
    N_TX,
    TARGET,
    beam_gains,
    codebook,
)
from mlfo.intent import Intent

PROBLEM = get_problem("beam-selection")
SIZE = 3000
CLASSES = list(range(N_BEAMS))


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    return PROBLEM.generate(seed=0, size=SIZE)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_same_seed_writes_the_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = _files(PROBLEM.write_bundle(tmp_path / "a", seed=7, size=500))
    second = _files(PROBLEM.write_bundle(tmp_path / "b", seed=7, size=500))
    other = _files(PROBLEM.write_bundle(tmp_path / "c", seed=8, size=500))
    assert first == second
    assert first["train.parquet"] != other["train.parquet"]
    assert first["test_labels.parquet"] != other["test_labels.parquet"]


def test_bundle_has_every_file_and_no_target_in_the_test_features(tmp_path: Path) -> None:
    out = PROBLEM.write_bundle(tmp_path, seed=0, size=500)
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
    assert list(test.columns) == ["id", *FEATURES] and len(GRID_FEATURES) == 200
    assert TARGET not in test.columns
    assert all(pd.api.types.is_numeric_dtype(test[c]) for c in test.columns)
    assert set(np.unique(test[GRID_FEATURES].to_numpy())) == {0, 1, 2, 3}
    assert list(labels.columns) == ["id", TARGET, "split"]
    assert (labels["id"] == test["id"]).all() and len(test) == 500
    assert (labels["split"] == "public").sum() == 150


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, tmp_path: Path
) -> None:
    truth = data.labels[TARGET].to_numpy()
    path, fmt = PROBLEM.write_baseline(data.train, tmp_path)
    assert fmt == "sklearn"
    model = joblib.load(tmp_path / path)
    frequency = np.bincount(data.train[TARGET], minlength=N_BEAMS).astype(float)
    trivial_scores = np.tile(frequency, (len(truth), 1))  # the most frequent beams, always
    proba = np.zeros((len(truth), N_BEAMS))
    proba[:, model.classes_] = model.predict_proba(data.test[FEATURES])
    gains = data.extras["gains"][[f"gain_db_{k}" for k in CLASSES]].to_numpy()
    trivial = top_k_accuracy_score(truth, trivial_scores, k=5, labels=CLASSES)
    baseline = top_k_accuracy_score(truth, proba, k=5, labels=CLASSES)
    oracle = top_k_accuracy_score(truth, gains, k=5, labels=CLASSES)
    assert trivial < baseline - 0.25
    assert baseline < oracle - 0.03 and oracle == 1.0
    top1_trivial = accuracy_score(truth, np.full_like(truth, frequency.argmax()))
    top1_baseline = accuracy_score(truth, model.predict(data.test[FEATURES]))
    assert top1_trivial < top1_baseline < 0.8


def test_codebooks_are_orthonormal_dft() -> None:
    for n in (N_TX, N_RX):
        book = codebook(n)
        assert np.allclose(book @ book.conj().T, np.eye(n))


def test_a_single_path_picks_the_beams_that_point_at_it() -> None:
    u_tx = np.array([[-0.9, 0.0], [0.1, 0.0], [0.6, 0.0]])
    u_rx = np.array([[0.7, 0.0], [-0.8, 0.0], [0.0, 0.0]])
    amplitude = np.array([[1.0, 0.0], [1.0, 0.0], [1e-3, 0.0]], dtype=complex)
    best = beam_gains(u_tx, u_rx, amplitude).argmax(axis=1)
    tx_centres = -1 + (2 * np.arange(N_TX) + 1) / N_TX
    rx_centres = -1 + (2 * np.arange(N_RX) + 1) / N_RX
    for row, pair in enumerate(best):
        assert tx_centres[pair // N_RX] == pytest.approx(u_tx[row, 0], abs=1 / N_TX)
        assert rx_centres[pair % N_RX] == pytest.approx(u_rx[row, 0], abs=1 / N_RX)


def test_labels_spread_over_many_beam_pairs(data: GeneratedData) -> None:
    counts = np.bincount(data.train[TARGET], minlength=N_BEAMS)
    assert (counts > 0).sum() >= 20 and counts.max() < 0.25 * counts.sum()


def test_intent_validates_and_agrees_with_the_plain_keys() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "beam-selection" and intent.task == settings["task"] == "multiclass"
    assert [(m.name, m.params) for m in intent.metrics] == [
        ("top_k_accuracy", {"k": 5}),
        ("accuracy", {}),
    ]
    assert settings["metrics"] == ["top_k_accuracy", "accuracy"]
    assert intent.classes == settings["classes"] == CLASSES
    assert (intent.id_column, intent.target) == (settings["id_column"], settings["target"])
    assert intent.model.formats == settings["formats"] and intent.split.public_fraction == 0.3


def test_description_documents_every_feature_and_how_to_submit() -> None:
    text = PROBLEM.description()
    for column in ["rx_x_m", "rx_y_m", "grid_r{r}_c{c}", TARGET]:
        assert f"`{column}`" in text
    assert "mlchallenge submit beam-selection model.joblib --format sklearn --wait" in text
    assert "--format predictions" in text


def test_default_size_generates_quickly() -> None:
    start = time.perf_counter()
    generated = PROBLEM.generate(seed=0)
    assert time.perf_counter() - start < 30
    assert len(generated.test) == PROBLEM.default_size == len(generated.labels)
    assert len(generated.train) == 2 * PROBLEM.default_size

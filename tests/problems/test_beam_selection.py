"""beam-selection: beamforming, intent, and trivial < baseline < oracle on top-1 and top-5."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
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
from tests.problems.problem_data import default_generation

PROBLEM = get_problem("beam-selection")
SIZE = 3000
CLASSES = list(range(N_BEAMS))


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, baseline_model: Any
) -> None:
    truth = data.labels[TARGET].to_numpy()
    frequency = np.bincount(data.train[TARGET], minlength=N_BEAMS).astype(float)
    trivial_scores = np.tile(frequency, (len(truth), 1))  # the most frequent beams, always
    proba = np.zeros((len(truth), N_BEAMS))
    proba[:, baseline_model.classes_] = baseline_model.predict_proba(data.test[FEATURES])
    gains = data.extras["gains"][[f"gain_db_{k}" for k in CLASSES]].to_numpy()
    trivial = top_k_accuracy_score(truth, trivial_scores, k=5, labels=CLASSES)
    baseline = top_k_accuracy_score(truth, proba, k=5, labels=CLASSES)
    oracle = top_k_accuracy_score(truth, gains, k=5, labels=CLASSES)
    assert trivial < baseline - 0.25
    assert baseline < oracle - 0.03 and oracle == 1.0
    top1_trivial = accuracy_score(truth, np.full_like(truth, frequency.argmax()))
    top1_baseline = accuracy_score(truth, baseline_model.predict(data.test[FEATURES]))
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


def test_the_grid_has_200_cells_and_every_vehicle_type() -> None:
    test = PROBLEM.generate(seed=0, size=500).test
    assert len(GRID_FEATURES) == 200
    assert set(np.unique(test[GRID_FEATURES].to_numpy())) == {0, 1, 2, 3}


def test_labels_spread_over_many_beam_pairs(data: GeneratedData) -> None:
    counts = np.bincount(data.train[TARGET], minlength=N_BEAMS)
    assert (counts > 0).sum() >= 20 and counts.max() < 0.25 * counts.sum()


def test_intent_is_multiclass_on_top_1_accuracy() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "beam-selection" and intent.task == settings["task"] == "multiclass"
    assert [(m.name, m.params) for m in intent.metrics] == [
        ("accuracy", {}),
        ("top_k_accuracy", {"k": 5}),
    ]
    assert intent.primary_metric.name == "accuracy"
    assert settings["metrics"] == ["accuracy", "top_k_accuracy"]
    assert intent.classes == settings["classes"] == CLASSES


def test_description_documents_every_feature() -> None:
    text = PROBLEM.description()
    for column in ["rx_x_m", "rx_y_m", "grid_r{r}_c{c}", TARGET]:
        assert f"`{column}`" in text


def test_trains_on_twice_the_default_test_rows() -> None:
    assert len(default_generation(PROBLEM.id).data.train) == 2 * PROBLEM.default_size

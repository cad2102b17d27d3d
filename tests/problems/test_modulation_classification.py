"""modulation-classification: physics, cost intent, and trivial < baseline < oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier

from challenge.problems import GeneratedData
from challenge.problems.modulation_classification import (
    ACCURACY_FLOOR,
    ADC_STEPS,
    CLASSES,
    CONSTELLATIONS,
    FEATURES,
    N_SAMPLES,
    PROBLEM,
    TARGET,
)
from mlfo.intent import Intent, Kpi, TaskKind

BASELINE_MAX_BYTES = 100_000


def _complex(frame: pd.DataFrame) -> np.ndarray:
    """The IQ columns as complex samples (n, 128)."""
    iq = frame[FEATURES].to_numpy(np.float64)
    return np.asarray(iq[:, :N_SAMPLES] + 1j * iq[:, N_SAMPLES:])


def test_float32_bursts_and_every_class_in_training(data: GeneratedData) -> None:
    assert len(data.test) == len(data.train) == PROBLEM.default_size
    assert (data.test[FEATURES].dtypes == np.float32).all()
    assert set(data.train[TARGET]) == set(CLASSES)


def test_constellations_have_unit_power() -> None:
    np.testing.assert_allclose(np.mean(np.abs(CONSTELLATIONS) ** 2, axis=1), 1.0)
    np.testing.assert_allclose(CONSTELLATIONS[0].imag, 0.0, atol=1e-12)


def test_bursts_have_unit_power_after_agc(data: GeneratedData) -> None:
    power = np.mean(np.abs(_complex(data.test)) ** 2, axis=1)
    np.testing.assert_allclose(power, 1.0, rtol=2e-3)


def test_samples_are_quantised_like_an_adc(data: GeneratedData) -> None:
    scaled = data.test[FEATURES].to_numpy(np.float64) * ADC_STEPS
    np.testing.assert_array_equal(scaled, np.round(scaled))


def test_envelope_separates_constant_and_varying_modulations(data: GeneratedData) -> None:
    truth = data.extras["truth"]
    clean = truth["snr_db"].to_numpy() >= 14
    envelope = np.abs(_complex(data.test))
    spread = pd.Series(envelope.std(axis=1)[clean], index=truth[TARGET][clean].to_numpy())
    by_class = spread.groupby(level=0).median()
    assert by_class["GFSK"] < 0.5 * by_class["QPSK"]
    assert by_class["QPSK"] < by_class["64QAM"]


def test_snr_levels_are_uniform(data: GeneratedData) -> None:
    levels = data.extras["truth"]["snr_db"].value_counts()
    assert levels.index.min() == -10 and levels.index.max() == 18
    assert levels.min() > 0.5 * levels.max()


def test_trivial_is_worse_than_baseline_is_worse_than_oracle(
    data: GeneratedData, baseline: np.ndarray
) -> None:
    truth = data.labels[TARGET].to_numpy()
    snr = data.extras["truth"]["snr_db"].to_numpy()
    trivial = accuracy_score(truth, np.full(len(truth), data.train[TARGET].mode().iloc[0]))
    model = accuracy_score(truth, baseline)
    # an oracle that knows the transmitted modulation wherever the SNR leaves it recognisable
    oracle = accuracy_score(truth, np.where(snr >= 0, truth, baseline))
    assert trivial < ACCURACY_FLOOR - 0.15
    assert ACCURACY_FLOOR < model < ACCURACY_FLOOR + 0.06  # the floor lies just below the baseline
    assert oracle > model + 0.2
    assert model == pytest.approx(0.444, abs=0.03)


def test_a_shallow_tree_on_three_statistics_stays_below_the_floor(data: GeneratedData) -> None:
    def statistics(frame: pd.DataFrame) -> np.ndarray:
        x = _complex(frame)
        envelope = np.abs(x)
        return np.stack(
            [envelope.std(axis=1), np.abs((x**2).mean(axis=1)), np.abs((x**4).mean(axis=1))],
            axis=1,
        )

    tree = DecisionTreeClassifier(max_depth=4, random_state=0)
    tree.fit(statistics(data.train), data.train[TARGET])
    accuracy = accuracy_score(data.labels[TARGET], tree.predict(statistics(data.test)))
    assert 0.2 < accuracy < ACCURACY_FLOOR


def test_baseline_improves_with_snr(data: GeneratedData, baseline: np.ndarray) -> None:
    truth = data.labels[TARGET].to_numpy()
    snr = data.extras["truth"]["snr_db"].to_numpy()
    low = accuracy_score(truth[snr <= -6], baseline[snr <= -6])
    high = accuracy_score(truth[snr >= 10], baseline[snr >= 10])
    assert high > low + 0.3


def test_intent_gates_on_accuracy_and_ranks_by_cost() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert intent.task is TaskKind.MULTICLASS
    assert intent.classes == settings["classes"] == CLASSES
    assert intent.primary_metric.name == "accuracy"
    assert intent.policies[0].kind == "validity_floor"
    assert intent.policies[0].params == {"metric": "accuracy", "min": ACCURACY_FLOOR}
    assert intent.ranking.by == "cost"
    assert intent.ranking.cost is not None
    # only host-measured figures above the format's empty model, timed as the median of runs
    weighted = {Kpi.MODEL_CPU_MS_PER_1K, Kpi.MODEL_MEMORY_MB, Kpi.MODEL_SIZE_MB}
    assert set(intent.ranking.cost.weights) == set(intent.ranking.cost.reference) == weighted
    assert weighted <= set(intent.kpis)
    assert intent.ranking.cost.repeats >= 3


def test_description_gives_the_floor_and_the_cost_formula() -> None:
    text = PROBLEM.description()
    assert f"**{ACCURACY_FLOOR}**" in text
    assert "**per sample**" in text and "Es/N0 = SNR + 9 dB" in text
    assert "much more often than by\nchance" not in text
    assert "cost = Σ_k w_k · KPI_k / ref_k" in text
    assert "lower is better" in text
    for name in CLASSES:
        assert f"`{name}`" in text, name

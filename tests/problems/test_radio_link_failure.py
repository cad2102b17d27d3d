"""radio-link-failure: P.838 physics, intent, and trivial < baseline < oracle on F1."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.radio_link_failure import (
    FEATURES,
    TARGET,
    dish_gain_dbi,
    rain_attenuation_db,
    rain_coefficients,
)
from mlfo.intent import Intent
from tests.problems.problem_data import default_generation

PROBLEM = get_problem("radio-link-failure")
SIZE = 10_000


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, baseline: np.ndarray
) -> None:
    truth = data.labels[TARGET].to_numpy()
    trivial = f1_score(truth, np.zeros_like(truth))  # the majority class: never fails
    model = f1_score(truth, baseline)
    attenuation = data.extras["attenuation"]["attenuation_db"].to_numpy()
    oracle = f1_score(truth, attenuation > data.test["fade_margin_db"].to_numpy())
    assert trivial == 0.0
    assert model > 0.1
    assert oracle > model + 0.3


def test_a_small_test_set_holds_both_classes() -> None:
    assert set(PROBLEM.generate(seed=0, size=2000).labels[TARGET]) == {0, 1}


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


def test_no_published_day_follows_another(data: GeneratedData) -> None:
    # the day after a test day is never published: its `rain_yesterday_mm_h` would be the target
    # day's rain; the same holds for training days
    for table in (data.train, data.test):
        days = np.unique(table["day_of_year"].to_numpy().astype(int))
        assert not np.isin((days + 1) % 365, days).any()


def test_every_link_of_a_region_gets_the_same_forecast(data: GeneratedData) -> None:
    # a region-day is known by its observed rain of yesterday; pooling links' forecasts adds nothing
    wet = data.test[data.test["rain_yesterday_mm_h"] > 0]
    keys = ["day_of_year", "rain_yesterday_mm_h"]
    for column in ("forecast_rain_mm_h", "forecast_temperature_c", "forecast_wind_m_s"):
        assert (wet.groupby(keys)[column].nunique() == 1).all(), column
    assert wet.groupby(keys).ngroups > 20


def test_fade_margin_is_the_rx_level_above_a_receiver_threshold(data: GeneratedData) -> None:
    threshold = data.test["rx_level_dbm"] - data.test["fade_margin_db"]
    assert threshold.between(-90.01, -64.99).all()
    assert data.test["rx_level_dbm"].between(-90, -10).all()
    assert data.test["fade_margin_db"].median() > 15


def test_dish_gains_are_those_of_real_antennas() -> None:
    gains = dish_gain_dbi(np.array([0.3, 0.6, 1.8]), np.array([80.0, 23.0, 7.0]))
    assert gains == pytest.approx([45.4, 40.6, 39.8], abs=0.1)


def test_failures_follow_rain_and_frequency(data: GeneratedData) -> None:
    train = data.train
    wet, dry = train["forecast_rain_mm_h"] > 20, train["forecast_rain_mm_h"] == 0
    assert train.loc[wet, TARGET].mean() > 10 * train.loc[dry, TARGET].mean()


def test_intent_is_binary_on_f1_precision_and_recall() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "radio-link-failure" and intent.task == settings["task"] == "binary"
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["f1", "precision", "recall"]
    assert intent.classes == settings["classes"] == [0, 1]


def test_description_documents_every_feature() -> None:
    text = PROBLEM.description()
    for column in [*FEATURES, TARGET]:
        assert f"`{column}`" in text


def test_trains_on_at_least_twice_the_default_test_rows() -> None:
    assert len(default_generation(PROBLEM.id).data.train) >= 2 * PROBLEM.default_size

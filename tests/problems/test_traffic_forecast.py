"""traffic-forecast: simulator physics, intent, and trivial < baseline < oracle."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error

from challenge.problems import GeneratedData
from challenge.problems.traffic_forecast import (
    FEATURES,
    HORIZON_H,
    PROBLEM,
    TARGET,
    TEST_ROWS_PER_CELL,
)
from mlfo.intent import Intent, TaskKind


def test_every_step_of_the_horizon_is_asked(data: GeneratedData) -> None:
    assert set(data.test["horizon"]) == set(range(1, HORIZON_H + 1))


def test_size_is_the_number_of_test_rows() -> None:
    small = PROBLEM.generate(3, TEST_ROWS_PER_CELL + 5)
    assert len(small.test) == TEST_ROWS_PER_CELL + 5
    assert small.test["cell"].nunique() == 2


def test_history_is_known_at_the_origin(data: GeneratedData) -> None:
    # at step 24 the same hour yesterday is the origin itself: it must equal the last value
    last_step = data.train[(data.train["horizon"] == HORIZON_H) & data.train["lag_24h"].notna()]
    assert len(last_step) > 100
    np.testing.assert_allclose(last_step["lag_24h"], last_step["last_value"])
    assert data.train[FEATURES].drop(columns=["lag_24h", "lag_168h"]).notna().all().all()


def test_missing_samples_are_present_but_rare(data: GeneratedData) -> None:
    share = data.test["lag_24h"].isna().mean()
    assert 0.01 < share < 0.1


def test_seasonality_and_holidays_shape_the_expected_traffic(data: GeneratedData) -> None:
    frame = data.test.assign(expected=data.extras["expected"]["expected"].to_numpy())
    by_hour = frame.groupby("hour")["expected"].mean()
    assert by_hour.max() > 2 * by_hour.min()
    assert by_hour.idxmin() in range(1, 7)
    workday = frame[(frame["day_of_week"] < 5) & (frame["holiday"] == 0)]
    office = workday[workday["hour"].between(10, 13)]["expected"].mean()
    holiday = frame[(frame["holiday"] == 1) & frame["hour"].between(10, 13)]["expected"].mean()
    assert frame["holiday"].any()
    assert holiday < office


def test_target_is_positive_and_noisy_around_the_expectation(data: GeneratedData) -> None:
    target = data.labels[TARGET].to_numpy()
    expected = data.extras["expected"]["expected"].to_numpy()
    assert (target > 0).all()
    ratio = np.log(target / expected)
    assert 0.1 < ratio.std() < 0.2


def test_trivial_is_worse_than_baseline_is_worse_than_oracle(
    data: GeneratedData, baseline: np.ndarray
) -> None:
    truth = data.labels[TARGET].to_numpy()
    persistence = data.test["lag_24h"].fillna(data.test["last_value"]).to_numpy()
    trivial = mean_absolute_error(truth, persistence)
    model = mean_absolute_error(truth, baseline)
    oracle = mean_absolute_error(truth, data.extras["expected"]["expected"])
    assert model < 0.85 * trivial
    assert oracle < 0.75 * model
    assert model == pytest.approx(0.288, abs=0.02)


def test_intent_is_a_valid_forecast_intent() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert intent.task is TaskKind.FORECAST
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["mae", "smape"]
    assert intent.preprocessing[0].params == {"column": "horizon", "steps": HORIZON_H}
    assert settings["slug"] == PROBLEM.id
    assert "classes" not in settings


def test_description_documents_every_feature() -> None:
    text = PROBLEM.description()
    for column in [*FEATURES, TARGET]:
        assert f"`{column}`" in text, column
    assert "MAE" in text and "sMAPE" in text

"""traffic-forecast: simulator physics, determinism, intent, and trivial < baseline < oracle."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
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


@pytest.fixture(scope="module")
def data() -> GeneratedData:
    """The default size and seed, as participants get it."""
    return PROBLEM.generate(0)


@pytest.fixture(scope="module")
def baseline(data: GeneratedData, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The baseline's test predictions, from the model file it writes."""
    bundle = tmp_path_factory.mktemp("baseline")
    path, fmt = PROBLEM.write_baseline(data.train, bundle)
    assert (path, fmt) == ("baseline/model.joblib", "sklearn")
    assert (bundle / path).stat().st_size < 2_000_000
    return np.asarray(joblib.load(bundle / path).predict(data.test[FEATURES]))


def test_sizes_and_columns(data: GeneratedData) -> None:
    assert len(data.test) == len(data.labels) == PROBLEM.default_size
    assert list(data.test.columns) == ["id", *FEATURES]
    assert list(data.train.columns) == ["id", *FEATURES, TARGET]
    assert list(data.labels.columns) == ["id", TARGET, "split"]
    assert TARGET not in data.test.columns
    assert set(data.test["horizon"]) == set(range(1, HORIZON_H + 1))


def test_size_is_the_number_of_test_rows() -> None:
    small = PROBLEM.generate(3, TEST_ROWS_PER_CELL + 5)
    assert len(small.test) == TEST_ROWS_PER_CELL + 5
    assert small.test["cell"].nunique() == 2


def test_same_seed_same_frames_other_seed_differs() -> None:
    first, second, other = (PROBLEM.generate(seed, 1_000) for seed in (7, 7, 8))
    pd.testing.assert_frame_equal(first.train, second.train)
    pd.testing.assert_frame_equal(first.test, second.test)
    pd.testing.assert_frame_equal(first.labels, second.labels)
    assert not first.labels[TARGET].equals(other.labels[TARGET])


def test_bundles_are_byte_identical(tmp_path: Path) -> None:
    one = PROBLEM.write_bundle(tmp_path / "one", seed=5, size=1_000)
    two = PROBLEM.write_bundle(tmp_path / "two", seed=5, size=1_000)
    for name in ("train.parquet", "test.parquet", "test_labels.parquet", "baseline/model.joblib"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


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
    assert model == pytest.approx(0.293, abs=0.02)


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

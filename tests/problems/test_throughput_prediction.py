"""throughput-prediction: WLAN physics, intent, and trivial < baseline < oracle on MAE."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.throughput_prediction import FEATURES, TARGET, mcs_rate, path_loss_db
from mlfo.intent import Intent
from tests.problems.problem_data import default_generation

PROBLEM = get_problem("throughput-prediction")
SIZE = 3000


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, baseline: np.ndarray
) -> None:
    truth = data.labels[TARGET].to_numpy()
    trivial = mean_absolute_error(truth, np.full_like(truth, data.train[TARGET].mean()))
    model = mean_absolute_error(truth, baseline)
    oracle = mean_absolute_error(truth, data.extras["noiseless"][TARGET].to_numpy())
    assert trivial > 1.2 * model
    assert model > 5 * oracle


def test_rate_follows_the_mcs_table_and_path_loss_grows_with_distance_and_walls() -> None:
    assert mcs_rate(np.array([-5.0, 2.0, 10.0, 40.0])).tolist() == [0.0, 8.6, 25.8, 143.4]
    assert np.all(np.diff(mcs_rate(np.linspace(-10, 45, 200))) >= 0)
    loss = path_loss_db(np.array([1.0, 5.0, 20.0, 20.0]), np.array([0, 0, 0, 2]))
    assert np.all(np.diff(loss[:3]) > 0) and loss[3] - loss[2] == pytest.approx(10.0)
    assert loss[2] - loss[1] == pytest.approx(35 * np.log10(4))


def test_throughput_falls_with_sharing_and_rises_with_signal(data: GeneratedData) -> None:
    train = data.train
    # what the rows of a deployment give: the stations each AP serves
    sharing = train.groupby(["deployment", "ap"])["ap"].transform("size")
    alone = train[(sharing == 1) & (train["overlapping_aps"] == 0)]
    crowded = train[(sharing >= 8) & (train["overlapping_aps"] >= 2)]
    assert len(alone) > 10 and len(crowded) > 10
    assert alone[TARGET].median() > 10 * crowded[TARGET].median()
    strong, weak = train[train["snr_db"] > 45], train[train["snr_db"] < 20]
    assert strong[TARGET].median() > 2 * weak[TARGET].median()
    assert (train[TARGET] >= 0).all() and train["channel_width_mhz"].isin([20, 40, 80]).all()


def test_rows_give_positions_and_channels_not_the_contention(data: GeneratedData) -> None:
    latent = {"stations_on_ap", "contending_aps", "hidden_aps", "sinr_db", "interference_dbm"}
    assert not latent & set(FEATURES)
    test = data.test
    # every station of a deployment sees the same AP at the same place on the same channel
    per_ap = test.groupby(["deployment", "ap"])[["ap_x_m", "ap_y_m", "channel"]].nunique()
    assert (per_ap == 1).all().all()
    stations = test.groupby("deployment")["ap"].transform("size")
    assert (stations <= test["stations_in_deployment"]).all()  # the last deployment may be cut
    assert test["channel"].isin(range(8)).all()
    assert not set(test["deployment"]) & set(data.train["deployment"])


def test_noise_floor_is_minus_94_dbm_per_20_mhz(data: GeneratedData) -> None:
    noise = data.test["rssi_dbm"] - data.test["snr_db"]
    expected = -94.0 + 10 * np.log10(data.test["channel_width_mhz"] / 20.0)
    np.testing.assert_allclose(noise, expected, atol=1e-3)
    assert (noise < -82.0).all()  # the carrier-sense threshold lies above the noise


def test_intent_is_a_regression_on_mae_and_rmse() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "throughput-prediction"
    assert intent.task == settings["task"] == "regression"
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["mae", "rmse"]


def test_description_documents_every_feature() -> None:
    text = PROBLEM.description()
    for column in [*FEATURES, TARGET]:
        assert f"`{column}`" in text


def test_trains_on_twice_the_default_test_rows() -> None:
    assert len(default_generation(PROBLEM.id).data.train) == 2 * PROBLEM.default_size

"""kpi-anomaly: fault physics, intent, and trivial < baseline < oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from challenge.problems import GeneratedData
from challenge.problems.kpi_anomaly import (
    KPIS,
    PAST_WINDOWS,
    PROBLEM,
    TARGET,
    WINDOW_MIN,
    WINDOWS_PER_NODE,
)
from mlfo.intent import Intent, TaskKind


def _faults(data: GeneratedData) -> pd.DataFrame:
    """Test windows with their injected fault type."""
    return data.test.assign(fault_type=data.extras["faults"]["fault_type"].to_numpy())


def test_both_classes_and_whole_training_weeks(data: GeneratedData) -> None:
    assert set(data.labels[TARGET]) == {0, 1}
    assert len(data.train) % WINDOWS_PER_NODE == 0
    assert len(data.train) >= len(data.test)


def test_each_row_summarises_its_past_hour_only(data: GeneratedData) -> None:
    # training rows are whole weeks of windows in time order: the past hour of a window is the
    # PAST_WINDOWS windows just before it, never one after it
    for kpi in KPIS:
        means = data.train[f"{kpi}_mean"].to_numpy(np.float64).reshape(-1, WINDOWS_PER_NODE)
        past = data.train[f"{kpi}_past_mean"].to_numpy(np.float64).reshape(-1, WINDOWS_PER_NODE)
        before = np.stack([means[:, k : k - PAST_WINDOWS] for k in range(PAST_WINDOWS)])
        np.testing.assert_allclose(past[:, PAST_WINDOWS:], before.mean(axis=0), atol=2e-3)


def test_test_windows_do_not_overlap_each_other_in_time(data: GeneratedData) -> None:
    # a test row's window and past hour span 75 minutes; rows of one function are 90 minutes apart
    assert (PAST_WINDOWS + 1) * WINDOW_MIN < 90
    assert "node" not in data.test.columns


def test_faults_are_a_minority_of_every_type(data: GeneratedData) -> None:
    rate = data.labels[TARGET].mean()
    assert 0.04 < rate < 0.2
    types = _faults(data)["fault_type"].value_counts()
    assert set(types.index) == {"none", "interface_down", "memory_leak", "packet_loss_ramp"}
    assert (data.labels[TARGET].to_numpy() == (_faults(data)["fault_type"] != "none")).all()


def test_each_fault_shows_in_its_kpis(data: GeneratedData) -> None:
    frame = _faults(data)
    by_type = frame.groupby("fault_type")
    normal = by_type.get_group("none")
    down = by_type.get_group("interface_down")
    leak = by_type.get_group("memory_leak")
    ramp = by_type.get_group("packet_loss_ramp")
    assert down["packet_loss_max"].median() > 5 * normal["packet_loss_max"].median()
    assert down["registrations_min"].median() < normal["registrations_min"].median()
    assert leak["memory_slope"].median() > normal["memory_slope"].median() + 0.02
    assert ramp["packet_loss_mean"].median() > 3 * normal["packet_loss_mean"].median()
    assert ramp["latency_mean"].median() > normal["latency_mean"].median()


def test_load_follows_a_daily_cycle(data: GeneratedData) -> None:
    normal = _faults(data).query("fault_type == 'none'")
    cpu_by_hour = normal.groupby("hour")["cpu_mean"].mean()
    assert cpu_by_hour.max() > cpu_by_hour.min() + 20
    assert cpu_by_hour.idxmin() in range(0, 8)


def test_trivial_is_worse_than_baseline_is_worse_than_oracle(
    data: GeneratedData, baseline: np.ndarray
) -> None:
    truth = data.labels[TARGET].to_numpy()
    majority = np.full_like(truth, data.train[TARGET].mode().iloc[0])
    trivial = f1_score(truth, majority, zero_division=0.0)
    model = f1_score(truth, baseline)
    oracle = f1_score(truth, (_faults(data)["fault_type"] != "none").astype(int))
    assert trivial == 0.0
    assert 0.6 < model < 0.93
    assert oracle == 1.0
    assert model == pytest.approx(0.844, abs=0.03)


def test_slow_faults_are_the_hard_ones(data: GeneratedData, baseline: np.ndarray) -> None:
    frame = _faults(data).assign(flagged=baseline)
    recall = frame.groupby("fault_type")["flagged"].mean()
    assert recall["interface_down"] > 0.95
    assert recall["memory_leak"] < recall["interface_down"] - 0.2


def test_intent_is_a_valid_binary_intent() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert intent.task is TaskKind.BINARY
    assert intent.classes == settings["classes"] == [0, 1]
    assert [m.name for m in intent.metrics] == settings["metrics"]
    assert intent.primary_metric.name == "f1"
    assert settings["slug"] == PROBLEM.id


def test_description_documents_every_kpi() -> None:
    text = PROBLEM.description()
    for kpi in ("cpu", "memory", "registrations", "packet_loss", "latency"):
        assert f"`{kpi}`" in text, kpi
    assert "F1" in text and "detection delay" in text

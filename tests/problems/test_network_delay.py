"""network-delay: queueing physics, intent, and trivial < baseline < oracle on MAPE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_percentage_error

from challenge.problems import get_problem
from challenge.problems.base import GeneratedData
from challenge.problems.network_delay import (
    FEATURES,
    HOP_COLUMNS,
    MAX_HOPS,
    PACKET_BITS,
    PROPAGATION_MS_PER_KM,
    TARGET,
    TEST_NODES,
    TRAIN_NODES,
    mm1k_delay_s,
)
from mlfo.intent import Intent
from tests.problems.problem_data import default_generation

PROBLEM = get_problem("network-delay")
MAX_LINKS = 4 * TEST_NODES[1]  # more directed links than any topology has
SIZE = 3000


def test_trivial_is_worse_than_baseline_and_baseline_worse_than_oracle(
    data: GeneratedData, baseline: np.ndarray
) -> None:
    truth = data.labels[TARGET].to_numpy()
    trivial = mean_absolute_percentage_error(truth, np.full_like(truth, data.train[TARGET].mean()))
    model = mean_absolute_percentage_error(truth, baseline)
    oracle = mean_absolute_percentage_error(truth, data.extras["noiseless"][TARGET].to_numpy())
    assert trivial > 2 * model
    assert model > 2 * oracle
    assert oracle < 0.06  # only the ~5 % measurement noise is left


def test_test_topologies_are_larger_than_any_training_topology(data: GeneratedData) -> None:
    assert data.train["nodes"].max() <= TRAIN_NODES[1] < TEST_NODES[0] <= data.test["nodes"].min()
    assert (data.train["hops"] >= 1).all() and data.test["hops"].max() > data.train["hops"].max()


def test_mm1k_delay_matches_queueing_theory() -> None:
    mu = np.array([1000.0])
    light = mm1k_delay_s(np.array([0.5]), mu, 64)
    assert light == pytest.approx(1 / (mu - 0.5 * mu), rel=1e-6)  # M/M/1 when the buffer is large
    overloaded = mm1k_delay_s(np.array([5.0]), mu, 16)
    assert overloaded == pytest.approx(16 / mu, rel=0.05)  # a full buffer ahead of every packet
    critical = mm1k_delay_s(np.array([1.0]), mu, 16)
    assert critical == pytest.approx((16 / 2) / (mu * (1 - 1 / 17)), rel=1e-6)
    grid = mm1k_delay_s(np.linspace(0.05, 2.0, 50), np.full(50, 1000.0), 32)
    assert np.all(np.diff(grid) > 0)


def _hops(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A per-hop column for every hop: (rows, MAX_HOPS)."""
    return frame[[f"hop{i}_{name}" for i in range(1, MAX_HOPS + 1)]].to_numpy(np.float64)


def _link_loads(frame: pd.DataFrame) -> np.ndarray:
    """The load of every hop of every row: the demands of the rows of its topology that cross it."""
    links = _hops(frame, "link").astype(np.int64)
    on = links > 0
    key = frame["topology"].to_numpy(np.int64)[:, None] * (MAX_LINKS + 1) + links
    keys, inverse = np.unique(key[on], return_inverse=True)
    demand = np.broadcast_to(frame["demand_mbps"].to_numpy(np.float64)[:, None], links.shape)
    load = np.zeros(links.shape)
    load[on] = np.bincount(inverse, weights=demand[on], minlength=len(keys))[inverse]
    return load


def _whole_topologies(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose topology has all its paths in the table (the last one may be cut)."""
    rows = frame.groupby("topology")["topology"].transform("size")
    return np.asarray(rows == frame["nodes"] * (frame["nodes"] - 1))


def test_delay_grows_with_congestion(data: GeneratedData) -> None:
    train = data.train[_whole_topologies(data.train)]
    capacity = _hops(train, "capacity_mbps")
    utilization = np.where(capacity > 0, _link_loads(train) / np.maximum(capacity, 1), 0)
    busy = utilization.max(axis=1) > 0.9
    quiet = utilization.max(axis=1) < 0.3
    per_hop = train[TARGET] / train["hops"]
    assert per_hop[busy].median() > 2 * per_hop[quiet].median()


def test_the_rows_of_a_topology_determine_every_delay(data: GeneratedData) -> None:
    # RouteNet's inputs: topology, routing and traffic matrix; the queueing of each link, summed
    # along the route, gives the noiseless delay of every path of a whole topology
    whole = _whole_topologies(data.test)
    test = data.test[whole]
    assert whole.mean() > 0.9
    capacity = _hops(test, "capacity_mbps")
    on = capacity > 0
    mu = np.where(on, capacity, 1.0) * 1e6 / PACKET_BITS
    buffer = np.broadcast_to(test["buffer_packets"].to_numpy()[:, None], capacity.shape)
    loads = _link_loads(test)
    queueing = np.zeros(capacity.shape)
    for k in np.unique(buffer):
        at = on & (buffer == k)
        queueing[at] = mm1k_delay_s(loads[at] / capacity[at], mu[at], float(k))
    delay = (1000.0 * queueing + PROPAGATION_MS_PER_KM * _hops(test, "length_km")).sum(axis=1)
    truth = data.extras["noiseless"][TARGET].to_numpy()[whole]
    np.testing.assert_allclose(delay, truth, rtol=1e-3)


def test_hops_are_described_from_the_source_and_padded_with_zeros(data: GeneratedData) -> None:
    hops = data.test["hops"].to_numpy()
    described = _hops(data.test, "link") > 0
    assert (described.sum(axis=1) == hops).all()
    assert (described == (np.arange(MAX_HOPS)[None, :] < hops[:, None])).all()
    assert ((_hops(data.test, "capacity_mbps") > 0) == described).all()
    assert (_hops(data.test, "length_km") >= 0).all()
    assert (_hops(data.test, "link") <= data.test["links"].to_numpy()[:, None]).all()
    assert not {"sum_utilization", "max_utilization", "mean_utilization"} & set(FEATURES)
    assert not any(c.endswith("load_mbps") for c in FEATURES)


def test_intent_is_a_regression_on_mape_and_mre() -> None:
    settings = PROBLEM.settings()
    intent = Intent.model_validate(settings["intent"])
    assert settings["slug"] == "network-delay" and intent.task == settings["task"] == "regression"
    assert [m.name for m in intent.metrics] == settings["metrics"] == ["mape", "mre"]


def test_description_documents_every_feature() -> None:
    text = PROBLEM.description()
    for column in [c for c in FEATURES if not c.startswith("hop")] + [TARGET]:
        assert f"`{column}`" in text
    for name in HOP_COLUMNS:
        assert f"`hop{{i}}_{name}`" in text


def test_trains_on_twice_the_default_test_rows() -> None:
    assert len(default_generation(PROBLEM.id).data.train) == 2 * PROBLEM.default_size

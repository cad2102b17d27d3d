"""Network delay: per-path mean delay from topology, routing and traffic (GNN Challenge style)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from challenge.problems.base import (
    GeneratedData,
    Problem,
    competition_settings,
    markdown_page,
    save_joblib_baseline,
)
from challenge.problems.measurement import Measurement, simulate_measured

PROBLEM_ID = "network-delay"
ID_COLUMN = "id"
TARGET = "delay_ms"
MAX_HOPS = 16
"""Hops described one by one (the longest path of these topologies has about 10)."""
HOP_COLUMNS = {
    "link": "link",
    "capacity_mbps": "capacity",
    "length_km": "length",
}
"""Per hop along the route: the link's number in its topology (from 1), capacity and length."""
HOP_FEATURES = [f"hop{i}_{name}" for name in HOP_COLUMNS for i in range(1, MAX_HOPS + 1)]
FEATURES = [
    "topology",
    "nodes",
    "links",
    "buffer_packets",
    "source",
    "destination",
    "demand_mbps",
    "hops",
    *HOP_FEATURES,
]
"""RouteNet's inputs, one row per path: the topology (its links, capacities and lengths), the
routing (each path's links) and the traffic matrix (each path's demand). The load of a link is the
sum of the demands of the rows of its topology whose route crosses it: left to the model."""
TRAIN_RATIO = 2
TRAIN_NODES, TEST_NODES = (8, 18), (20, 34)  # test topologies are larger than any seen in training
CAPACITIES_MBPS = np.array([10.0, 25.0, 40.0, 100.0])
PACKET_BITS = 8000.0  # mean packet size: 1,000 bytes
PROPAGATION_MS_PER_KM = 0.005
NOISE_SIGMA = 0.05  # log-normal measurement noise of the simulated mean delay
MEASUREMENT = Measurement(ID_COLUMN, TARGET, FEATURES, NOISE_SIGMA, TRAIN_RATIO, group="topology")


def mm1k_delay_s(rho: np.ndarray, mu: np.ndarray, k: float) -> np.ndarray:
    """Mean sojourn time (s) of delivered packets in an M/M/1/K queue with load rho, rate mu."""
    rho = np.maximum(rho, 1e-9)
    near = np.abs(rho - 1.0) < 1e-6
    r = np.where(near, 0.5, rho)  # placeholder away from the singularity
    r_k1 = r ** (k + 1)
    in_system = np.where(near, k / 2.0, r / (1 - r) - (k + 1) * r_k1 / (1 - r_k1))
    p_full = np.where(near, 1.0 / (k + 1), (1 - r) * r**k / (1 - r_k1))
    return in_system / (rho * mu * (1 - p_full))


def _topology(n: int, rng: np.random.Generator) -> nx.Graph:
    """A connected random topology: preferential attachment or a rewired ring lattice."""
    graph_seed = int(rng.integers(0, 2**31))
    if rng.random() < 0.5:
        return nx.barabasi_albert_graph(n, 2, seed=graph_seed)
    return nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=graph_seed)


def _sample(n: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One topology with a traffic matrix: per-path features and the noiseless mean delay (ms)."""
    graph = _topology(n, rng)
    edges = np.array(sorted(graph.edges()), dtype=np.int64)
    src = np.concatenate([edges[:, 0], edges[:, 1]])  # both directions are separate links
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    n_links = len(src)
    capacity = np.tile(rng.choice(CAPACITIES_MBPS, len(edges)), 2)
    xy = rng.uniform(0.0, 300.0, (n, 2))
    length = np.linalg.norm(xy[src] - xy[dst], axis=1)
    buffer = float(rng.choice([16, 32, 64]))

    # OSPF-like routing: weight inversely proportional to capacity, length breaks ties.
    weight = 100.0 / capacity + length * 1e-6
    _, pred = dijkstra(csr_matrix((weight, (src, dst)), shape=(n, n)), return_predecessors=True)
    link_of = np.full((n, n), n_links, dtype=np.int64)  # n_links: the padding "no link"
    link_of[src, dst] = np.arange(n_links)
    s, d = np.nonzero(~np.eye(n, dtype=bool))
    hops_links = []
    cur = d.copy()
    while np.any(cur != s):
        prev = np.where(cur != s, pred[s, cur], cur)
        hops_links.append(np.where(cur != s, link_of[prev, cur], n_links))
        cur = prev
    # (max hops, paths) from the source on, padded with n_links (walked above from the end)
    backwards = np.stack(hops_links)
    length_of = (backwards < n_links).sum(axis=0)
    step = length_of[None, :] - 1 - np.arange(len(backwards))[:, None]
    route = np.where(step >= 0, backwards[np.maximum(step, 0), np.arange(len(s))[None, :]], n_links)

    # Poisson flows per source-destination pair, scaled to a target peak link utilisation.
    demand = rng.exponential(1.0, len(s)) * rng.uniform(0.2, 1.0, n)[s]
    on_link = np.bincount(route.ravel(), weights=np.tile(demand, len(route)), minlength=n_links + 1)
    scale = rng.uniform(0.5, 1.2) / np.max(on_link[:n_links] / capacity)
    demand, load = demand * scale, on_link[:n_links] * scale
    mu = capacity * 1e6 / PACKET_BITS
    util = load / capacity
    link_ms = 1000.0 * mm1k_delay_s(util, mu, buffer) + PROPAGATION_MS_PER_KM * length

    def pad(values: np.ndarray, fill: float) -> np.ndarray:
        """Per-link values laid out along every route: (max hops, paths), `fill` past the end."""
        return np.append(values, fill)[route]

    valid = route < n_links
    hops = valid.sum(axis=0)
    features = {
        "topology": np.zeros(len(s)),
        "nodes": np.full(len(s), n),
        "links": np.full(len(s), n_links),
        "buffer_packets": np.full(len(s), buffer),
        "source": s,
        "destination": d,
        "demand_mbps": demand,
        "hops": hops,
    }
    per_link = {"link": np.arange(1, n_links + 1), "capacity": capacity, "length": length}
    for name, source in HOP_COLUMNS.items():
        along = pad(per_link[source], 0.0)
        for i in range(MAX_HOPS):
            features[f"hop{i + 1}_{name}"] = along[i] if i < len(along) else np.zeros(len(s))
    return features, pad(link_ms, 0.0).sum(axis=0)


def _topology_rows(
    nodes: tuple[int, int], rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The paths of one topology with a node count in `nodes`: features and noiseless delay."""
    return _sample(int(rng.integers(nodes[0], nodes[1] + 1)), rng)


def simulate(seed: int, size: int) -> GeneratedData:
    """Paths of small training topologies and `size` paths of larger test topologies."""
    return simulate_measured(
        seed,
        size,
        MEASUREMENT,
        train=partial(_topology_rows, TRAIN_NODES),
        test=partial(_topology_rows, TEST_NODES),
    )


def settings() -> dict[str, Any]:
    """competition.yaml for this problem, with its full ML intent."""
    return competition_settings(
        PROBLEM, id_column=ID_COLUMN, target=TARGET, metrics=[("mape", {}), ("mre", {})]
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """A ridge regression of the log delay on each row's own measures (no link loads: it does not
    group the rows of a topology)."""
    own = ["nodes", "links", "buffer_packets", "demand_mbps", "hops"]
    hops = [c for c in HOP_FEATURES if not c.endswith("_link")]
    scale = ColumnTransformer([("own", StandardScaler(), [*own, *hops])])
    model = TransformedTargetRegressor(
        regressor=make_pipeline(scale, Ridge(alpha=1.0)),
        func=np.log,
        inverse_func=np.exp,
    )
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir, compress=3)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="Network delay prediction",
    summary="Predict the mean delay of each path of a network from topology, routing and traffic.",
    task="regression",
    default_size=20_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L2",
    data_handling={
        "source": "simulated by the built-in simulator challenge/problems/network_delay.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)

"""modulation-classification: classify IQ sequences, ranked by inference cost (Xilinx, 2021)."""

from __future__ import annotations

from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import fftconvolve
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from challenge.problems.base import (
    LISTED_KPIS,
    PUBLIC_FRACTION,
    GeneratedData,
    Problem,
    competition_settings,
    markdown_page,
    save_joblib_baseline,
    split_column,
)
from challenge.problems.chunks import PARALLEL_ROWS, ordered_chunks

PROBLEM_ID = "modulation-classification"
ID, TARGET = "id", "modulation"
CLASSES = ["BPSK", "QPSK", "8PSK", "16QAM", "64QAM", "PAM4", "GFSK", "AM-DSB"]
N_SAMPLES, SPS = 128, 8
SYMBOLS = N_SAMPLES // SPS + 10
"""Symbols drawn per example: the window plus the filter's transients and a timing offset."""
SNR_DB = np.arange(-10, 20, 2)
MAX_CFO = 1e-3
"""Largest carrier frequency offset, in cycles per sample."""
MAX_DOPPLER = 2e-3
RRC_SPAN = 8
"""Length of the root-raised-cosine pulse, in symbols."""
CHUNK = 16_384
ADC_STEPS = 256
"""The receiver quantises each sample to steps of 1 / ADC_STEPS (of the unit-power scale)."""
FEATURES = [f"i{k}" for k in range(N_SAMPLES)] + [f"q{k}" for k in range(N_SAMPLES)]
ACCURACY_FLOOR = 0.41
"""Just below the baseline's accuracy (0.44), as the real event's 56 % floor was below its ~59 %."""
COST_WEIGHTS = {"model_cpu_ms_per_1k": 1.0, "model_memory_mb": 1.0, "model_size_mb": 1.0}
"""The cost counts only what the model adds to its format's empty model, all measured by the host
(docs/sandbox.md#kpis): CPU time (loading and predicting, per 1,000 examples), peak memory, upload
size. CPU time, the kernel's count of the work, is used rather than wall-clock latency: it does
not reward threads and barely moves with the load of the machine."""
COST_REFERENCE = {"model_cpu_ms_per_1k": 80.0, "model_memory_mb": 100.0, "model_size_mb": 1.0}
"""Scales that give the baseline about 1 per term: measured here (median of 3 runs, above the
empty scikit-learn model's 147 ms of CPU per 1,000 rows and 222 MB) it adds 82 ms per 1,000 rows
and 102 MB, in a 7 KB file; a depth-4 tree adds 8 ms and 17 MB."""
COST_REPEATS = 3


def _constellations() -> np.ndarray:
    """Unit-power points of the linear modulations, each tiled to 64 entries (one row per class)."""
    qam = {m: np.arange(m) * 2.0 - (m - 1) for m in (4, 8)}
    points = [
        np.array([1, -1], dtype=complex),
        np.exp(1j * (np.pi / 4 + np.pi / 2 * np.arange(4))),
        np.exp(2j * np.pi * np.arange(8) / 8),
        (qam[4][:, None] + 1j * qam[4][None, :]).ravel(),
        (qam[8][:, None] + 1j * qam[8][None, :]).ravel(),
        qam[4].astype(complex),
    ]
    rows = [p / np.sqrt(np.mean(np.abs(p) ** 2)) for p in points]
    return np.stack([np.resize(p, 64) for p in rows])


CONSTELLATIONS = _constellations()


def _rrc(beta: float = 0.35, span: int = 8) -> np.ndarray:
    """Root-raised-cosine pulse over `span` symbols at SPS samples per symbol."""
    t = np.arange(-span * SPS // 2, span * SPS // 2 + 1) / SPS
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (np.sin(np.pi * t * (1 - beta)) + 4 * beta * t * np.cos(np.pi * t * (1 + beta))) / (
            np.pi * t * (1 - (4 * beta * t) ** 2)
        )
    h[t == 0] = 1 - beta + 4 * beta / np.pi
    edge = np.isclose(np.abs(t), 1 / (4 * beta))
    h[edge] = (
        beta
        / np.sqrt(2)
        * (
            (1 + 2 / np.pi) * np.sin(np.pi / (4 * beta))
            + (1 - 2 / np.pi) * np.cos(np.pi / (4 * beta))
        )
    )
    return np.asarray(h / np.sqrt(np.sum(h**2)))


def _polyphase() -> np.ndarray:
    """The RRC taps per symbol offset (rows) and sample phase (columns)."""
    taps = _rrc(span=RRC_SPAN)
    centre = RRC_SPAN * SPS // 2
    index = centre + SPS * (RRC_SPAN // 2 - np.arange(RRC_SPAN + 1))[:, None] + np.arange(SPS)
    return np.where(index < taps.size, taps[np.minimum(index, taps.size - 1)], 0.0)


POLYPHASE = _polyphase()


def _gaussian(bt: float = 0.5, span: int = 4) -> np.ndarray:
    """Gaussian frequency pulse of GFSK, unit area."""
    t = np.arange(-span * SPS // 2, span * SPS // 2 + 1) / SPS
    sigma = np.sqrt(np.log(2)) / (2 * np.pi * bt)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    return np.asarray(g / g.sum())


def _linear(rng: np.random.Generator, classes: np.ndarray) -> np.ndarray:
    """Pulse-shaped symbol streams of the linear modulations (classes 0-5)."""
    symbols = CONSTELLATIONS[classes[:, None], rng.integers(0, 64, size=(classes.size, SYMBOLS))]
    # polyphase filtering: output sample SPS*j + p mixes the symbols j-4 ... j+4
    padded = np.pad(symbols, ((0, 0), (RRC_SPAN // 2, RRC_SPAN // 2)))
    windows = sliding_window_view(padded, RRC_SPAN + 1, axis=1)
    return np.asarray((windows @ POLYPHASE).reshape(classes.size, SYMBOLS * SPS))


def _gfsk(rng: np.random.Generator, n: int) -> np.ndarray:
    """GFSK with modulation index 0.5 and BT = 0.5: a constant envelope with smooth phase."""
    bits = np.repeat(rng.choice([-1.0, 1.0], size=(n, SYMBOLS)), SPS, axis=1)
    frequency = fftconvolve(bits, _gaussian()[None, :], mode="same", axes=1)
    return np.asarray(np.exp(1j * np.pi * 0.5 * np.cumsum(frequency, axis=1) / SPS))


def _am(rng: np.random.Generator, n: int) -> np.ndarray:
    """AM-DSB with carrier: a slow message of three tones, modulation depth 0.3-0.9."""
    t = np.arange(SYMBOLS * SPS)
    freqs = rng.uniform(0.004, 0.03, size=(n, 3, 1))
    tones = np.sin(2 * np.pi * freqs * t + rng.uniform(0, 2 * np.pi, size=(n, 3, 1))).sum(axis=1)
    message = tones / np.abs(tones).max(axis=1, keepdims=True)
    return np.asarray((1 + rng.uniform(0.3, 0.9, size=(n, 1)) * message).astype(complex))


PHASOR_STEP = 16
"""`_phasor` splits the sample index t = 16 * high + low (N_SAMPLES is a multiple of it)."""


def _phasor(omega: np.ndarray) -> np.ndarray:
    """exp(j * omega * t) for t = 0 .. N_SAMPLES - 1, one row per omega (shape (n, 1)).

    As exp(j omega 16 high) * exp(j omega low): 24 complex exponentials per row instead of 128
    (the exponentials were most of a 1M-row generation's time)."""
    high = np.exp(1j * omega * np.arange(0, N_SAMPLES, PHASOR_STEP))
    low = np.exp(1j * omega * np.arange(PHASOR_STEP))
    return (high[:, :, None] * low[:, None, :]).reshape(omega.shape[0], N_SAMPLES)


def _power(signal: np.ndarray) -> np.ndarray:
    """Mean power of each row (without the square roots of np.abs)."""
    return np.mean(signal.real**2 + signal.imag**2, axis=1, keepdims=True)


def _channel(rng: np.random.Generator, clean: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
    """Rician fading with Doppler, carrier offset, random phase, AWGN, then unit-power AGC.

    In place on one array where it can: a chunk's complex arrays are 32 MB, each new one costs
    its page faults (they were most of a 1M-row generation's time)."""
    n = clean.shape[0]
    k_factor = rng.uniform(1.0, 10.0, size=(n, 1))
    scatter = (rng.normal(size=(n, 1)) + 1j * rng.normal(size=(n, 1))) / np.sqrt(2)
    # the gain: line of sight plus the scattered part with its Doppler
    received = _phasor(2 * np.pi * rng.uniform(-MAX_DOPPLER, MAX_DOPPLER, size=(n, 1)))
    received *= np.sqrt(1 / (k_factor + 1)) * scatter
    received += np.sqrt(k_factor / (k_factor + 1))
    received *= clean
    rotation = _phasor(2 * np.pi * rng.uniform(-MAX_CFO, MAX_CFO, size=(n, 1)))
    rotation *= np.exp(1j * rng.uniform(0, 2 * np.pi, size=(n, 1)))
    received *= rotation
    del rotation
    sigma = np.sqrt(_power(received) / 10 ** (snr_db[:, None] / 10) / 2)
    for part in (received.real, received.imag):  # the noise's real parts are drawn first
        noise = rng.normal(size=received.shape)
        noise *= sigma
        part += noise
    received /= np.sqrt(_power(received))
    return received


def _examples(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n examples: IQ as float32 (n, 256), class index, SNR in dB."""
    classes = rng.integers(0, len(CLASSES), size=n)
    snr_db = rng.choice(SNR_DB, size=n).astype(float)
    streams = np.empty((n, SYMBOLS * SPS), dtype=complex)
    linear = classes < 6
    streams[linear] = _linear(rng, classes[linear])
    streams[classes == 6] = _gfsk(rng, int(np.sum(classes == 6)))
    streams[classes == 7] = _am(rng, int(np.sum(classes == 7)))
    start = SYMBOLS * SPS // 2 - N_SAMPLES // 2 + rng.integers(0, SPS, size=(n, 1))
    clean = np.take_along_axis(streams, start + np.arange(N_SAMPLES), axis=1)
    clean = clean / np.sqrt(_power(clean))
    received = _channel(rng, clean, snr_db)
    iq = np.concatenate([received.real, received.imag], axis=1)
    iq *= ADC_STEPS
    np.round(iq, out=iq)
    iq /= ADC_STEPS
    return iq.astype(np.float32), classes, snr_db


def _chunk(seed: int, stream: int, n: int, chunk: int) -> tuple[np.ndarray, ...]:
    """The examples of chunk number `chunk` of a table of `n` (none past its end)."""
    size = min(CHUNK, n - chunk * CHUNK)
    if size <= 0:
        return np.empty((0, 2 * N_SAMPLES), dtype=np.float32), np.empty(0, np.int64), np.empty(0)
    return _examples(np.random.default_rng([seed, 2021, stream, chunk]), size)


def _table(seed: int, stream: int, n: int, first_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n examples (id, i0..q127) and their truth (id, modulation, snr_db), made in chunks."""
    iq = np.empty((n, 2 * N_SAMPLES), dtype=np.float32)
    classes, snr_db = np.empty(n, dtype=np.int64), np.empty(n)
    made = ordered_chunks(partial(_chunk, seed, stream, n), parallel=n >= PARALLEL_ROWS)
    with closing(made):
        for first, examples in zip(range(0, n, CHUNK), made, strict=False):
            last = min(first + CHUNK, n)
            iq[first:last], classes[first:last], snr_db[first:last] = examples
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    features = pd.DataFrame(iq, columns=FEATURES, copy=False)
    features.insert(0, ID, ids)
    truth = pd.DataFrame({ID: ids, TARGET: np.asarray(CLASSES)[classes], "snr_db": snr_db})
    return features, truth


def simulate(seed: int, size: int) -> GeneratedData:
    """Simulate `size` test examples and as many training examples."""
    train, train_truth = _table(seed, 0, size, 0)
    train[TARGET] = train_truth[TARGET].to_numpy()
    test, truth = _table(seed, 1, size, size)
    labels = truth[[ID, TARGET]].copy()
    labels["split"] = split_column(size, PUBLIC_FRACTION, np.random.default_rng([seed, 2021, 2]))
    return GeneratedData(train=train, test=test, labels=labels, extras={"truth": truth})


def settings() -> dict[str, Any]:
    """competition.yaml of modulation-classification, with its ML intent (cost ranking)."""
    floor = {"kind": "validity_floor", "params": {"metric": "accuracy", "min": ACCURACY_FLOOR}}
    return competition_settings(
        PROBLEM,
        id_column=ID,
        target=TARGET,
        classes=CLASSES,
        metrics=["accuracy", "f1_macro"],
        time_s=300,
        chunk_rows=10_000,
        policies=[floor],
        kpis=[*LISTED_KPIS, "model_latency_ms_per_1k", "model_cpu_ms_per_1k", "model_memory_mb"],
        ranking={
            "by": "cost",
            "cost": {"weights": COST_WEIGHTS, "reference": COST_REFERENCE, "repeats": COST_REPEATS},
        },
    )


def _step(func: Any, **kwargs: Any) -> FunctionTransformer:
    """A stateless step that applies one NumPy function (picklable without this package)."""
    return FunctionTransformer(func, kw_args=kwargs)


def _products(pairs: np.ndarray, combine: np.ndarray) -> list[tuple[str, FunctionTransformer]]:
    """Steps that form products of channels on the last axis: linear map, square, linear map."""
    return [
        ("mix", _step(np.dot, b=pairs)),
        ("square", _step(np.square)),
        ("combine", _step(np.dot, b=combine)),
    ]


def _log_ratio(combine: np.ndarray) -> list[tuple[str, FunctionTransformer]]:
    """Steps from summed moments to log(|moment|^2 / power^2)."""
    return [
        ("sum", _step(np.sum, axis=1)),
        ("sum_square", _step(np.square)),
        ("magnitudes", _step(np.dot, b=combine * 1e6)),
        ("log", _step(np.log1p)),
        ("ratio", _step(np.dot, b=np.array([[1.0], [-1.0]]))),
    ]


def baseline_model() -> Pipeline:
    """Higher-order-moment features (NumPy steps only) and a logistic regression."""
    # (i, q) -> (i, q, i+q, i-q) -> squares -> (|x|^2, Re x^2, Im x^2) per sample
    moments = _products(
        np.array([[1.0, 0, 1, 1], [0, 1, 1, -1]]),
        np.array([[1.0, 1, 0], [1, -1, 0], [0, 0, 0.5], [0, 0, -0.5]]),
    )
    # (p, r, s) -> (Re x^4, Im x^4, |x|^4) per sample
    fourth = _products(
        np.array([[0.0, 0, 0, 0], [1, 0, 1, 1], [0, 1, 1, -1]]),
        np.array([[1.0, 0, 1], [-1, 0, 1], [0, 0.5, 0], [0, -0.5, 0]]),
    )
    envelope = Pipeline(
        [
            ("power", _step(np.take, indices=0, axis=2)),
            ("sort", _step(np.sort, axis=1)),
            ("bins", _step(np.reshape, shape=(-1, 16, N_SAMPLES // 16))),
            ("mean", _step(np.mean, axis=2)),
            ("normalize", Normalizer(norm="l1")),
        ]
    )
    second = Pipeline(_log_ratio(np.array([[0.0, 1], [1, 0], [1, 0]])))
    fourth_order = Pipeline([*fourth, *_log_ratio(np.array([[1.0, 0], [1, 0], [0, 1]]))])
    return Pipeline(
        [
            ("array", _step(np.asarray, dtype=np.float64)),
            ("iq", _step(np.reshape, shape=(-1, 2, N_SAMPLES))),
            ("samples", _step(np.swapaxes, axis1=1, axis2=2)),
            *moments,
            ("features", FeatureUnion([("env", envelope), ("m2", second), ("m4", fourth_order)])),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(max_iter=1000)),
        ]
    )


def write_baseline(train: pd.DataFrame, bundle_dir: Path) -> tuple[str, str]:
    """Fit the moment-feature logistic regression and save it with joblib."""
    model = baseline_model()
    model.fit(train[FEATURES], train[TARGET])
    return save_joblib_baseline(model, bundle_dir)


PROBLEM = Problem(
    id=PROBLEM_ID,
    title="Modulation classification under a cost budget",
    summary="Recognise the modulation of short IQ bursts; valid entries rank by inference cost.",
    task="multiclass",
    default_size=8_000,
    settings=settings,
    simulate=simulate,
    description=partial(markdown_page, __file__),
    write_baseline=write_baseline,
    intelligence_level="L2",
    data_handling={
        "source": "simulated by challenge/problems/modulation_classification.py",
        "nature": "synthetic",
        "sharing": "open: generated by the platform from a seed; anyone may redistribute it",
    },
)

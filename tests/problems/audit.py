"""Leak and headroom audit of a built-in problem's generated data, as a strong team would do it.

Every check works from the tables and the simulator's ground truth (`GeneratedData.extras`) alone:
- `target_in_features`: no test target appears exactly among the test features more often than
  chance (a forecast whose later rows carry an earlier row's target as a lag);
- `order_signal`: the test rows' order (and so the id) says nothing about the target (time-ordered
  rows whose neighbours reveal a fault);
- `duplicated_rows`: train and test share no id and no feature row;
- `scores`: the primary metric of the trivial predictor, the shipped baseline, a plain gradient
  boosting model and an oracle that knows the generator's noiseless truth, with the bootstrap width
  of the baseline's score on the public board.

Used by tests/problems/test_invariants.py and bench/problem_audit.py (which also runs it against
older generators to show that the checks catch their leaks).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from challenge.problems import GeneratedData, Problem
from challenge.scoring import bootstrap_interval, get_scorer
from tests.problems.problem_data import features

Predict = Callable[[GeneratedData, np.ndarray], np.ndarray]
"""(data, the gradient-boosting predictions) -> the oracle's predictions."""


def _column(data: GeneratedData, extra: str, column: str) -> np.ndarray:
    return np.asarray(data.extras[extra][column].to_numpy())


def _beam_oracle(data: GeneratedData, boosted: np.ndarray) -> np.ndarray:
    gains = data.extras["gains"].drop(columns="id").to_numpy()
    return gains if boosted.ndim == 2 else np.asarray(gains.argmax(axis=1))


def _rlf_oracle(data: GeneratedData, _: np.ndarray) -> np.ndarray:
    attenuation = _column(data, "attenuation", "attenuation_db")
    return (attenuation > data.test["fade_margin_db"].to_numpy()).astype(np.int64)


def _kpi_oracle(data: GeneratedData, _: np.ndarray) -> np.ndarray:
    return (_column(data, "faults", "fault_type") != "none").astype(np.int64)


def _modulation_oracle(data: GeneratedData, boosted: np.ndarray) -> np.ndarray:
    """The transmitted class wherever the SNR leaves it recognisable (>= 0 dB), else the model's."""
    truth = data.extras["truth"]
    return np.where(truth["snr_db"].to_numpy() >= 0, truth["modulation"].to_numpy(), boosted)


ORACLES: dict[str, Predict] = {
    "network-delay": lambda data, _: _column(data, "noiseless", "delay_ms"),
    "throughput-prediction": lambda data, _: _column(data, "noiseless", "throughput_mbps"),
    "radio-link-failure": _rlf_oracle,
    "beam-selection": _beam_oracle,
    "traffic-forecast": lambda data, _: _column(data, "expected", "expected"),
    "kpi-anomaly": _kpi_oracle,
    "modulation-classification": _modulation_oracle,
}
"""Per problem: the noise-floor oracle, from the generator's truth."""


@dataclass(frozen=True)
class Scores:
    """The primary metric of four predictors on the whole test set, and its bootstrap width."""

    metric: str
    greater_is_better: bool
    trivial: float
    baseline: float
    boosted: float
    oracle: float
    baseline_width: float
    """Width of the 95 % bootstrap interval of the baseline's score on the public rows."""

    def gain(self, worse: float, better: float) -> float:
        """How much `better` improves on `worse`, in the metric's direction."""
        return (better - worse) if self.greater_is_better else (worse - better)

    @property
    def span(self) -> float:
        """Trivial to oracle: the whole range a submission can cover."""
        return self.gain(self.trivial, self.oracle)

    def as_row(self) -> dict[str, Any]:
        """The figures, rounded for a table."""
        return {
            "metric": self.metric,
            "trivial": round(self.trivial, 4),
            "baseline": round(self.baseline, 4),
            "boosted": round(self.boosted, 4),
            "oracle": round(self.oracle, 4),
            "baseline_ci_width": round(self.baseline_width, 4),
            "spread_over_width": round(abs(self.oracle - self.baseline) / self.baseline_width, 1),
        }


def settings_of(problem: Problem) -> dict[str, Any]:
    """The problem's competition settings."""
    settings: dict[str, Any] = problem.settings()
    return settings


def is_continuous(problem: Problem) -> bool:
    """Whether the target is a real number (regression, forecast)."""
    return settings_of(problem).get("classes") is None


def target_in_features(problem: Problem, data: GeneratedData) -> float:
    """The share of test targets found exactly among the test features, less the share of their
    neighbours found there: about 0 by chance, large when later rows carry earlier rows' targets.

    The neighbours are the target shifted by one step of its rounding (up and down), so that
    chance matches count alike on both sides; a continuous target never matches by chance.
    """
    if not is_continuous(problem):
        return 0.0
    target = settings_of(problem)["target"]
    truth = data.labels[target].to_numpy(np.float64)
    values = data.test[features(problem)].to_numpy(np.float64).ravel()
    pool = np.unique(values[np.isfinite(values)].astype(np.float32))
    step = next(
        (10.0**-d for d in range(9) if np.allclose(np.round(truth, d), truth, rtol=0, atol=1e-9)),
        None,
    )

    def found(candidates: np.ndarray) -> float:
        return float(np.isin(candidates.astype(np.float32), pool).mean())

    shifts = [step, -step] if step is not None else [truth * 1e-6, -truth * 1e-6]
    return found(truth) - float(np.mean([found(truth + shift) for shift in shifts]))


def order_signal(problem: Problem, data: GeneratedData) -> float:
    """z-score of the dependence between neighbouring test rows' targets, in id order.

    Regression: lag-1 correlation of the ranks; classes: how often two neighbours share a class,
    against the rate for rows in random order. |z| stays below about 4 when the order says nothing.
    """
    target = settings_of(problem)["target"]
    frame = data.labels.sort_values(settings_of(problem)["id_column"])
    y = frame[target].to_numpy()
    n = len(y)
    if is_continuous(problem):
        ranks = pd.Series(y).rank().to_numpy()
        r = np.corrcoef(ranks[:-1], ranks[1:])[0, 1]
        return float(r * math.sqrt(n - 1))
    agree = float(np.mean(y[:-1] == y[1:]))
    shares = pd.Series(y).value_counts(normalize=True).to_numpy()
    expected = float(np.sum(shares**2))
    return (agree - expected) / math.sqrt(expected * (1 - expected) / (n - 1))


def duplicated_rows(problem: Problem, data: GeneratedData) -> tuple[int, float]:
    """(ids shared by train and test, share of test feature rows that also appear in train)."""
    id_column = settings_of(problem)["id_column"]
    shared_ids = len(np.intersect1d(data.train[id_column], data.test[id_column]))
    columns = features(problem)
    train_rows = set(pd.util.hash_pandas_object(data.train[columns], index=False))
    test_rows = pd.util.hash_pandas_object(data.test[columns], index=False)
    return shared_ids, float(test_rows.isin(train_rows).mean())


def _boosted(problem: Problem, data: GeneratedData) -> np.ndarray:
    """A plain gradient-boosting model on the features (log target for a relative error)."""
    settings = settings_of(problem)
    x, y = data.train[features(problem)], data.train[settings["target"]]
    common = {"max_iter": 100, "early_stopping": True, "random_state": 0}
    if is_continuous(problem):
        metric = settings["metrics"][0]
        if metric in ("mape", "mre"):
            model = HistGradientBoostingRegressor(**common)
            return np.exp(model.fit(x, np.log(y)).predict(data.test[features(problem)]))
        loss = "absolute_error" if metric == "mae" else "squared_error"
        regressor = HistGradientBoostingRegressor(loss=loss, **common)
        return np.asarray(regressor.fit(x, y).predict(data.test[features(problem)]))
    classifier = HistGradientBoostingClassifier(**common)
    classifier.fit(x, y)
    if _ranks(problem):
        return _matrix(problem, classifier, data.test[features(problem)])
    if settings["metrics"][0] == "f1":  # the threshold that maximises F1 is below one half
        proba = classifier.predict_proba(data.test[features(problem)])[:, 1]
        return (proba > _f1_threshold(classifier.predict_proba(x)[:, 1], y.to_numpy())).astype(
            np.int64
        )
    return np.asarray(classifier.predict(data.test[features(problem)]))


def _ranks(problem: Problem) -> bool:
    """Whether the primary metric ranks classes (top-k): predictions are probability matrices."""
    return bool(settings_of(problem)["metrics"][0] == "top_k_accuracy")


def _matrix(problem: Problem, model: Any, x: pd.DataFrame) -> np.ndarray:
    """A model's class probabilities, one column per class of the problem."""
    classes = list(settings_of(problem)["classes"])
    matrix = np.zeros((len(x), len(classes)))
    matrix[:, [classes.index(c) for c in model.classes_]] = model.predict_proba(x)
    return matrix


def _f1_threshold(proba: np.ndarray, truth: np.ndarray) -> float:
    """The probability threshold with the best F1 on the training rows."""
    best, at = -1.0, 0.5
    for threshold in np.linspace(0.05, 0.95, 19):
        flagged = proba > threshold
        tp = float(np.sum(flagged & (truth == 1)))
        f1 = 2 * tp / max(float(flagged.sum() + truth.sum()), 1.0)
        if f1 > best:
            best, at = f1, float(threshold)
    return at


def _trivial(problem: Problem, data: GeneratedData, score: Callable[[np.ndarray], float]) -> float:
    """The best constant prediction: the training median, or the best single class."""
    settings = settings_of(problem)
    y = data.train[settings["target"]]
    n = len(data.test)
    if is_continuous(problem):
        return score(np.full(n, float(y.median())))
    if _ranks(problem):
        shares = y.value_counts().reindex(settings["classes"], fill_value=0).to_numpy(float)
        return score(np.tile(shares / shares.sum(), (n, 1)))
    return max(score(np.full(n, value, dtype=object)) for value in sorted(set(y)))


def _baseline(problem: Problem, data: GeneratedData) -> np.ndarray:
    """The shipped baseline, trained on the train table and loaded from the file it writes."""
    with tempfile.TemporaryDirectory() as folder:
        path, _ = problem.write_baseline(data.train, Path(folder))
        model = joblib.load(Path(folder) / path)
    if _ranks(problem):
        return _matrix(problem, model, data.test[features(problem)])
    return np.asarray(model.predict(data.test[features(problem)]))


def _params(problem: Problem) -> dict[str, Any]:
    """The primary metric's params, as the intent gives them."""
    params: dict[str, Any] = settings_of(problem)["intent"]["metrics"][0].get("params", {})
    return params


def scores(problem: Problem, data: GeneratedData) -> Scores:
    """Trivial, baseline, boosted and oracle scores on the primary metric (label predictions)."""
    settings = settings_of(problem)
    target, classes = settings["target"], settings.get("classes")
    name = settings["metrics"][0]
    scorer = get_scorer(name, **_params(problem))
    truth = data.labels[target].to_numpy()

    def score(predictions: np.ndarray) -> float:
        return float(scorer(truth, predictions, classes=classes))

    boosted = _boosted(problem, data)
    baseline = _baseline(problem, data)
    public = (data.labels["split"] == "public").to_numpy()
    low, high = bootstrap_interval(truth[public], baseline[public], scorer, classes=classes)
    return Scores(
        metric=name,
        greater_is_better=scorer.greater_is_better,
        trivial=_trivial(problem, data, score),
        baseline=score(baseline),
        boosted=score(boosted),
        oracle=score(ORACLES[problem.id](data, boosted)),
        baseline_width=high - low,
    )

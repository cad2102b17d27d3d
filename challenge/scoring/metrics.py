"""The built-in metric functions: scikit-learn where it has the metric, our formulas otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

from challenge.scoring.errors import MetricParamsError
from challenge.scoring.labels import encode_labels

Classes = Sequence[Any] | None


def _floats(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as 1-d float64, checked to have the same length."""
    true = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} values but y_pred has {pred.size}")
    if true.size == 0:
        raise ValueError("no rows to score")
    return true, pred


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error (scikit-learn)."""
    return float(skm.mean_absolute_error(y_true, y_pred))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error (scikit-learn)."""
    return float(skm.mean_squared_error(y_true, y_pred))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error (scikit-learn)."""
    return float(skm.root_mean_squared_error(y_true, y_pred))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination (scikit-learn)."""
    return float(skm.r2_score(y_true, y_pred))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """scikit-learn's mean absolute percentage error: a fraction, |y| floored at machine epsilon."""
    return float(skm.mean_absolute_percentage_error(y_true, y_pred))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric MAPE as a fraction in [0, 2]: mean of 2|y-p| / (|y|+|p|), 0/0 counted as 0."""
    true, pred = _floats(y_true, y_pred)
    return float(np.mean(smape_terms(true, pred)))


def smape_terms(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-row terms of sMAPE."""
    denominator = np.abs(true) + np.abs(pred)
    numerator = 2.0 * np.abs(true - pred)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def wmape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Weighted MAPE as a fraction: sum |y-p| / sum |y|."""
    true, pred = _floats(y_true, y_pred)
    total = float(np.sum(np.abs(true)))
    if total == 0:
        raise ValueError("wmape is undefined when every true value is 0; use mae instead")
    return float(np.sum(np.abs(true - pred)) / total)


def mre(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean relative error as a fraction: mean of |y-p| / |y|; refuses true values equal to 0."""
    true, pred = _floats(y_true, y_pred)
    zeros = int(np.count_nonzero(true == 0))
    if zeros:
        raise ValueError(
            f"mre is undefined when a true value is 0 ({zeros} such rows); "
            "use smape or wmape for targets that can be 0"
        )
    return float(np.mean(np.abs(true - pred) / np.abs(true)))


def _encoded(
    y_true: np.ndarray, y_pred: np.ndarray | None, classes: Classes
) -> tuple[np.ndarray, np.ndarray | None, list[Any] | None]:
    """Labels as class indices with labels=range(K) when the classes are known, else unchanged."""
    if classes is None:
        return y_true, y_pred, None
    true = encode_labels(y_true, classes, what="true labels")
    pred = None if y_pred is None else encode_labels(y_pred, classes, what="predicted labels")
    return true, pred, list(range(len(classes)))


def _positive(classes: Classes) -> Any:
    """The positive class: index 1 of the classes when known, else scikit-learn's default 1."""
    if classes is not None and len(classes) != 2:
        raise ValueError(
            f"this metric is for binary tasks (2 classes) but {len(classes)} classes were given; "
            "use the _macro or _micro variant"
        )
    return 1


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Fraction of correct labels (scikit-learn)."""
    true, pred, _ = _encoded(y_true, y_pred, classes)
    return float(skm.accuracy_score(true, pred))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Mean recall over the classes present in y_true (scikit-learn)."""
    true, pred, _ = _encoded(y_true, y_pred, classes)
    return float(skm.balanced_accuracy_score(true, pred))


def _prf(
    kind: str, average: str, y_true: np.ndarray, y_pred: np.ndarray, classes: Classes
) -> float:
    """Precision, recall or F1 with scikit-learn, zero_division=0."""
    true, pred, labels = _encoded(y_true, y_pred, classes)
    function = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
    kwargs: dict[str, Any] = {"average": average, "zero_division": 0.0}
    if average == "binary":
        kwargs["pos_label"] = _positive(classes)
    else:
        kwargs["labels"] = labels
    return float(function[kind](true, pred, **kwargs))


def f1(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """F1 of the positive class (binary)."""
    return _prf("f1", "binary", y_true, y_pred, classes)


def f1_macro(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Unweighted mean of per-class F1 over the declared classes."""
    return _prf("f1", "macro", y_true, y_pred, classes)


def f1_micro(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """F1 from the global counts of true positives, false negatives and false positives."""
    return _prf("f1", "micro", y_true, y_pred, classes)


def precision(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Precision of the positive class (binary)."""
    return _prf("precision", "binary", y_true, y_pred, classes)


def precision_macro(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Unweighted mean of per-class precision over the declared classes."""
    return _prf("precision", "macro", y_true, y_pred, classes)


def recall(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Recall of the positive class (binary)."""
    return _prf("recall", "binary", y_true, y_pred, classes)


def recall_macro(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Unweighted mean of per-class recall over the declared classes."""
    return _prf("recall", "macro", y_true, y_pred, classes)


def probability_matrix(y_pred: np.ndarray, classes: Classes) -> np.ndarray:
    """A probability or score matrix as 2-d float64, checked against the number of classes."""
    matrix = np.asarray(y_pred, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = np.column_stack([1.0 - matrix, matrix])
    if matrix.ndim != 2:
        raise ValueError(f"expected an (n, n_classes) matrix, got shape {matrix.shape}")
    if classes is not None and matrix.shape[1] != len(classes):
        raise ValueError(
            f"the matrix has {matrix.shape[1]} columns but there are {len(classes)} classes"
        )
    return matrix


def roc_auc(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """ROC AUC (scikit-learn): positive-class scores if binary, one-vs-rest macro if multiclass."""
    true, _, labels = _encoded(y_true, None, classes)
    scores = np.asarray(y_pred, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.ndim == 1:
        if classes is not None:
            _positive(classes)
        return float(skm.roc_auc_score(true, scores))
    return float(
        skm.roc_auc_score(
            true, probability_matrix(scores, classes), multi_class="ovr", labels=labels
        )
    )


def log_loss(y_true: np.ndarray, y_pred: np.ndarray, *, classes: Classes = None) -> float:
    """Cross-entropy of the probabilities (scikit-learn; natural log)."""
    true, _, labels = _encoded(y_true, None, classes)
    return float(skm.log_loss(true, y_proba=probability_matrix(y_pred, classes), labels=labels))


def top_k_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, *, k: int = 5, classes: Classes = None
) -> float:
    """Fraction of rows whose true class is among the k most probable (scikit-learn)."""
    check_k({"k": k})
    true, _, labels = _encoded(y_true, None, classes)
    matrix = probability_matrix(y_pred, classes)
    scores = matrix[:, 1] if matrix.shape[1] == 2 else matrix
    return float(skm.top_k_accuracy_score(true, scores, k=k, labels=labels))


def check_k(params: Mapping[str, Any]) -> None:
    """Refuse a k that is not a positive integer."""
    k = params.get("k", 5)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise MetricParamsError(
            f"top_k_accuracy: k must be a positive integer, got {k!r}; "
            'write e.g. {"name": "top_k_accuracy", "params": {"k": 5}}'
        )

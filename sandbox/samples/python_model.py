"""Sample `python` submission: a logistic regression trained inside the sandbox."""

import numpy as np
import pandas as pd

FEATURES = ["f0", "f1", "f2", "f3"]


class Model:
    """Fits on the public training data when allowed, else uses fixed weights."""

    def __init__(self) -> None:
        self.weights = np.array([1.0, -1.0, 0.5, 0.0])
        self.bias = 0.0

    def fit(self, train: pd.DataFrame) -> None:
        x = train[FEATURES].to_numpy()
        y = train["label"].to_numpy()
        for _ in range(200):
            p = 1 / (1 + np.exp(-(x @ self.weights + self.bias)))
            self.weights -= 0.1 * x.T @ (p - y) / len(y)
            self.bias -= 0.1 * float(np.mean(p - y))

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-(features[FEATURES].to_numpy() @ self.weights + self.bias)))
        return np.column_stack([1 - p, p])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(features)[:, 1] > 0.5).astype(int)

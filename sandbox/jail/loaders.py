"""Per-format model loaders, run inside the jail; each returns a `Predictor`."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .protocol import JobSpec, SubmissionFormat, TaskKind


class SubmissionError(Exception):
    """The model could not be loaded: the team must fix the upload."""


@dataclass
class Prediction:
    """Raw model output: one value per row (or a frame), optional (n, n_classes) probabilities."""

    values: Any
    proba: Any = None


class Predictor(Protocol):
    """A loaded model."""

    def fit(self, train: pd.DataFrame) -> None:
        """Train on the public training data (python format only)."""

    def predict(self, features: pd.DataFrame) -> Prediction:
        """Predict; `features` includes the id column."""


def _is_classification(spec: JobSpec) -> bool:
    return TaskKind(spec.task).is_classification


def _matrix(spec: JobSpec, features: pd.DataFrame) -> np.ndarray:
    return features.drop(columns=[spec.id_column]).to_numpy(dtype=np.float32)


def _order_proba(proba: np.ndarray, model_classes: Any, spec: JobSpec) -> np.ndarray:
    """Reorder probability columns from the model's class order to the competition's."""
    if spec.classes is None or model_classes is None:
        return proba
    names = [str(c) for c in model_classes]
    wanted = [str(c) for c in spec.classes]
    if len(names) != proba.shape[1] or not set(names) <= set(wanted):
        return proba  # not the model's classes: left for the output check to report
    # A class the model never saw in training gets probability 0.
    ordered = np.zeros((proba.shape[0], len(wanted)), dtype=np.float64)
    for column, name in enumerate(names):
        ordered[:, wanted.index(name)] = proba[:, column]
    return ordered


class SklearnPredictor:
    """A joblib or pickle file holding an estimator with `predict`."""

    def __init__(self, spec: JobSpec) -> None:
        import joblib

        self.spec = spec
        self.model = joblib.load(spec.model_path)
        if not callable(getattr(self.model, "predict", None)):
            raise SubmissionError(
                f"the file holds a {type(self.model).__name__}, which has no predict(); "
                "save a fitted scikit-learn estimator or pipeline with joblib.dump"
            )

    def fit(self, train: pd.DataFrame) -> None:
        """Pre-trained formats are never re-fitted."""

    def predict(self, features: pd.DataFrame) -> Prediction:
        """Call predict (and predict_proba for classifiers) on the feature frame."""
        frame = features.drop(columns=[self.spec.id_column])
        values = np.asarray(self.model.predict(frame))
        proba = None
        if _is_classification(self.spec) and callable(getattr(self.model, "predict_proba", None)):
            raw = np.asarray(self.model.predict_proba(frame))
            proba = _order_proba(raw, getattr(self.model, "classes_", None), self.spec)
        return Prediction(values, proba)


class OnnxPredictor:
    """An ONNX graph with one float input (n, n_features); outputs: labels, then probabilities."""

    def __init__(self, spec: JobSpec) -> None:
        import onnxruntime as ort

        self.spec = spec
        options = ort.SessionOptions()
        options.intra_op_num_threads = spec.threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                spec.model_path, options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise SubmissionError(f"onnxruntime cannot load the model: {exc}") from exc
        self.input_name = self.session.get_inputs()[0].name

    def fit(self, train: pd.DataFrame) -> None:
        """Pre-trained formats are never re-fitted."""

    def predict(self, features: pd.DataFrame) -> Prediction:
        """Run the graph on a float32 matrix."""
        outputs = self.session.run(None, {self.input_name: _matrix(self.spec, features)})
        values = np.asarray(outputs[0]).reshape(len(features), -1)
        values = values[:, 0] if values.shape[1] == 1 else values
        proba = None
        if _is_classification(self.spec) and len(outputs) > 1:
            proba = self._proba(outputs[1])
        return Prediction(values, proba)

    def _proba(self, raw: Any) -> np.ndarray:
        if isinstance(raw, list) and raw and isinstance(raw[0], dict):
            keys = list(raw[0])
            matrix = np.array([[row[k] for k in keys] for row in raw], dtype=np.float64)
            return _order_proba(matrix, keys, self.spec)
        return np.asarray(raw, dtype=np.float64)


class TorchScriptPredictor:
    """A TorchScript module taking a float32 tensor (n, n_features)."""

    def __init__(self, spec: JobSpec) -> None:
        import torch

        self.spec = spec
        torch.set_num_threads(spec.threads)
        self.device = torch.device(spec.device)
        try:
            self.module = torch.jit.load(spec.model_path, map_location=self.device)
        except Exception as exc:
            raise SubmissionError(f"torch.jit.load cannot load the model: {exc}") from exc
        self.module.eval()

    def fit(self, train: pd.DataFrame) -> None:
        """Pre-trained formats are never re-fitted."""

    def predict(self, features: pd.DataFrame) -> Prediction:
        """Forward pass; (n, n_classes) logits become a softmax and an argmax label."""
        import torch

        tensor = torch.from_numpy(_matrix(self.spec, features).copy()).to(self.device)
        with torch.no_grad():
            out = self.module(tensor)
        if isinstance(out, tuple | list):
            out = out[0]
        result = out.detach().cpu().numpy()
        classes = self.spec.classes
        if _is_classification(self.spec) and classes and result.ndim == 2 and result.shape[1] > 1:
            proba = torch.softmax(torch.from_numpy(result).double(), dim=1).numpy()
            labels = np.array(classes, dtype=object)[proba.argmax(axis=1)]
            return Prediction(labels, proba)
        return Prediction(result.reshape(len(features), -1)[:, 0] if result.ndim == 2 else result)


def find_mlflow_root(folder: Path) -> Path:
    """The folder holding the `MLmodel` file: the top or its single subfolder."""
    if (folder / "MLmodel").is_file():
        return folder
    subfolders = [p for p in folder.iterdir() if p.is_dir()]
    if len(subfolders) == 1 and (subfolders[0] / "MLmodel").is_file():
        return subfolders[0]
    raise SubmissionError(
        "no MLmodel file found; zip the folder written by mlflow.<flavor>.save_model "
        "so that MLmodel is at the top of the archive or inside one folder"
    )


class MlflowPredictor:
    """A zipped MLflow model folder loaded as a pyfunc."""

    def __init__(self, spec: JobSpec) -> None:
        import mlflow.pyfunc

        self.spec = spec
        root = find_mlflow_root(Path(spec.model_path))
        try:
            self.model = mlflow.pyfunc.load_model(str(root))
        except Exception as exc:
            raise SubmissionError(f"mlflow cannot load the model: {exc}") from exc

    def fit(self, train: pd.DataFrame) -> None:
        """Pre-trained formats are never re-fitted."""

    def predict(self, features: pd.DataFrame) -> Prediction:
        """pyfunc predict on the feature frame; a (n, n_classes) output is read as probabilities."""
        out = self.model.predict(features.drop(columns=[self.spec.id_column]))
        if isinstance(out, pd.DataFrame | pd.Series):
            return Prediction(out)
        array = np.asarray(out)
        classes = self.spec.classes
        if _is_classification(self.spec) and classes and array.ndim == 2 and array.shape[1] > 1:
            labels = np.array(classes, dtype=object)[array.argmax(axis=1)]
            return Prediction(labels, array)
        return Prediction(array)


class PythonPredictor:
    """A module `model.py` (or a single .py) with a `Model` class or `fit`/`predict` functions."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        path = Path(spec.model_path)
        source = path / "model.py" if path.is_dir() else path
        if not source.is_file():
            raise SubmissionError("the archive has no model.py at its top; put model.py there")
        sys.path.insert(0, str(source.parent))
        os.chdir(source.parent)
        module_spec = importlib.util.spec_from_file_location("model", source)
        if module_spec is None or module_spec.loader is None:
            raise SubmissionError(f"cannot import {source.name}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["model"] = module
        module_spec.loader.exec_module(module)
        target: Any = module
        if isinstance(getattr(module, "Model", None), type):
            target = module.Model()
        self._predict: Callable[[pd.DataFrame], Any] | None = getattr(target, "predict", None)
        self._fit: Callable[[pd.DataFrame], Any] | None = getattr(target, "fit", None)
        self._proba: Callable[[pd.DataFrame], Any] | None = getattr(target, "predict_proba", None)
        if not callable(self._predict):
            raise SubmissionError(
                f"{source.name} defines neither a Model class with predict() "
                "nor a predict() function"
            )

    @property
    def can_fit(self) -> bool:
        """Whether the module offers a fit."""
        return callable(self._fit)

    def fit(self, train: pd.DataFrame) -> None:
        """Call the module's fit on the training frame."""
        if callable(self._fit):
            self._fit(train)

    def predict(self, features: pd.DataFrame) -> Prediction:
        """Call predict (and predict_proba) with the id column included."""
        assert callable(self._predict)
        values = self._predict(features)
        proba = None
        if _is_classification(self.spec) and callable(self._proba):
            proba = np.asarray(self._proba(features), dtype=np.float64)
        return Prediction(values, proba)


LOADERS: dict[SubmissionFormat, Callable[[JobSpec], Predictor]] = {
    SubmissionFormat.SKLEARN: SklearnPredictor,
    SubmissionFormat.ONNX: OnnxPredictor,
    SubmissionFormat.TORCHSCRIPT: TorchScriptPredictor,
    SubmissionFormat.MLFLOW: MlflowPredictor,
    SubmissionFormat.PYTHON: PythonPredictor,
}

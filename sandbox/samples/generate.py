"""Write the sample task and one submission per format: `python -m sandbox.samples.generate`."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
FEATURES = ["f0", "f1", "f2", "f3"]
ID_COLUMN = "id"
TARGET = "label"
CLASSES: list[str | int] = [0, 1]


def make_task(
    n_train: int = 200, n_test: int = 50, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small separable binary task: train (with the target) and test features (with ids)."""
    rng = np.random.default_rng(seed)
    weights = np.array([1.5, -2.0, 0.5, 0.0])

    def block(n: int, start: int) -> pd.DataFrame:
        x = rng.normal(size=(n, len(FEATURES)))
        frame = pd.DataFrame(x, columns=FEATURES)
        frame.insert(0, ID_COLUMN, np.arange(start, start + n))
        frame[TARGET] = (x @ weights + rng.normal(scale=0.3, size=n) > 0).astype(int)
        return frame

    train = block(n_train, 0)
    test = block(n_test, 10_000).drop(columns=[TARGET])
    return train, test


def fitted_model(train: pd.DataFrame) -> LogisticRegression:
    """The scikit-learn model behind the sklearn, onnx and mlflow samples."""
    return LogisticRegression().fit(train[FEATURES], train[TARGET])


def write_onnx(model: LogisticRegression, path: Path) -> None:
    """Convert with skl2onnx: output 0 labels, output 1 probabilities (no zipmap)."""
    from skl2onnx import to_onnx

    onx = to_onnx(model, np.zeros((1, len(FEATURES)), dtype=np.float32), options={"zipmap": False})
    path.write_bytes(onx.SerializeToString())


def write_torchscript(model: LogisticRegression, path: Path) -> None:
    """A linear layer with two logits, scripted."""
    import torch

    layer = torch.nn.Linear(len(FEATURES), 2)
    with torch.no_grad():
        coef = torch.tensor(model.coef_[0], dtype=torch.float32)
        layer.weight.copy_(torch.stack([-coef / 2, coef / 2]))
        bias = float(model.intercept_[0])
        layer.bias.copy_(torch.tensor([-bias / 2, bias / 2]))
    torch.jit.save(torch.jit.script(layer), str(path))


def write_mlflow(model: BaseEstimator, path: Path) -> None:
    """mlflow.sklearn.save_model into a temp folder, then zip it."""
    import mlflow.sklearn

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        mlflow.sklearn.save_model(model, str(folder))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    bundle.write(file, file.relative_to(folder).as_posix())


EMPTY_PYTHON = '''"""The empty model of the `python` format: the reference of its costs."""

import numpy as np


def predict(features):
    return np.zeros(len(features))
'''


def empty_estimator() -> DummyRegressor:
    """A model that predicts 0 for every row whatever its columns: the format's bare runtime."""
    return DummyRegressor(strategy="constant", constant=0.0).fit(np.zeros((1, 1)), [0.0])


def write_empty_onnx(path: Path) -> None:
    """A graph that sums each row and multiplies by 0: (n, any) float32 -> (n, 1) zeros."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["X", "axes"], ["total"], keepdims=1),
            helper.make_node("Mul", ["total", "zero"], ["Y"]),
        ],
        "empty",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n", "features"])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["n", 1])],
        [
            helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def write_empty_torchscript(path: Path) -> None:
    """A scripted module returning one 0 per row."""
    import torch

    class Empty(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.zeros(x.shape[0])

    torch.jit.save(torch.jit.script(Empty()), str(path))


def write_empty_models(folder: Path) -> None:
    """The empty model of every code format (see sandbox/reference.py)."""
    folder.mkdir(exist_ok=True)
    (folder / "model.py").write_text(EMPTY_PYTHON)
    joblib.dump(empty_estimator(), folder / "sklearn.joblib")
    write_empty_onnx(folder / "model.onnx")
    write_empty_torchscript(folder / "torchscript.pt")
    write_mlflow(empty_estimator(), folder / "mlflow.zip")


CODE_MODEL = """import numpy as np


class Model:
    \"\"\"Predicts the most frequent training label: deterministic, for ingestion programs.\"\"\"

    def fit(self, X, y):
        values, counts = np.unique(y, return_counts=True)
        self.label = values[counts.argmax()]

    def predict(self, X):
        return np.full(len(X), self.label)
"""


def write_program_samples(folder: Path) -> None:
    """`code.zip` (a Codabench-style model.py) and `results.zip` (a results file)."""
    with zipfile.ZipFile(folder / "code.zip", "w") as archive:
        archive.writestr(zipfile.ZipInfo("model.py", (2020, 1, 1, 0, 0, 0)), CODE_MODEL)
    with zipfile.ZipFile(folder / "results.zip", "w") as archive:
        archive.writestr(zipfile.ZipInfo("prediction", (2020, 1, 1, 0, 0, 0)), "0\n1\n2\n")


def generate(folder: Path = HERE) -> None:
    """Write every generated sample (and a copy of python_model.py) into `folder`."""
    train, test = make_task()
    train.to_parquet(folder / "train.parquet", index=False)
    test.to_parquet(folder / "features.parquet", index=False)
    model = fitted_model(train)
    predictions = pd.DataFrame({ID_COLUMN: test[ID_COLUMN], TARGET: model.predict(test[FEATURES])})
    predictions.to_csv(folder / "predictions.csv", index=False)
    joblib.dump(model, folder / "sklearn.joblib")
    write_onnx(model, folder / "model.onnx")
    write_torchscript(model, folder / "torchscript.pt")
    write_mlflow(model, folder / "mlflow.zip")
    write_empty_models(folder / "empty")
    write_program_samples(folder)
    if folder != HERE:  # python_model.py is written by hand; copy it along
        shutil.copy2(HERE / "python_model.py", folder / "python_model.py")
    shutil.rmtree(folder / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    generate()

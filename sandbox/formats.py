"""The registry of submission formats: accepted files, whether code runs, the sample file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .contract import SubmissionRejected
from .jail.protocol import SubmissionFormat

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class FormatSpec:
    """One format: its file types, whether participant code runs, and its sample file."""

    format: SubmissionFormat
    extensions: tuple[str, ...]
    runs_code: bool
    summary: str
    sample: str

    @property
    def sample_path(self) -> Path:
        """The sample submission used by the tests and the docs."""
        return SAMPLES_DIR / self.sample


FORMATS: dict[SubmissionFormat, FormatSpec] = {
    spec.format: spec
    for spec in (
        FormatSpec(
            SubmissionFormat.PREDICTIONS,
            (".csv", ".parquet"),
            False,
            "a table with the id column and the target column (optional proba_<class> columns)",
            "predictions.csv",
        ),
        FormatSpec(
            SubmissionFormat.SKLEARN,
            (".joblib", ".pkl"),
            True,
            "a fitted scikit-learn estimator saved with joblib.dump or pickle",
            "sklearn.joblib",
        ),
        FormatSpec(
            SubmissionFormat.ONNX,
            (".onnx",),
            True,
            "an ONNX graph with one float32 input (n, n_features), run with onnxruntime",
            "model.onnx",
        ),
        FormatSpec(
            SubmissionFormat.TORCHSCRIPT,
            (".pt",),
            True,
            "a TorchScript module (torch.jit.save) taking a float32 tensor (n, n_features)",
            "torchscript.pt",
        ),
        FormatSpec(
            SubmissionFormat.MLFLOW,
            (".zip",),
            True,
            "a zipped MLflow model folder, loaded with mlflow.pyfunc.load_model",
            "mlflow.zip",
        ),
        FormatSpec(
            SubmissionFormat.PYTHON,
            (".py", ".zip"),
            True,
            "a model.py (or a zip with model.py at its top) defining Model or fit/predict",
            "python_model.py",
        ),
    )
}


def get_format(value: str) -> FormatSpec:
    """The spec of a format; an unknown name lists the valid ones."""
    try:
        return FORMATS[SubmissionFormat(value)]
    except ValueError:
        valid = ", ".join(str(f) for f in SubmissionFormat)
        raise SubmissionRejected(f"unknown format '{value}'; use one of: {valid}") from None


def check_extension(spec: FormatSpec, model_path: Path) -> None:
    """Refuse a file whose extension does not fit the format."""
    suffix = model_path.suffix.lower()
    if suffix not in spec.extensions:
        raise SubmissionRejected(
            f"a {spec.format} submission must be a {' or '.join(spec.extensions)} file; "
            f"got '{model_path.name}'"
        )

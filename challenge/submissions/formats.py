"""Upload checks per submission format, done at upload time (the sandbox loads the model later)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from challenge.errors import ValidationFailed
from mlfo.intent import Intent
from sandbox.csv_header import CsvHeaderError, read_csv_header


@dataclass(frozen=True)
class FormatRule:
    """The file endings a format accepts and what a zip of it must contain."""

    suffixes: tuple[str, ...]
    zip_must_contain: tuple[str, ...] = ()
    help: str = ""


RULES: dict[str, FormatRule] = {
    "predictions": FormatRule((".csv", ".parquet"), help="a CSV or Parquet file of predictions"),
    "sklearn": FormatRule((".joblib", ".pkl", ".pickle"), help="a joblib or pickle file"),
    "onnx": FormatRule((".onnx",), help="an ONNX model file"),
    "torchscript": FormatRule((".pt", ".pth"), help="a TorchScript file from torch.jit.save"),
    "mlflow": FormatRule((".zip",), ("MLmodel",), help="a zip of an MLflow model folder"),
    "python": FormatRule((".py", ".zip"), ("model.py",), help="model.py, or a zip with model.py"),
}


def check_upload(path: Path, *, filename: str, format: str, intent: Intent) -> None:
    """Refuse an upload whose ending or content cannot be the declared format."""
    rule = RULES.get(format)
    if rule is None:
        raise ValidationFailed(f"unknown format {format!r}; formats: {', '.join(RULES)}")
    suffix = Path(filename).suffix.lower()
    if suffix not in rule.suffixes:
        raise ValidationFailed(
            f"format {format!r} expects {rule.help} ({', '.join(rule.suffixes)}); got {filename!r}"
        )
    if suffix == ".zip" and rule.zip_must_contain:
        with zipfile.ZipFile(path) as archive:
            names = {Path(n).name for n in archive.namelist() if n.count("/") <= 1}
        missing = [n for n in rule.zip_must_contain if n not in names]
        if missing:
            raise ValidationFailed(
                f"the zip for format {format!r} must contain {', '.join(missing)} at its top"
            )
    if format == "predictions":
        _check_prediction_columns(path, suffix, intent)


def _check_prediction_columns(path: Path, suffix: str, intent: Intent) -> None:
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            columns = list(pq.read_schema(path).names)
        else:
            columns = read_csv_header(path)  # bounded and linear: pandas is quadratic here
    except CsvHeaderError as exc:
        raise ValidationFailed(f"the predictions file is refused: {exc}") from exc
    except Exception as exc:  # any parser error means the file is unreadable
        raise ValidationFailed(
            f"the predictions file cannot be read as {suffix[1:]}: {exc}"
        ) from exc
    missing = [c for c in (intent.id_column, intent.target) if c not in columns]
    if missing:
        raise ValidationFailed(
            f"the predictions file lacks column(s) {missing}; it needs {intent.id_column!r} and "
            f"{intent.target!r} (see sample_submission.csv)"
        )

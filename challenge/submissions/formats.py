"""Upload checks per submission format, done at upload time (the sandbox loads the model later).

The rules (file endings, what a zip must hold, whether the file is a predictions table) come from
the one format registry, `sandbox.formats`, which the sandbox applies again before a run: an
upload it would refuse is refused here, before it uses the team's quota.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from challenge.errors import ValidationFailed
from mlfo.intent import Intent
from sandbox.archive import SUBMISSION_ARCHIVES, inspect_zip
from sandbox.contract import SubmissionRejected
from sandbox.csv_header import CsvHeaderError, read_csv_header
from sandbox.formats import check_file, get_format


def check_upload(path: Path, *, filename: str, format: str, intent: Intent) -> None:
    """Refuse an upload that is an unsafe archive, or whose ending or content cannot be the
    declared format."""
    try:
        if zipfile.is_zipfile(path):  # zips of models, and TorchScript files
            inspect_zip(path, limits=SUBMISSION_ARCHIVES)
        spec = get_format(format)
        check_file(spec, path, filename=filename)
    except SubmissionRejected as exc:
        raise ValidationFailed(str(exc)) from None
    if spec.upload.table_columns:
        _check_prediction_columns(path, Path(filename).suffix.lower(), intent)


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

"""The registry of submission formats: one entry per `SubmissionFormat`, for every layer.

The upload check (`challenge.submissions`), the sandbox (`run`), the intent schema, the command
line, judging and the built-in problems read a format's files, rules and loader from here only, so
an upload the sandbox would refuse is refused at upload. Adding a format: a member of
`SubmissionFormat`, an entry below, its loader (the runner's `LOADERS` for a model) and a sample
file in `samples/` (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from .archive import ArchiveRefused, open_zip
from .jail.protocol import SubmissionFormat

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
RESULT_EXTENSIONS = (
    ".zip",
    ".json",
    ".txt",
    ".csv",
    ".tsv",
    ".npy",
    ".npz",
    ".parquet",
    ".h5",
    ".gz",
)
"""What a `results` upload may be (EvalAI's usual submission file types)."""


class Execution(StrEnum):
    """How the sandbox turns a submission of a format into predictions.

    `INGEST` and `SCORE` are run by a competition's own programs (`sandbox.programs`), not by
    `sandbox.run`: see docs/scoring-programs.md.
    """

    READ = "read"
    """A table of predictions, parsed by the host under caps: no submitted code runs."""
    LOAD = "load"
    """A model, loaded and run inside the jail by the runner's loader for the format."""
    INGEST = "ingest"
    """Participant code, run by the competition's ingestion program in the participant's jail."""
    SCORE = "score"
    """Results, handed as they are to the competition's scoring program."""


@dataclass(frozen=True)
class UploadRules:
    """What an upload of a format must look like, checked before it is stored or run."""

    zip_member: str | None = None
    """A zip upload must hold this file at its top (or in its one top folder, if `nested`)."""
    nested: bool = False
    table_columns: bool = False
    """The file is a table that must have the competition's id and target columns."""


@dataclass(frozen=True)
class FormatSpec:
    """One format: its file endings, how it runs, what an upload must hold, its sample file."""

    format: SubmissionFormat
    extensions: tuple[str, ...]
    execution: Execution
    help: str
    """What to upload, in a few words (the submit form and error messages show it)."""
    sample: str
    upload: UploadRules
    trainable: bool = False
    """The sandbox can train it on the public training data first, when the intent allows it."""

    @property
    def runs_code(self) -> bool:
        """Whether submitted code runs (in the jail) to produce the predictions."""
        return self.execution is Execution.LOAD

    @property
    def needs_programs(self) -> bool:
        """Run by the competition's ingestion and scoring programs (not by `sandbox.run`)."""
        return self.execution in (Execution.INGEST, Execution.SCORE)

    @property
    def is_model(self) -> bool:
        """A model can run again on other data (reproductions, the final Model Registry)."""
        return self.execution is Execution.LOAD

    @property
    def sample_path(self) -> Path:
        """The sample submission used by the tests and the docs."""
        return SAMPLES_DIR / self.sample

    @property
    def loader(self) -> Callable[..., Any]:
        """What turns an upload into predictions: the runner's in-jail loader of a model, or the
        host's capped reader of a predictions table."""
        if self.execution is Execution.LOAD:
            from .jail.loaders import LOADERS

            return LOADERS[self.format]
        if self.needs_programs:
            from .programs import run_program

            return run_program
        from .runs import run_predictions

        return run_predictions

    def refusal(self, filename: str) -> str | None:
        """Why a file of this name cannot be this format (None when it can)."""
        if Path(filename).suffix.lower() in self.extensions:
            return None
        return (
            f"format '{self.format}' expects {self.help} "
            f"({' or '.join(self.extensions)}); got '{Path(filename).name}'"
        )

    def archive_refusal(self, names: Iterable[str]) -> str | None:
        """Why a zip holding these member names cannot be this format (None when it can)."""
        member = self.upload.zip_member
        if member is None or _holds(list(names), member, nested=self.upload.nested):
            return None
        where = "at its top or inside its one top folder" if self.upload.nested else "at its top"
        return f"the zip for format '{self.format}' must hold {member} {where}"


def _holds(names: list[str], member: str, *, nested: bool) -> bool:
    paths = [PurePosixPath(n) for n in names]
    if any(p.parts == (member,) for p in paths):
        return True
    if not nested:
        return False
    tops = {p.parts[0] for p in paths if p.parts}
    return len(tops) == 1 and any(p.parts == (*tops, member) for p in paths)


FORMATS: dict[SubmissionFormat, FormatSpec] = {
    spec.format: spec
    for spec in (
        FormatSpec(
            SubmissionFormat.PREDICTIONS,
            (".csv", ".parquet"),
            Execution.READ,
            "a CSV or Parquet file with the id and target columns (optional proba_<class> columns)",
            "predictions.csv",
            UploadRules(table_columns=True),
        ),
        FormatSpec(
            SubmissionFormat.SKLEARN,
            (".joblib", ".pkl"),
            Execution.LOAD,
            "a fitted scikit-learn estimator saved with joblib.dump or pickle",
            "sklearn.joblib",
            UploadRules(),
        ),
        FormatSpec(
            SubmissionFormat.ONNX,
            (".onnx",),
            Execution.LOAD,
            "an ONNX graph with one float32 input (n, n_features), run with onnxruntime",
            "model.onnx",
            UploadRules(),
        ),
        FormatSpec(
            SubmissionFormat.TORCHSCRIPT,
            (".pt",),
            Execution.LOAD,
            "a TorchScript module (torch.jit.save) taking a float32 tensor (n, n_features)",
            "torchscript.pt",
            UploadRules(),
        ),
        FormatSpec(
            SubmissionFormat.MLFLOW,
            (".zip",),
            Execution.LOAD,
            "a zipped MLflow model folder, loaded with mlflow.pyfunc.load_model",
            "mlflow.zip",
            UploadRules(zip_member="MLmodel", nested=True),
        ),
        FormatSpec(
            SubmissionFormat.PYTHON,
            (".py", ".zip"),
            Execution.LOAD,
            "a model.py (or a zip with model.py at its top) defining Model or fit/predict",
            "python_model.py",
            UploadRules(zip_member="model.py"),
            trainable=True,
        ),
        FormatSpec(
            SubmissionFormat.CODE,
            (".zip",),
            Execution.INGEST,
            "a zip of your code (e.g. model.py at its top), run by the competition's ingestion "
            "program",
            "code.zip",
            UploadRules(),
        ),
        FormatSpec(
            SubmissionFormat.RESULTS,
            RESULT_EXTENSIONS,
            Execution.SCORE,
            "a results file or zip, handed as is to the competition's scoring program",
            "results.zip",
            UploadRules(),
        ),
    )
}


def get_format(value: str) -> FormatSpec:
    """The spec of a format; an unknown name lists the valid ones."""
    from .contract import SubmissionRejected

    try:
        return FORMATS[SubmissionFormat(value)]
    except ValueError:
        valid = ", ".join(str(f) for f in SubmissionFormat)
        raise SubmissionRejected(f"unknown format '{value}'; use one of: {valid}") from None


def format_of_file(filename: str) -> SubmissionFormat | None:
    """The one format whose files end like `filename` (None when none or several do, as `.zip`);
    `code` and `results` are never guessed: only competitions scored by programs take them."""
    suffix = Path(filename).suffix.lower()
    matches = [
        spec.format
        for spec in FORMATS.values()
        if suffix in spec.extensions and not spec.needs_programs
    ]
    return matches[0] if len(matches) == 1 else None


def check_file(spec: FormatSpec, path: Path, *, filename: str | None = None) -> None:
    """Refuse a file whose name (the upload's, else the path's) or zip content does not fit the
    format: the same rule at upload and before a run."""
    from .contract import SubmissionRejected

    name = filename or path.name
    problem = spec.refusal(name)
    if problem is None and Path(name).suffix.lower() == ".zip":
        problem = _zip_problem(spec, path)
    if problem:
        raise SubmissionRejected(problem)


def _zip_problem(spec: FormatSpec, path: Path) -> str | None:
    if spec.upload.zip_member is None:
        return None
    try:
        with open_zip(path, label="the upload") as archive:
            names = archive.namelist()
    except ArchiveRefused as exc:
        return str(exc)
    return spec.archive_refusal(names)

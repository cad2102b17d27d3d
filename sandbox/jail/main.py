"""The in-jail runner: load the model, maybe fit it, predict, write predictions and a result."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np
import pandas as pd

from .device import DeviceUnavailable, prepare_device
from .loaders import LOADERS, Prediction, Predictor, PythonPredictor, SubmissionError
from .protocol import (
    PREDICTIONS_FILE,
    PROBA_PREFIX,
    RESULT_FILE,
    JailStatus,
    JobSpec,
    Phase,
    SubmissionFormat,
)

TRACEBACK_LINES = 12
RUNNER_DIR = str(Path(__file__).resolve().parent)


class OutputError(Exception):
    """The model's output has the wrong shape or columns."""


def _without_runner(error: traceback.TracebackException) -> None:
    """Drop the runner's frames (platform code, not the team's) from a traceback and its causes."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        frames = [f for f in current.stack if not f.filename.startswith(RUNNER_DIR)]
        current.stack = traceback.StackSummary.from_list(frames)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def traceback_tail() -> str:
    """The last lines of the current exception's traceback, without the runner's frames."""
    error = sys.exc_info()[1]
    if error is None:
        return ""
    summary = traceback.TracebackException.from_exception(error)
    _without_runner(summary)
    lines = "".join(summary.format()).rstrip().splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def _values(spec: JobSpec, raw: Any, n_rows: int) -> tuple[np.ndarray, dict[str, Any]]:
    extra: dict[str, Any] = {}
    if isinstance(raw, pd.DataFrame):
        extra = {c: raw[c].to_numpy() for c in raw.columns if str(c).startswith(PROBA_PREFIX)}
        if spec.target in raw.columns:
            raw = raw[spec.target]
        elif raw.shape[1] == 1:
            raw = raw.iloc[:, 0]
        else:
            raise OutputError(
                f"predict returned a DataFrame without a '{spec.target}' column "
                f"(columns: {', '.join(map(str, raw.columns[:10]))})"
            )
    values = np.asarray(raw)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise OutputError(
            f"predict must return one value per row; it returned shape {values.shape}"
        )
    if len(values) != n_rows:
        raise OutputError(f"predict returned {len(values)} values for {n_rows} rows")
    return values, extra


def build_frame(spec: JobSpec, features: pd.DataFrame, prediction: Prediction) -> pd.DataFrame:
    """Assemble the output frame: id, target and `proba_<class>` columns."""
    n_rows = len(features)
    values, extra = _values(spec, prediction.values, n_rows)
    frame = pd.DataFrame({spec.id_column: features[spec.id_column].to_numpy(), spec.target: values})
    if prediction.proba is not None and spec.classes:
        proba = np.asarray(prediction.proba, dtype=np.float64)
        if proba.ndim == 1 and len(spec.classes) == 2:
            proba = np.column_stack([1.0 - proba, proba])
        if proba.shape != (n_rows, len(spec.classes)):
            raise OutputError(
                f"probabilities must have shape ({n_rows}, {len(spec.classes)}), "
                f"one column per class; got {proba.shape}"
            )
        extra = {f"{PROBA_PREFIX}{c}": proba[:, i] for i, c in enumerate(spec.classes)}
    for name, column in extra.items():
        frame[name] = column
    return frame


class Runner:
    """Runs one job and records how it ended."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.out = Path(spec.output_dir)
        self.status: TextIO | None = None
        if spec.status_fd >= 0:
            self.status = os.fdopen(spec.status_fd, "w", buffering=1)

    def mark(self, phase: Phase) -> None:
        """Tell the host which phase starts now."""
        if self.status is not None:
            self.status.write(f"{phase}\n")

    def finish(self, status: JailStatus, message: str = "") -> int:
        """Write the result file and return the exit code.

        The host reads only the status and the message; it times the run itself (no clock in
        this process, which the model shares, is believed).
        """
        result = {"status": str(status), "message": message}
        (self.out / RESULT_FILE).write_text(json.dumps(result))
        return 0 if status is JailStatus.OK else 3

    def load(self) -> Predictor:
        """Build the format's predictor."""
        return LOADERS[SubmissionFormat(self.spec.format)](self.spec)

    def run(self) -> int:
        """Load, fit, predict and write, mapping each failure to a status."""
        self.mark(Phase.STARTED)
        try:
            prepare_device(self.spec.device)
        except DeviceUnavailable as exc:
            # no result file and no DEVICE mark: the host reports a platform fault
            print(f"mlchallenge: device {self.spec.device!r} is unusable: {exc}", file=sys.stderr)
            return 4
        self.mark(Phase.DEVICE)
        features = pd.read_parquet(self.spec.features_path)
        try:
            predictor = self.load()
        except MemoryError:
            return self.finish(JailStatus.MEMORY_EXCEEDED, "loading the model ran out of memory")
        except SubmissionError as exc:
            return self.finish(JailStatus.INVALID_SUBMISSION, str(exc))
        except BaseException:
            return self.finish(
                JailStatus.INVALID_SUBMISSION, f"the model could not be loaded:\n{traceback_tail()}"
            )
        if self.spec.train_path and isinstance(predictor, PythonPredictor) and predictor.can_fit:
            self.mark(Phase.FIT)
            train = pd.read_parquet(self.spec.train_path)
            try:
                predictor.fit(train)
            except MemoryError:
                return self.finish(JailStatus.MEMORY_EXCEEDED, "fit ran out of memory")
            except BaseException:
                return self.finish(JailStatus.RUNTIME_ERROR, f"fit raised:\n{traceback_tail()}")
            del train
        self.mark(Phase.PREDICT)
        try:
            prediction = predictor.predict(features)
        except MemoryError:
            return self.finish(JailStatus.MEMORY_EXCEEDED, "predict ran out of memory")
        except BaseException:
            return self.finish(JailStatus.RUNTIME_ERROR, f"predict raised:\n{traceback_tail()}")
        try:
            frame = build_frame(self.spec, features, prediction)
            frame.to_parquet(self.out / PREDICTIONS_FILE, index=False)
        except OutputError as exc:
            return self.finish(JailStatus.INVALID_OUTPUT, str(exc))
        except MemoryError:
            return self.finish(
                JailStatus.MEMORY_EXCEEDED, "writing the predictions ran out of memory"
            )
        except Exception as exc:
            return self.finish(
                JailStatus.INVALID_OUTPUT, f"the predictions cannot be stored as a table: {exc}"
            )
        return self.finish(JailStatus.OK)


def main(spec_path: str) -> int:
    """Entry point used by the bootstrap command line."""
    spec = JobSpec.loads(Path(spec_path).read_text())
    code = Runner(spec).run()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def run(spec_path: str) -> NoReturn:
    """Run the job, then end the process without the interpreter's teardown."""
    code = main(spec_path)
    # Everything the host reads (result file, predictions, status pipe, output) is written and
    # flushed by now; the teardown (freeing every module of pandas, scikit-learn and the model,
    # ~0.2 s of CPU) would change nothing the host sees.
    os._exit(code)

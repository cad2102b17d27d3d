"""Evaluate a `code` or `results` submission with the competition's own programs, task by task.

Per task: a `code` submission runs in the participant's jail under the competition's ingestion
program, with Codabench's layout (`/app/input_data` the task's input data, `/app/program` the
ingestion program, `/app/ingested_program` the submission, `/app/output` its output); then the
scoring program runs in a jail of its own with `/app/input/ref` (the task's hidden reference data),
`/app/input/res` (the ingestion's output, or the `results` upload as is) and `/app/output`, where
it writes `scores.json`. Labels are only ever given to a scoring jail, and participant code never
runs there.

A fault of the scoring program (a crash, a limit, a bad or missing `scores.json`) is the host's:
the evaluation ends `infrastructure_error` (no quota used) with a message for the team that says
nothing of the program's output; the program's full log goes to the worker's log and the
evaluation's work folder (`scoring-<task>.log`) for the staff.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlfo.errors import Outcome
from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.programs import EvaluationPrograms, EvaluationTask, Program
from mlfo.provenance import sha256_of
from sandbox import Limits, SubmissionFormat, get_format
from sandbox.programs import Mount, ProgramRequest, ProgramResult, run_program
from sandbox.scores import ScoresInvalid, read_row_scores, read_scores

log = logging.getLogger(__name__)

APP = "/app"
INGESTION_MOUNTS = ("input_data", "program", "ingested_program")
"""What an ingestion jail shows under /app (read-only), besides its writable /app/output."""
PHASE_PLACEHOLDER = "{phase}"
"""In a program's command: the name of the submission's phase (EvalAI's `phase_codename`)."""
SCORING_MOUNTS = ("input/ref", "input/res", "program")
"""What a scoring jail shows under /app (read-only), besides its writable /app/output."""


@dataclass(frozen=True)
class ProgramPaths:
    """Where a competition's program folders and its tasks' data are stored on the worker."""

    programs: Path
    """`<folder>` per program, and each task's `input_data` folder."""
    reference: Path
    """Each task's `reference_data` folder (stored with the hidden labels)."""


class _Stop(Exception):
    def __init__(self, outcome: Outcome, message: str, logs: str = "") -> None:
        super().__init__(message)
        self.outcome, self.message, self.logs = outcome, message, logs


def limits_of(programs: EvaluationPrograms) -> Limits:
    """The sandbox limits of one program run."""
    given = programs.limits
    return Limits(
        time_s=given.time_s,
        memory_mb=given.memory_mb,
        processes=given.processes,
        output_mb=given.output_mb,
        log_kb=given.log_kb,
        tmp_mb=given.tmp_mb,
    )


def evaluate_with_programs(inp: EvaluationInput, paths: ProgramPaths) -> EvaluationResult:
    """Run every task's programs for one submission; never raises for a program's fault."""
    programs = inp.intent.programs
    assert programs is not None
    result = EvaluationResult()
    result.provenance = {
        "mlchallenge.submission_sha256": sha256_of(inp.model_path),
        "mlchallenge.scorer": "programs",
        "mlchallenge.format": inp.format,
        "mlchallenge.labels_sha256": "",
    }
    logs: list[str] = []
    per_task: dict[str, dict[str, float]] = {}
    rows: dict[str, list[float]] = {}
    try:
        for task in programs.tasks:
            scores, task_rows = _task(inp, paths, programs, task, logs)
            per_task[task.key] = scores
            rows.update({f"{task.key}.{k}": v for k, v in task_rows.items()})
            if len(programs.tasks) == 1:
                rows.update(task_rows)
        columns = combine(per_task)
        _score(result, programs, columns, rows)
    except _Stop as stop:
        result.outcome, result.message, result.valid = stop.outcome, stop.message, False
        result.invalid_reason = f"{stop.outcome}: {stop.message}"
        logs.append(stop.logs)
    result.logs = "\n".join(part for part in logs if part)
    path = inp.work_dir / "logs.txt"
    path.write_text(result.logs, encoding="utf-8")
    result.artifacts["logs.txt"] = path
    if result.outcome != Outcome.CANCELLED:
        _track(inp, result)
    return result


def _track(inp: EvaluationInput, result: EvaluationResult) -> None:
    """Log the run to MLflow when the intent lists the `mlflow` sink (with the provenance tags);
    scores are logged under names MLflow accepts. The scoring programs' logs are not logged."""
    if inp.mlflow_tracking_uri is None or not any(s.kind == "mlflow" for s in inp.intent.sinks):
        return
    from mlfo import tracking

    result.provenance["mlchallenge.sinks"] = "mlflow"
    safe = {
        split: {re.sub(r"[^A-Za-z0-9_./ -]", "_", k): v for k, v in values.items()}
        for split, values in result.scores.items()
    }
    try:
        logged = dataclasses.replace(result, scores=safe)
        result.mlflow_run_id = tracking.log_evaluation(inp.mlflow_tracking_uri, inp, logged)
    except Exception as exc:  # tracking is part of the result, as the pipeline's mlflow sink
        log.exception("MLflow logging failed for submission %s", inp.submission_id)
        result.outcome, result.valid = Outcome.INFRASTRUCTURE_ERROR, False
        result.message = f"sink 'mlflow' failed ({type(exc).__name__}: {exc})"


def combine(per_task: dict[str, dict[str, float]]) -> dict[str, float]:
    """Every column: `<task>.<key>` per task, and `<key>` the mean over the tasks that report it
    (one task: its own value)."""
    columns: dict[str, float] = {}
    by_key: dict[str, list[float]] = {}
    for task_key, scores in per_task.items():
        for key, value in scores.items():
            columns[f"{task_key}.{key}"] = value
            by_key.setdefault(key, []).append(value)
    for key, values in by_key.items():
        columns[key] = sum(values) / len(values)
    return columns


def _interval(
    column: str, value: float, rows: dict[str, list[float]]
) -> tuple[float, float] | None:
    """A bootstrap interval when the program gave the column's per-row scores and they average
    to it (a decomposable score); None otherwise ("no interval")."""
    import numpy as np

    from challenge.scoring.row_scores import decomposes, mean_interval

    values = np.asarray(rows.get(column, []), dtype=float)
    if not decomposes(value, values):
        return None
    return mean_interval(values)


def _score(
    result: EvaluationResult,
    programs: EvaluationPrograms,
    columns: dict[str, float],
    rows: dict[str, list[float]],
) -> None:
    """Scores per board; a missing public ranking column is the host's fault, a missing private
    one (a phase that does not score the private split) leaves the private board unranked."""
    for board_name in ("public", "private"):
        board = programs.board(board_name)
        if board.rank_by not in columns and board_name == "private":
            shown = {c.key: columns[c.key] for c in board.columns if c.key in columns}
            result.scores[board_name] = dict(shown)
            result.ranking_score[board_name] = None
            result.intervals[board_name] = None
            continue
        if board.rank_by not in columns:
            given = ", ".join(sorted(columns)) or "nothing"
            log.error("scoring programs gave no %r (gave %s)", board.rank_by, given)
            raise _Stop(
                Outcome.INFRASTRUCTURE_ERROR,
                f"the competition's scoring program did not report the ranking column "
                f"{board.rank_by!r}; the host has been told (no quota was used)",
            )
        shown = {c.key: columns[c.key] for c in board.columns if c.key in columns}
        result.scores[board_name] = dict(shown)
        result.ranking_score[board_name] = columns[board.rank_by]
        result.intervals[board_name] = _interval(board.rank_by, columns[board.rank_by], rows)


def _task(
    inp: EvaluationInput,
    paths: ProgramPaths,
    programs: EvaluationPrograms,
    task: EvaluationTask,
    logs: list[str],
) -> tuple[dict[str, float], dict[str, list[float]]]:
    folder = inp.work_dir / f"task-{task.key}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    limits = limits_of(programs)
    fmt = get_format(inp.format).format
    if fmt is SubmissionFormat.CODE:
        res = _ingest(inp, paths, task, folder, limits, logs)
    else:
        res = Mount(inp.model_path, f"{APP}/input/res", archive=inp.model_path.suffix == ".zip")
        if not res.archive:
            upload = folder / "upload"
            upload.mkdir()
            shutil.copyfile(inp.model_path, upload / inp.model_path.name)
            res = Mount(upload, f"{APP}/input/res")
    return _run_scoring(inp, paths, task, folder, limits, res)


def command_of(program: Program, phase: str) -> tuple[str, ...]:
    """The program's command line, with `{phase}` replaced by the submission's phase name."""
    return tuple(arg.replace(PHASE_PLACEHOLDER, phase) for arg in program.command)


def _program_mount(paths: ProgramPaths, program: Program) -> Mount:
    return Mount(paths.programs / program.folder, f"{APP}/program")


def _ingest(
    inp: EvaluationInput,
    paths: ProgramPaths,
    task: EvaluationTask,
    folder: Path,
    limits: Limits,
    logs: list[str],
) -> Mount:
    """Run the participant's code under the ingestion program (the participant's jail)."""
    assert task.ingestion is not None
    mounts = [
        _program_mount(paths, task.ingestion),
        Mount(inp.model_path, f"{APP}/ingested_program", archive=True),
    ]
    if task.input_data:
        mounts.append(Mount(paths.programs / task.input_data, f"{APP}/input_data"))
    request = ProgramRequest(
        command=command_of(task.ingestion, inp.phase),
        mounts=tuple(mounts),
        output_at=f"{APP}/output",
        workdir=f"{APP}/program",
        limits=limits,
        label=f"ingestion of task {task.key}",
    )
    done = _run(inp, request, folder / "res")
    logs.append(f"== task {task.key}: ingestion ==\n{done.logs}")
    if done.outcome is not Outcome.OK:
        raise _Stop(Outcome(done.outcome), f"task {task.key}: {done.message}")
    return Mount(folder / "res", f"{APP}/input/res")


def _run_scoring(
    inp: EvaluationInput,
    paths: ProgramPaths,
    task: EvaluationTask,
    folder: Path,
    limits: Limits,
    res: Mount,
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Run the scoring program in a jail of its own; any fault of it is the host's. Returns its
    scores and the per-row scores it gave for some of them (`rows.json`, optional)."""
    mounts = [_program_mount(paths, task.scoring), res]
    if task.reference_data:
        mounts.append(Mount(paths.reference / task.reference_data, f"{APP}/input/ref"))
    request = ProgramRequest(
        command=command_of(task.scoring, inp.phase),
        mounts=tuple(mounts),
        output_at=f"{APP}/output",
        workdir=f"{APP}/program",
        limits=limits,
        label=f"scoring program of task {task.key}",
    )
    done = _run(inp, request, folder / "scores")
    staff_log = inp.work_dir / f"scoring-{task.key}.log"
    staff_log.write_text(f"{done.outcome}: {done.message}\n{done.logs}", encoding="utf-8")
    if done.outcome is Outcome.CANCELLED:
        raise _Stop(Outcome.CANCELLED, "the evaluation was cancelled")
    why = done.message
    if done.outcome is Outcome.OK and done.output is not None:
        try:
            scores = read_scores(done.output)
            return scores, read_row_scores(done.output, set(scores))
        except ScoresInvalid as exc:
            why = str(exc)
    log.error(
        "scoring program of %s task %s failed for submission %s: %s\n%s",
        inp.competition_slug,
        task.key,
        inp.submission_id,
        why,
        done.logs,
    )
    raise _Stop(
        Outcome.INFRASTRUCTURE_ERROR,
        f"the competition's scoring program failed on task {task.key} ({done.outcome}); "
        "the host has been told and no quota was used",
    )


def _run(inp: EvaluationInput, request: ProgramRequest, keep: Path) -> ProgramResult:
    return run_program(
        request,
        keep,
        backend=inp.sandbox_backend,
        should_cancel=inp.should_cancel,
        work_dir=None,
    )

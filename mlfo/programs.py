"""The intent's `programs` section: a competition scored by its own programs, per task, on boards.

A competition that brings its own evaluation (a Codabench or EvalAI import, or a host bundle with
`scoring/score.py`) lists its tasks (datasets), each with a scoring program and, for `code`
submissions, an ingestion program; and its boards, each a list of columns with one ranking column
and tie-breakers. Column keys are the scoring programs' keys: `accuracy` is the aggregate (the
mean over the tasks that report it), `<task>.accuracy` one task's value. See
docs/scoring-programs.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$"
TASK_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Program(_Strict):
    """A program folder stored with the competition, and its command line in the jail."""

    folder: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
    command: list[str] = Field(min_length=1, max_length=64)


class ProgramLimits(_Strict):
    """Limits of one program run (the same meaning as the model slot's limits)."""

    time_s: float = Field(default=300.0, gt=0, le=86_400)
    memory_mb: int = Field(default=2048, ge=64, le=1_048_576)
    processes: int = Field(default=64, ge=1, le=4096)
    output_mb: int = Field(default=64, ge=1, le=10_240)
    log_kb: int = Field(default=256, ge=1, le=65_536)
    tmp_mb: int = Field(default=256, ge=1, le=1_048_576)


class EvaluationTask(_Strict):
    """One dataset: the ingestion program's input data, the scoring program's reference data."""

    key: str = Field(pattern=TASK_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    input_data: str | None = None
    """A folder stored with the competition, shown to the ingestion program (never labels)."""
    reference_data: str | None = None
    """A folder stored with the hidden labels, shown only to the scoring program as INPUT/ref."""
    ingestion: Program | None = None
    scoring: Program


class Column(_Strict):
    """One board column: a scoring-program key (or `<task>.<key>`) with how to show it."""

    key: str = Field(pattern=KEY_PATTERN)
    title: str = Field(default="", max_length=200)
    sorting: Literal["asc", "desc"] = "desc"
    format: str = Field(default=".4f", pattern=r"^\.?[0-9]{0,2}[fegd%]?$")
    hidden: bool = False


class Board(_Strict):
    """A board's columns, its ranking column and the tie-breakers (columns, in order).

    `mode`: `column` ranks by `rank_by`; `weighted` by the weighted mean of the `weights` columns
    normalised over the board; `average_rank` by the mean of their ranks. In the combined modes
    `rank_by` still picks each team's counting submission.
    """

    columns: list[Column] = Field(min_length=1, max_length=100)
    rank_by: str
    tie_breakers: list[str] = Field(default_factory=list)
    mode: Literal["column", "weighted", "average_rank"] = "column"
    weights: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Board:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"column keys must be unique, got {keys}")
        for name in (self.rank_by, *self.tie_breakers, *self.weights):
            if name not in keys:
                raise ValueError(f"{name!r} is not one of the board's columns {keys}")
        if self.mode != "column" and not self.weights:
            raise ValueError(f"mode {self.mode!r} needs `weights`: column -> weight")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("weights must not be negative")
        return self

    def column(self, key: str) -> Column:
        """The column named `key`."""
        return next(c for c in self.columns if c.key == key)


class EvaluationPrograms(_Strict):
    """Tasks scored by programs, and the public and private boards (they may rank differently)."""

    tasks: list[EvaluationTask] = Field(min_length=1, max_length=50)
    limits: ProgramLimits = Field(default_factory=ProgramLimits)
    public: Board
    private: Board | None = None
    """None: the private board is the public one."""

    @model_validator(mode="after")
    def _tasks(self) -> EvaluationPrograms:
        keys = [t.key for t in self.tasks]
        if len(set(keys)) != len(keys):
            raise ValueError(f"task keys must be unique, got {keys}")
        return self

    def board(self, name: str) -> Board:
        """The public or the private board."""
        if name == "private" and self.private is not None:
            return self.private
        return self.public

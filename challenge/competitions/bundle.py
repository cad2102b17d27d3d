"""The host bundle (docs/host-bundle.md): read, validate and name every problem precisely."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from challenge.errors import ValidationFailed
from challenge.files.safe_yaml import load_yaml_file
from mlfo.intent import Intent
from sandbox.csv_header import CsvHeaderError, read_csv_header

TABLE_SUFFIXES = (".parquet", ".csv")
HEADER_BYTES = 1024**2
MAX_COLUMNS = 20_000
"""Bounds on a bundle CSV's header, checked before pandas reads it."""
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"


class PhaseSettings(BaseModel):
    """One phase of competition.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    start: datetime | None = None
    end: datetime | None = None
    max_per_day: int = Field(default=5, ge=1, le=10_000)
    max_total: int = Field(default=100, ge=1, le=1_000_000)
    max_pending: int = Field(default=2, ge=1, le=1_000)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _order(self) -> PhaseSettings:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TeamSettings(BaseModel):
    """Team rules."""

    model_config = ConfigDict(extra="forbid")

    max_size: int = Field(default=4, ge=1, le=100)


class LeaderboardSettings(BaseModel):
    """Which submission counts."""

    model_config = ConfigDict(extra="forbid")

    final_selection: int = Field(default=0, ge=0, le=20)


class BaselineSettings(BaseModel):
    """A baseline model shipped in the bundle."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)
    format: str = Field(min_length=1)


class ScoringSettings(BaseModel):
    """A scoring program shipped in the bundle (docs/scoring-programs.md): one task."""

    model_config = ConfigDict(extra="forbid")

    program: str = "scoring"
    """The folder holding score.py (and anything it needs)."""
    command: list[str] = Field(
        default_factory=lambda: ["python", "/app/program/score.py", "/app/input", "/app/output"],
        min_length=1,
    )
    reference: str = "reference"
    """The folder of hidden reference data, shown to the scoring program as INPUT/ref."""
    ingestion: str | None = None
    """The folder of an ingestion program, for `code` submissions."""
    ingestion_command: list[str] = Field(
        default_factory=lambda: [
            "python",
            "/app/program/ingestion.py",
            "/app/input_data",
            "/app/output",
            "/app/program",
            "/app/ingested_program",
        ],
        min_length=1,
    )
    input_data: str | None = None
    """The folder shown to the ingestion program as /app/input_data (never labels)."""
    limits: dict[str, Any] = Field(default_factory=dict)
    public: dict[str, Any]
    """The public board: `columns` (key, title, sorting, format, hidden), `rank_by`,
    `tie_breakers`."""
    private: dict[str, Any] | None = None


class CompetitionSettings(BaseModel):
    """competition.yaml."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=SLUG_PATTERN)
    task: str | None = None
    id_column: str | None = None
    target: str | None = None
    classes: list[str | int] | None = None
    metrics: list[str] | None = None
    formats: list[str] | None = None
    limits: dict[str, Any] | None = None
    split: dict[str, Any] | None = None
    resource_class: str | None = None
    phases: list[PhaseSettings] = Field(default_factory=lambda: [PhaseSettings(name="main")])
    team: TeamSettings = Field(default_factory=TeamSettings)
    leaderboard: LeaderboardSettings = Field(default_factory=LeaderboardSettings)
    baseline: BaselineSettings | None = None
    intent: dict[str, Any] | None = None
    scoring: ScoringSettings | None = None
    fact_sheet: list[dict[str, Any]] | None = None
    """Questions asked with every submission (docs/migrating.md: Codabench fact sheets)."""
    challenge: str | None = Field(default=None, pattern=SLUG_PATTERN)
    """the slug of the challenge this competition is a problem statement of"""
    organisation: str | None = Field(default=None, pattern=SLUG_PATTERN)
    """the slug of the organisation hosting it (within the challenge)"""
    intelligence_level: str | None = Field(default=None, pattern=r"^L[0-5]$")
    """the ITU-T Y.3173 level (L0 to L5) a solution would reach"""
    data_handling: dict[str, str] | None = None
    """the ITU-T Y.3174 data-handling profile: source, nature (synthetic, real, mixed), sharing"""

    @model_validator(mode="after")
    def _phases(self) -> CompetitionSettings:
        names = [p.name for p in self.phases]
        if not names:
            raise ValueError("at least one phase is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        return self


@dataclass
class ProgramFiles:
    """The folders of a bundle scored by its own programs, by the name they are stored under:
    programs and input data (with the competition), reference data (with the hidden labels)."""

    programs: dict[str, Path] = field(default_factory=dict)
    reference: dict[str, Path] = field(default_factory=dict)
    scratch: Path | None = None
    """A temporary folder the import wrote into (removed by `discard_scratch` once staged)."""

    def discard_scratch(self) -> None:
        """Remove the import's temporary folder."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def add_program(self, name: str, source: Path) -> str:
        """Store `source` (a program or a task's input data) as `name`; returns the name."""
        self.programs[name] = source
        return name

    def add_reference(self, name: str, source: Path) -> str:
        """Store `source` (a task's reference data: hidden) as `name`; returns the name."""
        self.reference[name] = source
        return name


@dataclass(frozen=True)
class Bundle:
    """A validated bundle: its settings, intent and the paths of its files (a bundle scored by
    its own programs has no tables, and its `programs` instead)."""

    root: Path
    settings: CompetitionSettings
    intent: Intent
    description: str
    train: Path | None
    test: Path | None
    labels: Path | None
    sample_submission: Path | None
    baseline: Path | None
    programs: ProgramFiles | None = None


def format_validation_error(exc: ValidationError, prefix: str) -> str:
    """Pydantic errors as `prefix: a.b[0].c: message` lines."""
    lines = []
    for error in exc.errors():
        location = ""
        for part in error["loc"]:
            location += (
                f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
            )
        lines.append(f"{prefix}: {location or '(root)'}: {error['msg']}")
    return "; ".join(lines)


def load_bundle(root: Path) -> Bundle:
    """Read and validate a bundle folder; every error names the bad key or file."""
    root = _bundle_root(root)
    if (root / "challenge_config.yaml").is_file():
        from challenge.competitions.evalai import load_evalai

        scratch = Path(tempfile.mkdtemp(prefix="evalai-import-"))
        try:
            bundle = load_evalai(root, load_yaml_file(root / "challenge_config.yaml"), scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        assert bundle.programs is not None
        bundle.programs.scratch = scratch
        return bundle
    raw = load_yaml_file(root / "competition.yaml")
    from challenge.competitions.codabench import is_codabench, load_codabench

    if is_codabench(raw):
        return load_codabench(root, raw)
    settings = _read_settings(raw)
    if settings.scoring is not None:
        from challenge.competitions.scoring_bundle import load_scoring_bundle

        return load_scoring_bundle(root, settings, settings.scoring)
    intent = _resolve_intent(settings)
    description_path = root / "description.md"
    description = (
        description_path.read_text(encoding="utf-8")
        if description_path.is_file()
        else f"# {settings.title}\n"
    )
    train = _table(root, "train")
    test = _table(root, "test")
    labels = _table(root, "test_labels")
    _check_tables(intent, train, test, labels)
    sample = root / "sample_submission.csv"
    baseline = None
    if settings.baseline is not None:
        baseline = (root / settings.baseline.path).resolve()
        if not baseline.is_relative_to(root.resolve()) or not baseline.exists():
            raise ValidationFailed(
                f"competition.yaml: baseline.path: {settings.baseline.path!r} is not a file "
                "inside the bundle"
            )
        if settings.baseline.format not in intent.model.formats:
            raise ValidationFailed(
                f"competition.yaml: baseline.format: {settings.baseline.format!r} is not one of "
                f"the accepted formats {intent.model.formats}"
            )
    return Bundle(
        root=root,
        settings=settings,
        intent=intent,
        description=description,
        train=train,
        test=test,
        labels=labels,
        sample_submission=sample if sample.is_file() else None,
        baseline=baseline,
    )


def _bundle_root(root: Path) -> Path:
    names = ("competition.yaml", "challenge_config.yaml")
    if any((root / name).is_file() for name in names):
        return root
    children = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(children) == 1 and any((children[0] / name).is_file() for name in names):
        return children[0]
    raise ValidationFailed(
        "competition.yaml (ours or Codabench v2) or challenge_config.yaml (EvalAI) is missing "
        "at the top of the bundle"
    )


def _read_settings(raw: Any) -> CompetitionSettings:
    if not isinstance(raw, dict):
        raise ValidationFailed("competition.yaml must be a mapping of keys to values")
    try:
        return CompetitionSettings.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(format_validation_error(exc, "competition.yaml")) from exc


def _resolve_intent(settings: CompetitionSettings) -> Intent:
    from mlfo.errors import IntentError
    from mlfo.validation import intent_for_bundle

    missing = [k for k in ("task", "id_column", "target") if getattr(settings, k) is None]
    if settings.intent is None and missing:
        raise ValidationFailed(
            f"competition.yaml: {', '.join(missing)}: required when no `intent` is given"
        )
    try:
        return intent_for_bundle(settings.model_dump(exclude_none=True))
    except IntentError as exc:
        message = str(exc)
        if not message.startswith("competition.yaml"):
            message = f"competition.yaml: {message}"
        raise ValidationFailed(message) from exc


def _table(root: Path, stem: str) -> Path:
    for suffix in TABLE_SUFFIXES:
        path = root / f"{stem}{suffix}"
        if path.is_file():
            return path
    raise ValidationFailed(f"{stem}.csv or {stem}.parquet is missing from the bundle")


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet table; an unreadable file is a validation error that names it."""
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path, columns=columns)
        return pd.read_csv(path, usecols=columns)
    except Exception as exc:  # pandas raises many types for bad files
        raise ValidationFailed(f"{path.name}: cannot be read as a table ({exc})") from exc


def table_columns(path: Path) -> list[str]:
    """The column names of a table, without reading it whole."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:
            raise ValidationFailed(f"{path.name}: not a readable Parquet file ({exc})") from exc
    try:
        return read_csv_header(path, max_bytes=HEADER_BYTES, max_columns=MAX_COLUMNS)
    except (CsvHeaderError, OSError) as exc:
        raise ValidationFailed(f"{path.name}: {exc}") from exc


def _check_tables(intent: Intent, train: Path, test: Path, labels: Path) -> None:
    id_col, target = intent.id_column, intent.target
    test_cols, train_cols, label_cols = (
        table_columns(test),
        table_columns(train),
        table_columns(labels),
    )
    if id_col not in test_cols:
        raise ValidationFailed(f"{test.name}: the id column {id_col!r} is missing")
    if target in test_cols:
        raise ValidationFailed(
            f"{test.name}: column {target!r} (the target) must not be in the test features"
        )
    if target not in train_cols:
        raise ValidationFailed(f"{train.name}: the target column {target!r} is missing")
    for column in (id_col, target):
        if column not in label_cols:
            raise ValidationFailed(f"{labels.name}: column {column!r} is missing")
    test_ids = read_table(test, [id_col])[id_col]
    if test_ids.duplicated().any():
        dupes = test_ids[test_ids.duplicated()].head(3).tolist()
        raise ValidationFailed(f"{test.name}: ids repeat in {id_col!r}, e.g. {dupes}")
    label_frame = read_table(labels, [c for c in (id_col, target, "split") if c in label_cols])
    if label_frame[target].isna().any():
        raise ValidationFailed(f"{labels.name}: the target {target!r} has missing values")
    if set(label_frame[id_col]) != set(test_ids):
        missing = len(set(test_ids) - set(label_frame[id_col]))
        extra = len(set(label_frame[id_col]) - set(test_ids))
        raise ValidationFailed(
            f"{labels.name}: ids must match {test.name} exactly "
            f"({missing} test ids have no label, {extra} labels have no test row)"
        )
    if "split" in label_frame:
        bad = set(label_frame["split"].astype(str)) - {"public", "private"}
        if bad:
            raise ValidationFailed(
                f"{labels.name}: column 'split' may hold only 'public' and 'private', "
                f"found {sorted(bad)}"
            )

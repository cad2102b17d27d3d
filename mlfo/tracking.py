"""MLflow tracking: an experiment per competition, a run per evaluation, final models registered.

`mlflow` is imported inside these functions only (it costs seconds to import). Every call takes the
tracking URI explicitly and never touches MLflow's process-global state.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from mlfo.evaluation import EvaluationInput, EvaluationResult
from mlfo.intent import INTENT_VERSION

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

TAG_PREFIX = "mlchallenge."
SCORING_RUN_TAG = "mlchallenge.scoring_run"
FINAL_MODEL_DIR = "final_model"


@dataclass(frozen=True)
class FinalModel:
    """One entry of the final standings whose model is registered."""

    run_id: str
    model_path: Path
    rank: int
    team_name: str = ""
    submission_id: int | None = None


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version created in the MLflow Model Registry."""

    name: str
    version: str
    run_id: str
    rank: int


def experiment_name(slug: str) -> str:
    """The MLflow experiment of a competition."""
    return f"competition/{slug}"


def registered_model_name(slug: str) -> str:
    """The Model Registry name under which a competition's final models are registered."""
    return f"competition-{slug}"


@lru_cache(maxsize=1)
def platform_version() -> str:
    """The installed mlchallenge version (read once per process)."""
    try:
        return importlib.metadata.version("mlchallenge")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def artifact_root(tracking_uri: str) -> str | None:
    """Where runs' artifacts go for a local SQLite store: a folder next to the database file."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    db_path = Path(tracking_uri[len(prefix) :])
    return (db_path.parent / "mlartifacts").resolve().as_uri()


@lru_cache(maxsize=8)
def _client(tracking_uri: str) -> MlflowClient:
    """One client per tracking URI and process (MLflow caches the store behind it too)."""
    disable_telemetry()
    from mlflow.tracking import MlflowClient

    write_ahead_log(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri)


def disable_telemetry() -> None:
    """MLflow sends usage telemetry to its authors unless told not to: the platform never does
    (and each tracked call paid a scan of every installed distribution's metadata for it)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def write_ahead_log(tracking_uri: str) -> None:
    """Put a SQLite tracking store in WAL mode (a setting of the file, kept once set).

    A run is logged in about six transactions; in SQLite's default rollback-journal mode each
    commit syncs the journal and the database, in WAL mode only the log: measured here, the
    run's logging took about half the wall-clock time (CPU unchanged).
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return
    path = Path(tracking_uri[len(prefix) :])
    if not path.parent.is_dir():
        return
    try:
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:  # the default mode works too, only slower
        log.warning("could not put the MLflow store %s in WAL mode: %s", path, exc)


_EXPERIMENTS: dict[tuple[str, str], str] = {}
_EXPERIMENTS_LOCK = threading.Lock()


def prepare_store(tracking_uri: str) -> None:
    """Create the tracking store's schema now (a new SQLite store takes seconds to migrate)."""
    _client(tracking_uri).search_experiments(max_results=1)


def ensure_experiment(tracking_uri: str, slug: str) -> str:
    """The id of the competition's experiment, created on first use (remembered per process)."""
    key = (tracking_uri, slug)
    with _EXPERIMENTS_LOCK:
        known = _EXPERIMENTS.get(key)
    if known is not None:
        return known
    experiment_id = _find_or_create_experiment(tracking_uri, slug)
    with _EXPERIMENTS_LOCK:
        _EXPERIMENTS[key] = experiment_id
    return experiment_id


def _forget_experiment(tracking_uri: str, slug: str) -> None:
    with _EXPERIMENTS_LOCK:
        _EXPERIMENTS.pop((tracking_uri, slug), None)


def _find_or_create_experiment(tracking_uri: str, slug: str) -> str:
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    name = experiment_name(slug)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    try:
        return str(client.create_experiment(name, artifact_location=artifact_root(tracking_uri)))
    except MlflowException:
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)


def log_evaluation(tracking_uri: str, inp: EvaluationInput, result: EvaluationResult) -> str:
    """Log one evaluation as a finished run (params, provenance tags, metrics, artifacts)."""
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    tags = {
        **{
            k if k.startswith(TAG_PREFIX) else TAG_PREFIX + k: v
            for k, v in result.provenance.items()
        },
        "mlchallenge.submission_id": str(inp.submission_id),
        "mlchallenge.outcome": str(result.outcome),
        "mlchallenge.valid": str(result.valid).lower(),
        SCORING_RUN_TAG: "false",
    }
    if result.invalid_reason:
        tags["mlchallenge.invalid_reason"] = result.invalid_reason[:5000]
    run_name = f"submission-{inp.submission_id}"
    try:
        experiment_id = ensure_experiment(tracking_uri, inp.competition_slug)
        run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    except MlflowException:  # the remembered experiment may have been deleted or renamed
        _forget_experiment(tracking_uri, inp.competition_slug)
        experiment_id = ensure_experiment(tracking_uri, inp.competition_slug)
        run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    run_id = str(run.info.run_id)
    params = {
        "submission_id": str(inp.submission_id),
        "team": inp.team_name,
        "format": inp.format,
        "phase": inp.phase,
        "intent_version": str(INTENT_VERSION),
        "task": str(inp.intent.task),
        "primary_metric": inp.intent.primary_metric.name,
        "device": inp.device,
    }
    timestamp = _now_ms()
    metrics = [
        Metric(f"{split}_{name}", float(value), timestamp, 0)
        for split, values in result.scores.items()
        for name, value in values.items()
        if value is not None
    ]
    metrics += [Metric(name, float(value), timestamp, 0) for name, value in result.kpis.items()]
    metrics += [
        Metric(f"{split}_ranking_score", float(value), timestamp, 0)
        for split, value in result.ranking_score.items()
        if value is not None
    ]
    client.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
    # the run's own artifact location, without the get_run that client.log_artifact does
    _log_files(tracking_uri, run.info.artifact_uri, list(result.artifacts.values()))
    status = "FINISHED" if result.ok else "FAILED"
    client.set_terminated(run_id, status=status)
    return run_id


def log_files(tracking_uri: str, run_id: str, files: Sequence[Path]) -> None:
    """Add files to a run's artifacts (also once the run has ended)."""
    run = _client(tracking_uri).get_run(run_id)
    _log_files(tracking_uri, run.info.artifact_uri, files)


def _log_files(tracking_uri: str, artifact_uri: str, files: Sequence[Path]) -> None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.utils.uri import add_databricks_profile_info_to_artifact_uri

    present = [path for path in files if path.is_file()]
    if not present:
        return
    location = add_databricks_profile_info_to_artifact_uri(artifact_uri, tracking_uri)
    repository = get_artifact_repository(location, tracking_uri=tracking_uri)
    for path in present:
        repository.log_artifact(str(path))


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def set_scoring_run(tracking_uri: str, run_id: str, counted: bool = True) -> None:
    """Mark whether this run is the one whose scores counted (tag mlchallenge.scoring_run)."""
    _client(tracking_uri).set_tag(run_id, SCORING_RUN_TAG, "true" if counted else "false")


def register_final_models(
    tracking_uri: str, slug: str, entries: Sequence[FinalModel]
) -> list[RegisteredVersion]:
    """Log each final model file into its scoring run and register it; rank 1 gets `champion`."""
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    name = registered_model_name(slug)
    try:
        client.create_registered_model(name, description=f"Final standings of competition {slug}")
    except MlflowException:
        client.get_registered_model(name)
    registered: list[RegisteredVersion] = []
    for entry in sorted(entries, key=lambda e: e.rank):
        if not entry.model_path.exists():
            raise FileNotFoundError(f"model of rank {entry.rank} not found: {entry.model_path}")
        if entry.model_path.is_dir():
            client.log_artifacts(
                run_id=entry.run_id, local_dir=str(entry.model_path), artifact_path=FINAL_MODEL_DIR
            )
        else:
            client.log_artifact(entry.run_id, str(entry.model_path), artifact_path=FINAL_MODEL_DIR)
        source = f"{client.get_run(entry.run_id).info.artifact_uri}/{FINAL_MODEL_DIR}"
        tags = {"mlchallenge.rank": str(entry.rank), "mlchallenge.team": entry.team_name}
        if entry.submission_id is not None:
            tags["mlchallenge.submission_id"] = str(entry.submission_id)
        version = client.create_model_version(name, source, run_id=entry.run_id, tags=tags)
        client.set_tag(entry.run_id, SCORING_RUN_TAG, "true")
        if entry.rank == 1:
            client.set_registered_model_alias(name, "champion", str(version.version))
        registered.append(RegisteredVersion(name, str(version.version), entry.run_id, entry.rank))
    return registered

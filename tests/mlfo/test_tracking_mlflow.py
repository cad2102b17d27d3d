"""MLflow: a run per evaluation with provenance, metrics and artifacts; final models registered."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from mlfo.errors import Outcome
from mlfo.evaluation import EvaluationResult
from mlfo.pipeline import build_pipeline
from mlfo.tracking import (
    FinalModel,
    ensure_experiment,
    experiment_name,
    register_final_models,
    registered_model_name,
    set_scoring_run,
)
from tests.mlfo.mlfo_data import Dataset, evaluation_input, intent_data


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local SQLite tracking store with an artifact folder beside it."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def scored(
    regression: Dataset, tracking_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> EvaluationResult:
    """One evaluation logged to MLflow."""
    root = tmp_path_factory.mktemp("run")
    model = root / "predictions.csv"
    test = regression.test
    pd.DataFrame({"id": test["id"], "y": 3 * test.x1 + test.x2}).to_csv(model, index=False)
    intent = intent_data("regression")
    inp = evaluation_input(regression, intent, model, root / "work", tracking_uri=tracking_uri)
    result = build_pipeline(intent).run(inp)
    assert result.outcome == Outcome.OK, result.message
    return result


def test_the_run_carries_params_provenance_metrics_and_artifacts(
    scored: EvaluationResult, tracking_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    assert scored.mlflow_run_id is not None
    run = client.get_run(scored.mlflow_run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == experiment_name("tiny") == "competition/tiny"
    assert run.info.status == "FINISHED"
    assert run.data.params["submission_id"] == "1"
    assert run.data.params["team"] == "team-a"
    assert run.data.params["format"] == "predictions"
    assert run.data.params["phase"] == "development"
    assert run.data.params["intent_version"] == "1"
    tags = run.data.tags
    for key in (
        "submission_sha256",
        "test_data_sha256",
        "labels_sha256",
        "scorer",
        "scorer_version",
        "platform_version",
        "sandbox_backend",
    ):
        assert tags[f"mlchallenge.{key}"] == scored.provenance[f"mlchallenge.{key}"]
    assert tags["mlchallenge.scorer"] == "mae"
    assert tags["mlchallenge.scoring_run"] == "false"
    metrics = run.data.metrics
    for split in ("public", "private"):
        for name in ("mae", "rmse"):
            assert metrics[f"{split}_{name}"] == pytest.approx(scored.scores[split][name])
    assert metrics["model_size_mb"] == pytest.approx(scored.kpis["model_size_mb"])
    artifacts = {a.path for a in client.list_artifacts(scored.mlflow_run_id)}
    plots = {"diagnostics_public.png", "diagnostics_private.png"}
    assert {"logs.txt", "predictions_sample.csv", "scores.json", *plots} <= artifacts
    assert not any(a.endswith("MLmodel") for a in artifacts)


def test_a_deleted_experiment_is_found_again_after_it_was_remembered(
    regression: Dataset, tracking_uri: str, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    intent = intent_data("regression")
    first = ensure_experiment(tracking_uri, "renamed")
    assert ensure_experiment(tracking_uri, "renamed") == first
    client.rename_experiment(first, "competition/renamed-old")
    client.delete_experiment(first)
    model = tmp_path / "predictions.csv"
    test = regression.test
    pd.DataFrame({"id": test["id"], "y": test.x1}).to_csv(model, index=False)
    inp = evaluation_input(regression, intent, model, tmp_path / "work", tracking_uri=tracking_uri)
    inp = replace(inp, competition_slug="renamed")
    result = build_pipeline(intent).run(inp)
    assert result.outcome == Outcome.OK, result.message
    assert result.mlflow_run_id is not None
    run = client.get_run(result.mlflow_run_id)
    assert run.info.experiment_id != first
    assert client.get_experiment(run.info.experiment_id).name == experiment_name("renamed")
    assert run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(result.mlflow_run_id)} >= {"scores.json"}


def test_the_scoring_run_tag_can_be_set_and_cleared(
    scored: EvaluationResult, tracking_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    assert scored.mlflow_run_id is not None
    set_scoring_run(tracking_uri, scored.mlflow_run_id)
    assert client.get_run(scored.mlflow_run_id).data.tags["mlchallenge.scoring_run"] == "true"
    set_scoring_run(tracking_uri, scored.mlflow_run_id, counted=False)
    assert client.get_run(scored.mlflow_run_id).data.tags["mlchallenge.scoring_run"] == "false"


def test_final_models_are_registered_with_a_champion(
    scored: EvaluationResult, tracking_uri: str, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    assert scored.mlflow_run_id is not None
    model_file = tmp_path / "model.joblib"
    model_file.write_bytes(b"a stored model")
    entry = FinalModel(scored.mlflow_run_id, model_file, rank=1, team_name="team-a")
    (version,) = register_final_models(tracking_uri, "tiny", [entry])
    client = MlflowClient(tracking_uri=tracking_uri)
    name = registered_model_name("tiny")
    assert str(client.get_model_version_by_alias(name, "champion").version) == version.version
    stored = client.get_model_version(name, version.version)
    assert stored.run_id == scored.mlflow_run_id
    assert stored.tags["mlchallenge.rank"] == "1"
    logged = {a.path for a in client.list_artifacts(scored.mlflow_run_id, "final_model")}
    assert logged == {"final_model/model.joblib"}
    assert client.get_run(scored.mlflow_run_id).data.tags["mlchallenge.scoring_run"] == "true"


def test_a_sqlite_store_is_written_through_a_write_ahead_log(
    scored: EvaluationResult, tracking_uri: str
) -> None:
    path = tracking_uri[len("sqlite:///") :]
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

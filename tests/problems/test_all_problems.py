"""Invariants every built-in problem must keep: bundle files, intent, determinism, data hygiene,
documentation, and generation time at the default size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from challenge.problems import Problem, get_problem, list_problems
from challenge.problems.base import BASELINE_PATH
from mlfo.intent import Intent
from tests.problems.problem_data import default_generation, features

SIZE = 1_000
BUNDLE_FILES = [
    "competition.yaml",
    "description.md",
    "train.parquet",
    "test.parquet",
    "test_labels.parquet",
    "sample_submission.csv",
]
PROBLEMS = list_problems()


# Runs where the sandbox runs the baseline: a fresh interpreter that cannot import `challenge`.
PREDICT_SCRIPT = """
import sys
sys.modules["challenge"] = None
import numpy as np
import pandas as pd

path, fmt, features_path, out = sys.argv[1:5]
features = pd.read_parquet(features_path)
if fmt == "sklearn":
    import joblib

    predictions = joblib.load(path).predict(features)
elif fmt == "onnx":
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    predictions = session.run(None, {name: features.to_numpy(np.float32)})[0]
elif fmt == "torchscript":
    import torch

    with torch.no_grad():
        predictions = torch.jit.load(path)(torch.from_numpy(features.to_numpy(np.float32))).numpy()
else:
    raise SystemExit(f"no loader for baseline format {fmt}")
pd.DataFrame({"prediction": np.asarray(predictions).tolist()}).to_parquet(out)
"""


@pytest.fixture(scope="module", params=PROBLEMS, ids=lambda p: p.id)
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of each problem at a small size, seed 0."""
    problem: Problem = request.param
    return problem.write_bundle(tmp_path_factory.mktemp(problem.id), seed=0, size=SIZE)


def _settings(bundle: Path) -> dict[str, Any]:
    settings: dict[str, Any] = yaml.safe_load((bundle / "competition.yaml").read_text())
    return settings


def _tables(bundle: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_parquet(bundle / "train.parquet"),
        pd.read_parquet(bundle / "test.parquet"),
        pd.read_parquet(bundle / "test_labels.parquet"),
    )


def test_every_problem_of_the_table_is_built_in() -> None:
    assert {p.id for p in PROBLEMS} >= {
        "traffic-forecast",
        "kpi-anomaly",
        "modulation-classification",
    }
    for problem in PROBLEMS:
        assert get_problem(problem.id) is problem


def test_bundle_has_all_files(bundle: Path) -> None:
    settings = _settings(bundle)
    for name in [*BUNDLE_FILES, settings["baseline"]["path"]]:
        assert (bundle / name).is_file(), name
        assert (bundle / name).stat().st_size > 0, name
    assert settings["baseline"] == {"path": BASELINE_PATH, "format": "sklearn"}
    assert (bundle / BASELINE_PATH).stat().st_size < 2_000_000


def test_settings_and_intent_agree(bundle: Path) -> None:
    settings = _settings(bundle)
    intent = Intent.model_validate(settings["intent"])
    problem = get_problem(settings["slug"])
    assert settings["task"] == problem.task == intent.task
    assert settings["id_column"] == intent.id_column
    assert settings["target"] == intent.target
    assert settings["metrics"] == [m.name for m in intent.metrics]
    assert settings["formats"] == intent.model.formats
    assert settings.get("classes") == intent.classes
    assert settings["split"]["public_fraction"] == intent.split.public_fraction == 0.3
    assert settings["team"]["max_size"] == 4
    phase = settings["phases"][0]
    assert phase["name"] == "development"
    assert phase["start"] == "2026-01-01T00:00:00Z"
    assert "end" not in phase
    assert settings["baseline"]["format"] in intent.model.formats


def test_bundle_writes_the_problem_settings_with_its_seed(bundle: Path) -> None:
    written = _settings(bundle)
    settings = get_problem(written["slug"]).settings()
    seeded = {"public_fraction": settings["split"]["public_fraction"], "seed": 0}
    intent = {**settings["intent"], "split": seeded}
    assert written == {
        **settings,
        "split": seeded,
        "intent": intent,
        "baseline": written["baseline"],
    }


def test_description_names_the_problem_and_how_to_submit(bundle: Path) -> None:
    settings = _settings(bundle)
    slug = settings["slug"]
    text = (bundle / "description.md").read_text()
    assert text == get_problem(slug).description()
    assert text.startswith("# ")
    assert f"mlchallenge submit {slug} model.joblib --format sklearn --wait" in text
    assert "--format predictions" in text
    assert f"`{settings['target']}`" in text
    assert "train.parquet" in text


def test_tables_are_clean(bundle: Path) -> None:
    settings = _settings(bundle)
    id_column, target = settings["id_column"], settings["target"]
    train, test, labels = _tables(bundle)
    problem_features = features(get_problem(settings["slug"]))
    assert list(test.columns) == [id_column, *problem_features]
    assert list(train.columns) == [id_column, *problem_features, target]
    assert list(labels.columns) == [id_column, target, "split"]
    assert len(test) == len(labels) == SIZE
    assert target not in test.columns
    assert target in train.columns
    assert test[id_column].is_unique and train[id_column].is_unique
    assert test[id_column].tolist() == labels[id_column].tolist()
    for column in test.columns:
        assert pd.api.types.is_numeric_dtype(test[column]), column
        assert not pd.api.types.is_bool_dtype(test[column]), column
    assert set(test.columns) <= set(train.columns)
    assert labels[target].notna().all()
    if settings.get("classes") is not None:
        assert set(labels[target]) <= set(settings["classes"])
        assert set(train[target]) <= set(settings["classes"])


def test_labels_split_is_public_and_private(bundle: Path) -> None:
    labels = _tables(bundle)[2]
    fraction = _settings(bundle)["split"]["public_fraction"]
    assert set(labels["split"]) == {"public", "private"}
    assert (labels["split"] == "public").sum() == round(SIZE * fraction)


def test_baseline_predicts_every_row_without_the_platform(bundle: Path, tmp_path: Path) -> None:
    settings = _settings(bundle)
    test = _tables(bundle)[1]
    test.drop(columns=settings["id_column"]).to_parquet(tmp_path / "features.parquet")
    baseline = settings["baseline"]
    command = [
        sys.executable,
        "-I",
        "-c",
        PREDICT_SCRIPT,
        str(bundle / baseline["path"]),
        baseline["format"],
        str(tmp_path / "features.parquet"),
        str(tmp_path / "predictions.parquet"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")["prediction"]
    assert len(predictions) == len(test)
    if settings.get("classes") is not None:
        assert set(predictions.tolist()) <= set(settings["classes"])
    else:
        assert np.isfinite(predictions.to_numpy(dtype=float)).all()


def test_bundle_is_deterministic(bundle: Path, tmp_path: Path) -> None:
    problem = get_problem(_settings(bundle)["slug"])
    again = problem.write_bundle(tmp_path / "again", seed=0, size=SIZE)
    files = sorted(p.relative_to(bundle) for p in bundle.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (bundle / name).read_bytes() == (again / name).read_bytes(), name
    other = problem.write_bundle(tmp_path / "other", seed=1, size=SIZE, baseline=False)
    for table in ("train.parquet", "test.parquet", "test_labels.parquet"):
        assert (bundle / table).read_bytes() != (other / table).read_bytes(), table
    target = _settings(bundle)["target"]
    (_, test, labels), (_, other_test, other_labels) = _tables(bundle), _tables(other)
    assert not labels[target].equals(other_labels[target])
    floats = [c for c in test.columns if pd.api.types.is_float_dtype(test[c])]
    assert floats
    for column in floats:  # every measured feature depends on the seed (padding may not vary)
        if test[column].nunique() > 1:
            assert not test[column].equals(other_test[column]), column


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_default_size_generates_quickly(problem: Problem) -> None:
    generated = default_generation(problem.id)
    assert generated.seconds < 30
    assert len(generated.data.test) == problem.default_size == len(generated.data.labels)
    assert len(generated.data.train) >= problem.default_size


def test_the_sample_submission_covers_the_whole_test_set(tmp_path: Path) -> None:
    """A participant's first upload of the sample is a valid submission, whatever the test size."""
    problem = get_problem("radio-link-failure")
    bundle = problem.write_bundle(tmp_path / "bundle", seed=1, size=3_000, baseline=False)
    settings = _settings(bundle)
    test = pd.read_parquet(bundle / "test.parquet")
    sample = pd.read_csv(bundle / "sample_submission.csv")
    assert len(test) > 1_000
    assert list(sample.columns) == [settings["id_column"], settings["target"]]
    assert sorted(sample[settings["id_column"]]) == sorted(test[settings["id_column"]])
    assert sample[settings["target"]].notna().all()

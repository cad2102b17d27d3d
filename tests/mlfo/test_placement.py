"""Placement: the Celery queue and the model's device follow the intent's resource class."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mlfo.errors import Outcome
from mlfo.intent import ResourceClass
from mlfo.pipeline import build_pipeline
from mlfo.placement import (
    QUEUES,
    cuda_available,
    cuda_device,
    device_for,
    device_name,
    placement_note,
    queue_for,
    worker_device,
)
from mlfo.validation import validate_intent
from tests.mlfo.mlfo_data import Dataset, evaluation_input, intent_data, linear_torchscript


@pytest.mark.parametrize(
    ("resource_class", "queue", "device"),
    [("cpu", "cpu", "cpu"), ("gpu", "gpu", "cuda"), ("large-memory", "large-memory", "cpu")],
)
def test_queue_and_device_by_resource_class(resource_class: str, queue: str, device: str) -> None:
    intent = validate_intent(
        intent_data("regression", placement={"resource_class": resource_class})
    )
    assert queue_for(intent) == queue
    assert device_for(intent) == device


def test_every_resource_class_has_a_queue() -> None:
    assert set(QUEUES) == set(ResourceClass)
    assert queue_for(validate_intent(intent_data("regression"))) == "cpu"


def test_the_placement_note_says_when_a_gpu_competition_ran_on_the_cpu() -> None:
    gpu = validate_intent(intent_data("regression", placement={"resource_class": "gpu"}))
    cpu = validate_intent(intent_data("regression"))
    assert placement_note(gpu, "cuda") == ""
    assert placement_note(cpu, "cpu") == ""
    assert "asks for cuda" in placement_note(gpu, "cpu")
    assert "the model ran on cpu" in placement_note(gpu, "cpu")


def test_the_cuda_probe_agrees_with_torch() -> None:
    torch = pytest.importorskip("torch")
    assert cuda_available() == torch.cuda.is_available()
    if torch.cuda.is_available():
        assert cuda_device() == torch.cuda.get_device_name()
        assert device_name("cuda") == f"cuda ({torch.cuda.get_device_name()})"
    assert device_name("cpu") == "cpu"


def test_a_gpu_competition_runs_on_the_device_this_worker_has(
    regression: Dataset, tmp_path: Path
) -> None:
    """On a GPU worker the model runs on CUDA; on a CPU-only one it still scores, on the CPU."""
    pytest.importorskip("torch")
    tmp_path.chmod(0o755)
    model = linear_torchscript(tmp_path / "model.pt", [3.0, 1.0])
    intent = intent_data(
        "regression",
        model={"formats": ["torchscript"], "limits": {"time_s": 120}},
        placement={"resource_class": "gpu"},
    )
    device = worker_device(validate_intent(intent))
    assert device == ("cuda" if cuda_available() else "cpu")
    inp = dataclasses.replace(
        evaluation_input(regression, intent, model, tmp_path / "work", fmt="torchscript"),
        device=device,
    )
    result = build_pipeline(intent).run(inp)
    assert result.outcome == Outcome.OK, f"{result.message}\n{result.logs}"
    assert result.scores["public"]["mae"] is not None and result.scores["public"]["mae"] < 0.5
    assert result.provenance["mlchallenge.resource_class"] == "gpu"
    assert result.provenance["mlchallenge.device"] == device_name(device)
    if device == "cuda":
        assert "ran on cpu" not in result.logs
    else:
        assert result.logs.startswith("mlchallenge: this competition asks for cuda")

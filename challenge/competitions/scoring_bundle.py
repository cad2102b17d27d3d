"""Our host bundle with a `scoring` section: a competition scored by the bundle's own program."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from challenge.competitions.bundle import (
    Bundle,
    CompetitionSettings,
    ProgramFiles,
    ScoringSettings,
    format_validation_error,
)
from challenge.errors import ValidationFailed
from mlfo.errors import IntentError

TASK_KEY = "main"


def _folder(root: Path, name: str, what: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_dir():
        raise ValidationFailed(f"competition.yaml: scoring.{what}: {name!r} is not a folder")
    return path


def load_scoring_bundle(
    root: Path, settings: CompetitionSettings, scoring: ScoringSettings
) -> Bundle:
    """Validate the scoring section and its folders; the intent gets one task, `main`."""
    from pydantic import ValidationError

    from mlfo.validation import validate_intent

    files = ProgramFiles()
    program = _folder(root, scoring.program, "program")
    task: dict[str, Any] = {
        "key": TASK_KEY,
        "name": settings.title,
        "scoring": {
            "folder": files.add_program("scoring", program),
            "command": scoring.command,
        },
        "reference_data": files.add_reference(
            "reference", _folder(root, scoring.reference, "reference")
        ),
    }
    if scoring.ingestion is not None:
        ingestion = _folder(root, scoring.ingestion, "ingestion")
        task["ingestion"] = {
            "folder": files.add_program("ingestion", ingestion),
            "command": scoring.ingestion_command,
        }
    if scoring.input_data is not None:
        data = _folder(root, scoring.input_data, "input_data")
        task["input_data"] = files.add_program("input_data", data)
    formats = settings.formats or (
        ["code", "results"] if scoring.ingestion is not None else ["results"]
    )
    intent_data: dict[str, Any] = {
        "task": settings.task or "regression",
        "id_column": settings.id_column or "id",
        "target": settings.target or "target",
        "metrics": [{"name": str(scoring.public.get("rank_by", ""))}],
        "model": {"formats": formats},
        "kpis": [],
        "programs": {
            "tasks": [task],
            "limits": scoring.limits,
            "public": scoring.public,
            "private": scoring.private,
        },
    }
    try:
        intent = validate_intent(intent_data)
    except IntentError as exc:
        raise ValidationFailed(f"competition.yaml: scoring: {exc}") from None
    except ValidationError as exc:
        raise ValidationFailed(format_validation_error(exc, "competition.yaml: scoring")) from None
    description = root / "description.md"
    sample = next(
        (
            p
            for p in sorted(root.glob("sample_submission.*"))
            if p.suffix in (".zip", ".json", ".txt")
        ),
        None,
    )
    return Bundle(
        root=root,
        settings=settings,
        intent=intent,
        description=(
            description.read_text(encoding="utf-8")
            if description.is_file()
            else f"# {settings.title}\n"
        ),
        train=None,
        test=None,
        labels=None,
        sample_submission=sample,
        baseline=None,
        programs=files,
    )

"""Request and response bodies of the model marketplace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Publish(BaseModel):
    """Publish a final model with a licence."""

    model_config = ConfigDict(extra="forbid")

    submission_id: int = Field(ge=1, le=2**31 - 1)
    licence: str = Field(min_length=1, max_length=64, description="an SPDX identifier")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)


class ModelCard(BaseModel):
    """A published model's card."""

    id: int
    title: str
    description: str
    licence: str
    competition: str
    problem_statement: str
    team: str
    format: str
    scores: dict[str, Any]
    intervals: dict[str, Any]
    kpis: dict[str, Any]
    provenance: dict[str, Any]
    """the hashes of the model, test data and labels, the MLflow run and registered model"""
    downloads: int
    published_at: datetime
    unpublished_at: datetime | None
    download: str


def model_card(card: Any) -> ModelCard:
    """The card as the API shows it (`card`: a `marketplace.Card`; the phase is finalized, so
    private scores are public)."""
    model, submission, competition = card.model, card.submission, card.competition
    return ModelCard(
        id=model.id,
        title=model.title,
        description=model.description,
        licence=model.licence,
        competition=competition.slug,
        problem_statement=competition.title,
        team=card.team.name,
        format=submission.format,
        scores=dict(submission.scores or {}),
        intervals=dict(submission.intervals or {}),
        kpis=dict(submission.kpis or {}),
        provenance={
            "model_sha256": submission.file_sha256,
            "test_sha256": competition.test_sha256,
            "labels_sha256": competition.labels_sha256,
            "mlflow_run_id": submission.mlflow_run_id,
            "mlflow_registered_model": card.registered_model,
            "submission_id": submission.id,
        },
        downloads=model.downloads,
        published_at=model.published_at,
        unpublished_at=model.unpublished_at,
        download=f"/api/v1/marketplace/{model.id}/download",
    )

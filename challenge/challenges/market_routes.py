"""HTTP routes of the model marketplace."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from challenge.api.deps import CurrentUser, OptionalUser, RowId, SessionDep
from challenge.challenges import marketplace
from challenge.challenges.market_schemas import ModelCard, Publish, model_card

router = APIRouter(prefix="/api/v1/marketplace", tags=["marketplace"])


@router.get("", response_model=list[ModelCard])
def list_models(session: SessionDep) -> list[ModelCard]:
    """Every published model."""
    return [model_card(marketplace.card(session, m)) for m in marketplace.listed(session)]


@router.get("/licences", response_model=list[str])
def licences() -> list[str]:
    """The licences a team may choose."""
    return list(marketplace.LICENCES)


@router.post("", response_model=ModelCard, status_code=201)
def publish(body: Publish, session: SessionDep, user: CurrentUser) -> ModelCard:
    """Publish your team's final model (once its phase is finalized) with a licence."""
    model = marketplace.publish(session, user=user, **body.model_dump())
    return model_card(marketplace.card(session, model))


@router.get("/{model_id}", response_model=ModelCard)
def get_model(model_id: RowId, session: SessionDep, user: OptionalUser) -> ModelCard:
    """A model's card."""
    model = marketplace.get_or_raise(session, model_id=model_id, user=user)
    return model_card(marketplace.card(session, model))


@router.delete("/{model_id}", response_model=ModelCard)
def unpublish(model_id: RowId, session: SessionDep, user: CurrentUser) -> ModelCard:
    """Take your team's model off the marketplace."""
    model = marketplace.unpublish(session, model_id=model_id, user=user)
    return model_card(marketplace.card(session, model))


@router.get("/{model_id}/download", response_class=FileResponse)
def download(model_id: RowId, session: SessionDep, user: OptionalUser) -> FileResponse:
    """The model in its submitted format (counted)."""
    path, name = marketplace.download(session, model_id=model_id, user=user)
    return FileResponse(path, filename=name, media_type="application/octet-stream")

"""Marketplace pages: published models, a model's card, the publish and unpublish forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import RowId, SessionDep
from challenge.challenges import marketplace
from challenge.challenges.market_schemas import model_card
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn, WebUser

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _list(
    request: Request,
    session: SessionDep,
    user: User | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    cards = [model_card(marketplace.card(session, m)) for m in marketplace.listed(session)]
    return render(
        request,
        "marketplace.html",
        user=user,
        cards=cards,
        licences=marketplace.LICENCES,
        error=error,
        status_code=status_code,
    )


@router.get("/marketplace")
def marketplace_page(request: Request, session: SessionDep, user: WebUser) -> Response:
    """Every published model, and the publish form."""
    return _list(request, session, user)


@router.post("/marketplace", dependencies=[CSRF])
def publish(
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    submission_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    licence: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    description: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Publish a final model."""
    try:
        model = marketplace.publish(
            session,
            user=user,
            submission_id=submission_id,
            licence=licence,
            title=title.strip(),
            description=description,
        )
    except PlatformError as exc:
        page = _list(request, session, user, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse(f"/marketplace/{model.id}", status_code=303)


@router.get("/marketplace/{model_id}")
def card_page(model_id: RowId, request: Request, session: SessionDep, user: WebUser) -> Response:
    """A model's card."""
    model = marketplace.get_or_raise(session, model_id=model_id, user=user)
    card = marketplace.card(session, model)
    return render(
        request,
        "model_card.html",
        user=user,
        card=model_card(card),
        owner=user is not None and marketplace.can_manage(session, model, user),
    )


@router.post("/marketplace/{model_id}/unpublish", dependencies=[CSRF])
def unpublish(model_id: RowId, session: SessionDep, user: LoggedIn) -> Response:
    """Take a model off the marketplace."""
    marketplace.unpublish(session, model_id=model_id, user=user)
    return RedirectResponse("/marketplace", status_code=303)

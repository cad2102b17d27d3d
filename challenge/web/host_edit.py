"""Host pages of one competition: edit (with a description preview), publish or archive, clone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import SessionDep, SettingsDep
from challenge.competitions import lifecycle
from challenge.competitions.bundle import format_validation_error
from challenge.competitions.models import Competition, CompetitionStatus
from challenge.competitions.schemas import CompetitionClone, CompetitionUpdate
from challenge.competitions.staff import require_manager
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _page(
    request: Request,
    user: User,
    competition: Competition,
    *,
    form: dict[str, Any] | None = None,
    preview: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    require_manager(user, competition)
    limits = competition.intent["model"]["limits"]
    values = form or {
        "title": competition.title,
        "description": competition.description,
        "status": competition.status.value,
        "time_s": limits.get("time_s", ""),
        "memory_mb": limits.get("memory_mb", ""),
        "max_team_size": competition.max_team_size,
    }
    return render(
        request,
        "host_edit.html",
        user=user,
        competition=competition,
        form=values,
        statuses=[s.value for s in CompetitionStatus],
        preview=preview,
        saved=request.query_params.get("saved") == "1",
        announced=request.query_params.get("announced") == "1",
        error=error,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/edit")
def edit_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The host's form: title, description, status, limits; and cloning."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    return _page(request, user, competition)


@router.post("/competitions/{slug}/edit", dependencies=[CSRF])
def edit(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    title: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=200_000)],
    status: Annotated[str, Form(max_length=16)],
    time_s: Annotated[str, Form(max_length=12)] = "",
    memory_mb: Annotated[str, Form(max_length=12)] = "",
    max_team_size: Annotated[str, Form(max_length=6)] = "",
    action: Annotated[str, Form(max_length=16)] = "save",
) -> Response:
    """Preview the description, or save every field."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    form = {
        "title": title,
        "description": description,
        "status": status,
        "time_s": time_s,
        "memory_mb": memory_mb,
        "max_team_size": max_team_size,
    }
    if action == "preview":
        return _page(request, user, competition, form=form, preview=description)
    limits = {k: v.strip() for k, v in (("time_s", time_s), ("memory_mb", memory_mb)) if v.strip()}
    try:
        change = CompetitionUpdate.model_validate(
            {
                "title": title,
                "description": description,
                "status": status,
                "limits": limits or None,
                "max_team_size": max_team_size.strip() or None,
            }
        )
        lifecycle.update(session, competition=competition, actor=user, change=change)
    except ValidationError as exc:
        message = format_validation_error(exc, "form")
        page = _page(request, user, competition, form=form, error=message, status_code=422)
        raise PageError(page) from exc
    except PlatformError as exc:
        page = _page(
            request, user, competition, form=form, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{slug}/edit?saved=1", status_code=303)


@router.post("/competitions/{slug}/clone", dependencies=[CSRF])
def clone(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    new_slug: Annotated[str, Form(max_length=64)],
    new_title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Copy the competition as a new draft and open its edit page."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    try:
        body = CompetitionClone.model_validate(
            {"slug": new_slug.strip(), "title": new_title.strip() or None}
        )
        copy = lifecycle.clone(
            session,
            settings=settings,
            competition=competition,
            actor=user,
            slug=body.slug,
            title=body.title,
        )
    except ValidationError as exc:
        message = format_validation_error(exc, "form")
        raise PageError(_page(request, user, competition, error=message, status_code=422)) from exc
    except PlatformError as exc:
        page = _page(request, user, competition, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{copy.slug}/edit", status_code=303)

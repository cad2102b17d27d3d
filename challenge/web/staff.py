"""The staff page of a competition: its hosts and judges; its hosts assign and remove them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import SessionDep
from challenge.competitions import service as competitions
from challenge.competitions import staff as staff_rules
from challenge.competitions.models import Competition
from challenge.competitions.schemas import StaffCreate
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
DONE = {"added": "Assigned.", "removed": "Removed."}


def _page(
    request: Request,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    staff_rules.require_staff(user, competition)
    return render(
        request,
        "host_staff.html",
        user=user,
        competition=competition,
        staff=staff_rules.get_all(competition),
        manager=staff_rules.can_manage(user, competition),
        done=DONE.get(request.query_params.get("done", "")),
        error=error,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/staff")
def staff_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The competition's hosts and judges (for its staff), with the forms of its hosts."""
    return _page(request, user, competitions.get_or_raise(session, slug=slug))


@router.post("/competitions/{slug}/staff", dependencies=[CSRF])
def add_staff(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    """Assign a host or judge."""
    competition = competitions.get_or_raise(session, slug=slug)
    try:
        body = StaffCreate.model_validate({"username": username.strip(), "role": role})
        staff_rules.add(
            session, competition=competition, actor=user, username=body.username, role=body.role
        )
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        raise PageError(_page(request, user, competition, error=message, status_code=422)) from exc
    except PlatformError as exc:
        page = _page(request, user, competition, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{slug}/staff?done=added", status_code=303)


@router.post("/competitions/{slug}/staff/{username}/remove", dependencies=[CSRF])
def remove_staff(
    slug: str, username: str, request: Request, session: SessionDep, user: LoggedIn
) -> Response:
    """Take a user off the staff."""
    competition = competitions.get_or_raise(session, slug=slug)
    try:
        staff_rules.remove(session, competition=competition, actor=user, username=username)
    except PlatformError as exc:
        page = _page(request, user, competition, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{slug}/staff?done=removed", status_code=303)

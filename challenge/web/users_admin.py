"""The admin's users page: search and page through accounts, change roles, deactivate, and
hand out invitations and password reset links."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.accounts import directory, passwords, registration
from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.accounts.schemas import InvitationCreate, UserUpdate
from challenge.api.deps import BaseUrl, RowId, SessionDep, SettingsDep
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
PER_PAGE = 25


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    q: str = "",
    page: int = 1,
    link: dict[str, object] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    rows, total = directory.search(
        session, admin=user, query=q, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    return render(
        request,
        "admin_users.html",
        user=user,
        rows=rows,
        total=total,
        q=q,
        page=page,
        pages=max(1, math.ceil(total / PER_PAGE)),
        roles=[role.value for role in Role],
        registration=request.app.state.settings.sign_up.value,
        link=link,
        done=request.query_params.get("done") == "1",
        error=error,
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Every account, searched by username or email, 25 a page."""
    return _page(request, session, user, q=q, page=page)


@router.post("/admin/users/{user_id}", dependencies=[CSRF])
def update_user(
    user_id: RowId,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    role: Annotated[str, Form(max_length=16)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Change a role, or deactivate or reactivate an account."""
    try:
        body = UserUpdate.model_validate(
            {"role": role or None, "is_active": {"yes": True, "no": False}.get(active)}
        )
        directory.update(
            session, admin=user, user_id=user_id, role=body.role, is_active=body.is_active
        )
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise PageError(_page(request, session, user, error=message, status_code=422)) from exc
    except PlatformError as exc:
        page = _page(request, session, user, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse("/admin/users?done=1", status_code=303)


@router.post("/admin/users/{user_id}/reset-link", dependencies=[CSRF])
def reset_link(
    user_id: RowId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    base: BaseUrl,
) -> Response:
    """A one-time password reset link to hand to the user."""
    target = accounts.get_or_raise(session, user_id=user_id)
    link, address = passwords.reset_link(
        session, settings=settings, admin=user, user=target, base_url=base
    )
    shown = {"what": f"Password reset link for {target.username}", "url": address, "row": link}
    return _page(request, session, user, link=shown, status_code=201)


@router.post("/admin/invitations", dependencies=[CSRF])
def invite(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    base: BaseUrl,
    role: Annotated[str, Form(max_length=16)] = "participant",
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """An invitation link with a role, emailed when an address is given and SMTP is set."""
    try:
        body = InvitationCreate.model_validate({"role": role, "email": email.strip() or None})
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise PageError(_page(request, session, user, error=message, status_code=422)) from exc
    link, address, mailed = registration.invite(
        session, settings=settings, inviter=user, base_url=base, role=body.role, email=body.email
    )
    what = f"Invitation as {body.role.value}" + (f", emailed to {body.email}" if mailed else "")
    return _page(
        request, session, user, link={"what": what, "url": address, "row": link}, status_code=201
    )

"""The account page: change the password, make, see once, list and revoke API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.accounts import passwords, tokens
from challenge.accounts.models import User
from challenge.accounts.schemas import TokenCreate
from challenge.api.deps import RowId, SessionDep
from challenge.api.ratelimit import rate_limit
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
DONE = {
    "password": "Your password is changed.",
    "revoked": "The token is revoked.",
    "welcome": "You are logged in. Choose a password below to log in with it next time.",
}


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    error: str | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "account.html",
        user=user,
        tokens=tokens.get_all(session, user=user),
        done=DONE.get(request.query_params.get("done", "")),
        new_token=new_token,
        error=error,
        status_code=status_code,
    )


@router.get("/account")
def account_page(request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """Your account: password and API tokens."""
    return _page(request, session, user)


@router.post("/account/password", dependencies=[CSRF])
def change_password(
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    current_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
) -> Response:
    """Change the password (the current one is checked)."""
    try:
        passwords.change(session, user=user, current=current_password, new=new_password)
    except PlatformError as exc:
        page = _page(request, session, user, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/tokens", dependencies=[CSRF, rate_limit("tokens")])
def create_token(
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    name: Annotated[str, Form(max_length=64)],
    expires_in_days: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Make a named token and show it this once."""
    try:
        body = TokenCreate.model_validate(
            {"name": name.strip(), "expires_in_days": expires_in_days.strip() or None}
        )
        _, secret = tokens.create(
            session, user=user, name=body.name, expires_in_days=body.expires_in_days
        )
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        page = _page(request, session, user, error=message, status_code=422)
        raise PageError(page) from exc
    return _page(request, session, user, new_token=secret, status_code=201)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[CSRF])
def revoke_token(token_id: RowId, session: SessionDep, user: LoggedIn) -> Response:
    """Revoke one of your tokens."""
    tokens.revoke(session, user=user, token_id=token_id)
    return RedirectResponse("/account?done=revoked", status_code=303)

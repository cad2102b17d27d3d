"""Logging in with a password (sets the API token cookie) and logging out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from challenge.accounts import service as accounts
from challenge.api.cookies import delete_cookie, set_cookie
from challenge.api.deps import TOKEN_COOKIE, SessionDep
from challenge.api.ratelimit import limiter, rate_limit
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, WebUser

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A redirect target inside this site (anything else goes to the front page)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(
    request: Request, user: WebUser, next: str | None = Query(default=None, max_length=500)
) -> Response:
    """The login form."""
    return render(request, "login.html", user=user, next=safe_next(next), error=None, username="")


@router.post("/login", dependencies=[CSRF, rate_limit("login")])
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password, set the login cookie and go back where the user was going."""
    try:
        limiter(request).check("login_user", username.strip().lower())
        _, token = accounts.login(session, username=username.strip(), password=password)
    except PlatformError as exc:
        page = render(
            request,
            "login.html",
            user=None,
            next=safe_next(next),
            error=exc.message,
            username=username,
            status_code=exc.status_code,
        )
        page.headers.update(exc.headers or {})
        raise PageError(page) from exc
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, TOKEN_COOKIE, token)
    return response


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, session: SessionDep) -> Response:
    """Revoke the login token and forget the cookie."""
    token = request.cookies.get(TOKEN_COOKIE)
    if token:
        accounts.revoke_token(session, token=token)
    response = RedirectResponse("/", status_code=303)
    delete_cookie(response, request, TOKEN_COOKIE)
    return response

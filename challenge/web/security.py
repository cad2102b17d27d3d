"""Who is looking at a page (the login cookie), and CSRF protection of forms that change state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from challenge.accounts import service as accounts
from challenge.accounts.models import User
from challenge.api.cookies import CSRF_COOKIE, TOKEN_COOKIE
from challenge.api.csrf import csrf_seed, csrf_token, same_origin, valid_token
from challenge.api.deps import SessionDep, SettingsDep
from challenge.config import Settings
from challenge.errors import Forbidden, Unauthenticated
from challenge.notifications.service import unread_count

__all__ = ["CSRF_COOKIE", "csrf_seed", "csrf_token"]

CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """The page needs a logged-in user; the web layer redirects to the login page."""


def web_user(request: Request, session: SessionDep) -> User | None:
    """The user of the login cookie; a stale or revoked cookie counts as logged out."""
    token = request.cookies.get(TOKEN_COOKIE)
    user = None
    if token:
        try:
            user = accounts.authenticate_token(session, token=token)
        except Unauthenticated:
            user = None
    request.state.web_user = user
    request.state.unread = 0 if user is None else unread_count(session, user=user)
    return user


def logged_in(user: Annotated[User | None, Depends(web_user)]) -> User:
    """The logged-in user, or a redirect to the login page."""
    if user is None:
        raise LoginRequired()
    return user


WebUser = Annotated[User | None, Depends(web_user)]
LoggedIn = Annotated[User, Depends(logged_in)]


def verify_csrf(
    request: Request,
    settings: SettingsDep,
    csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> None:
    """Refuse a state-changing form posted from another site or without a valid token."""
    check_form_token(request, settings, csrf_token_field)


def check_form_token(request: Request, settings: Settings, token: str) -> None:
    """The check of `verify_csrf`, for routes that read their form themselves (uploads)."""
    if not same_origin(request):
        raise Forbidden("this form was posted from another site; use the form on this site")
    if not valid_token(request, settings, token):
        raise Forbidden("the form has expired; reload the page and submit it again")


CSRF = Depends(verify_csrf)

"""Who is looking at a page (the login cookie), and CSRF protection of forms that change state."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request

from challenge.accounts import service as accounts
from challenge.accounts.models import User
from challenge.api.deps import TOKEN_COOKIE, SessionDep, SettingsDep
from challenge.config import Settings
from challenge.errors import Forbidden, Unauthenticated

CSRF_COOKIE = "mlchallenge_csrf"
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
    return user


def logged_in(user: Annotated[User | None, Depends(web_user)]) -> User:
    """The logged-in user, or a redirect to the login page."""
    if user is None:
        raise LoginRequired()
    return user


WebUser = Annotated[User | None, Depends(web_user)]
LoggedIn = Annotated[User, Depends(logged_in)]


def csrf_seed(request: Request) -> str:
    """The browser's CSRF seed: its cookie, or a fresh one that the page will set."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_seed", None)
    if seed is None:
        seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed
    return str(seed)


def csrf_token(request: Request, settings: Settings) -> str:
    """The token forms carry: an HMAC of the browser's seed and its login cookie."""
    message = f"{csrf_seed(request)}:{request.cookies.get(TOKEN_COOKIE, '')}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def verify_csrf(
    request: Request,
    settings: SettingsDep,
    csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> None:
    """Refuse a state-changing form posted from another site or without a valid token."""
    if not _same_origin(request):
        raise Forbidden("this form was posted from another site; use the form on this site")
    if CSRF_COOKIE not in request.cookies or not hmac.compare_digest(
        csrf_token_field, csrf_token(request, settings)
    ):
        raise Forbidden("the form has expired; reload the page and submit it again")


CSRF = Depends(verify_csrf)

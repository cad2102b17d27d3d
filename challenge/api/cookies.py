"""The platform's cookies (login token, CSRF seed): HttpOnly, SameSite, Secure over HTTPS."""

from __future__ import annotations

from typing import Literal

from fastapi import Request
from starlette.responses import Response

from challenge.config import Settings

COOKIE_MAX_AGE_S = 30 * 86400
TOKEN_COOKIE = "mlchallenge_token"
"""The login cookie: the API token of a web session."""
CSRF_COOKIE = "mlchallenge_csrf"
"""The browser's CSRF seed (see `challenge.api.csrf`)."""


def cookies_secure(request: Request) -> bool:
    """Whether cookies get the Secure flag: always with the setting, else on HTTPS requests."""
    settings: Settings = request.app.state.settings
    return settings.secure_cookies or request.url.scheme == "https"


def set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    samesite: Literal["lax", "strict"] = "lax",
) -> None:
    """Set an HttpOnly cookie for 30 days, Secure where `cookies_secure` says so."""
    response.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite=samesite,
        secure=cookies_secure(request),
    )


def delete_cookie(response: Response, request: Request, name: str) -> None:
    """Forget a cookie (with the attributes it was set with)."""
    response.delete_cookie(name, httponly=True, samesite="lax", secure=cookies_secure(request))

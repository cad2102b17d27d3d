"""Cross-site request forgery: the token that forms and cookie-authenticated API calls carry.

A browser sends the login cookie with requests that other pages of the same site start, so a
request authenticated by that cookie proves nothing about who wrote it. Every state-changing
request that relies on the cookie must therefore also show that it comes from this site: a
token that only our pages know (an HMAC of the browser's CSRF seed cookie and its login cookie),
or, for API calls, an `Origin` header naming this site. Bearer tokens are never sent by a browser
on its own, so requests that carry one need neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request

from challenge.api.cookies import CSRF_COOKIE, TOKEN_COOKIE
from challenge.config import Settings
from challenge.errors import Forbidden

CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_seed(request: Request) -> str:
    """The browser's CSRF seed: its cookie, or a fresh one that the page will set."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_seed", None)
    if seed is None:
        seed = secrets.token_urlsafe(24)
        request.state.csrf_seed = seed
    return str(seed)


def csrf_token(request: Request, settings: Settings) -> str:
    """The token pages embed: an HMAC of the browser's seed and its login cookie."""
    message = f"{csrf_seed(request)}:{request.cookies.get(TOKEN_COOKIE, '')}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def valid_token(request: Request, settings: Settings, token: str) -> bool:
    """Whether `token` is this browser's CSRF token (its seed cookie must be present)."""
    return CSRF_COOKIE in request.cookies and hmac.compare_digest(
        token.encode(), csrf_token(request, settings).encode()
    )


def origin_of(request: Request) -> str | None:
    """The host:port of the Origin header, else of the Referer; None when neither names one.

    `Origin: null` (a sandboxed frame, or a page with `Referrer-Policy: no-referrer`) names no
    origin: such a request must carry the CSRF token.
    """
    origin = request.headers.get("origin")
    source = origin if origin and origin != "null" else request.headers.get("referer")
    return urlsplit(source).netloc if source else None


def same_origin(request: Request) -> bool:
    """Whether the Origin (or Referer) header names the host the request was sent to."""
    origin = origin_of(request)
    return origin is None or origin == request.headers.get("host", "")


def check_cookie_request(request: Request, settings: Settings) -> None:
    """Refuse an unsafe API request authenticated by the login cookie unless it is same-origin.

    It passes with an `Origin` (or `Referer`) of this site, or without either but with the page's
    CSRF token in the `X-CSRF-Token` header. Another origin is refused even with a token.
    """
    if request.method in SAFE_METHODS:
        return
    origin = origin_of(request)
    if origin is not None:
        if origin == request.headers.get("host", ""):
            return
        raise Forbidden(
            "this request was sent from another site with the login cookie; call the API with "
            "`Authorization: Bearer <token>` instead"
        )
    if not valid_token(request, settings, request.headers.get(CSRF_HEADER, "")):
        raise Forbidden(
            "a request authenticated by the login cookie needs the page's CSRF token in the "
            "X-CSRF-Token header (or use `Authorization: Bearer <token>`)"
        )

"""Security headers on every response: a strict CSP on the platform's pages, no framing, nosniff.

The pages carry no inline script or style (scripts and styles are files under /static), so the
policy allows only the platform's own origin. `/docs` and `/redoc` (Swagger UI and ReDoc, whose
files are served from `/docs/assets`, start with an inline script) keep only the framing rule,
and the proxied MLflow UI frames its own artifact previews, so it may be framed by this origin.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
DOCS_PATHS = ("/docs", "/redoc")
MLFLOW_PREFIX = "/mlflow"


def headers_for(path: str) -> dict[str, str]:
    """The security headers of a response to `path`."""
    if path == MLFLOW_PREFIX or path.startswith(MLFLOW_PREFIX + "/"):
        framing = {
            "Content-Security-Policy": "frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN",
        }
    elif path.startswith(DOCS_PATHS):
        framing = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}
    else:
        framing = {"Content-Security-Policy": PAGE_POLICY, "X-Frame-Options": "DENY"}
    return {**COMMON, **framing}


class SecurityHeaders:
    """ASGI middleware that adds `headers_for(path)` to each response (streamed ones too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    """Add the middleware to the application."""
    app.add_middleware(SecurityHeaders)

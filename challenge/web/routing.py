"""A route class that turns errors into HTML pages: friendly messages, login redirects."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.security import LoginRequired

log = logging.getLogger(__name__)

TITLES = {
    400: "Something is not right",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Limit reached",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def error_page(request: Request, status_code: int, message: str) -> Response:
    """The HTML page of an error, with the platform's message."""
    return render(
        request,
        "error.html",
        user=getattr(request.state, "web_user", None),
        status_code=status_code,
        title=TITLES.get(status_code, "Error"),
        message=message,
    )


def login_redirect(request: Request) -> Response:
    """Send the browser to the login page, back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        problems.append(f"{where or 'form'}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "the form is invalid"


class HtmlRoute(APIRoute):
    """Errors of web pages become HTML pages instead of the API's JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler so that domain errors render as pages."""
        handler = super().get_route_handler()

        async def html_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PageError as exc:
                return exc.response
            except LoginRequired:
                return login_redirect(request)
            except PlatformError as exc:
                page = error_page(request, exc.status_code, exc.message)
                page.headers.update(exc.headers or {})
                return page
            except RequestValidationError as exc:
                return error_page(request, 422, _validation_message(exc))
            except Exception:
                log.exception("unexpected error on page %s", request.url.path)
                return error_page(
                    request, 500, "the platform failed on this page; it has been logged"
                )

        return html_handler

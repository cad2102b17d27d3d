"""One place that maps every error to a JSON response that says what to fix."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from challenge.errors import PlatformError

log = logging.getLogger(__name__)


def _body(code: str, message: str, **detail: object) -> dict[str, object]:
    return {"error": code, "message": message, "detail": detail}


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    """The JSON body of a routing error (unknown URL, wrong method)."""
    message = str(exc.detail) if exc.detail else "error"
    return JSONResponse(
        _body(f"http_{exc.status_code}", message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""

    @app.exception_handler(PlatformError)
    async def platform_error(_request: Request, exc: PlatformError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message, **exc.detail),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse(
            _body("invalid_request", "; ".join(problems) or "invalid request", errors=problems),
            status_code=422,
        )

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the client sent (a NUL byte, a number out of range).
        return JSONResponse(
            _body(
                "invalid_value",
                "a value in the request cannot be stored (NUL bytes or a number out of range); "
                "remove control characters and keep numbers within range",
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            _body("internal_error", "the platform failed on this request; it has been logged"),
            status_code=500,
        )

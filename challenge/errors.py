"""Domain errors: each carries its HTTP status; one handler in the web layer maps them."""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """Base of every error a client can cause; `message` says what was wrong and how to fix it."""

    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None
    """Response headers the error needs (Retry-After of a 429)."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class BadRequest(PlatformError):
    """The request is malformed or invalid."""


class ValidationFailed(PlatformError):
    """An uploaded file or document does not pass validation."""

    status_code = 422
    code = "validation_failed"


class Unauthenticated(PlatformError):
    """No or an unknown credential."""

    status_code = 401
    code = "unauthenticated"


class Forbidden(PlatformError):
    """The caller's role or team does not allow this."""

    status_code = 403
    code = "forbidden"


class NotFound(PlatformError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status_code = 404
    code = "not_found"


class Conflict(PlatformError):
    """The request conflicts with the current state (a duplicate name, already a member, ...)."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(PlatformError):
    """An upload is over its size limit."""

    status_code = 413
    code = "payload_too_large"


class RequestTimeout(PlatformError):
    """The client sent its request too slowly."""

    status_code = 408
    code = "request_timeout"


class QuotaExceeded(PlatformError):
    """A submission limit of the phase is reached."""

    status_code = 429
    code = "quota_exceeded"


class RateLimited(PlatformError):
    """Too many requests of one kind from one address (or for one account); retry later."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class ServiceUnavailable(PlatformError):
    """A platform dependency is down; the client may retry."""

    status_code = 503
    code = "service_unavailable"

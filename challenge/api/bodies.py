"""Request bodies: a size cap per route and a deadline for slow senders, enforced as bytes arrive.

An ASGI middleware, so it holds before any route, form parser or JSON decoder sees the body: a
declared `Content-Length` over the cap is refused before one byte is read, and a chunked body is
counted as it streams and refused the moment it passes the cap. Uploads (submissions, bundles)
get their own caps, and only as multipart bodies; every other request (JSON, forms) is capped at
`max_body_kb`. A body that stalls (no byte for `body_timeout_s`) or trickles (below
`body_min_bytes_per_s` on average once `body_timeout_s` has passed) gets a 408.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from dataclasses import dataclass
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from challenge.config import Settings
from challenge.errors import PayloadTooLarge, PlatformError, RequestTimeout

MULTIPART_OVERHEAD = 1024**2
"""Room for the form's other fields and part headers around an uploaded file."""

PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Request refused</title>'
    "<h1>Request refused</h1><p>{message}</p><p>Go back to the form and try again.</p></html>"
)
"""What a browser posting a web form gets (the middleware cannot render the site's templates)."""

UploadKind = Literal["submission", "bundle"]


@dataclass(frozen=True)
class UploadRoute:
    """A route that takes a file upload, and which cap applies to it."""

    method: str
    path: re.Pattern[str]
    kind: UploadKind


UPLOAD_ROUTES = (
    UploadRoute("POST", re.compile(r"/api/v1/competitions/[^/]+/submissions"), "submission"),
    UploadRoute("POST", re.compile(r"/competitions/[^/]+/submit"), "submission"),
    UploadRoute("POST", re.compile(r"/api/v1/competitions"), "bundle"),
    UploadRoute("POST", re.compile(r"/host/competitions/bundle"), "bundle"),
)


@dataclass(frozen=True)
class Limit:
    """The most bytes a request may send, and how to name that limit to the client."""

    max_bytes: int
    what: str
    shown_mb: float


def body_limit(settings: Settings, *, method: str, path: str, content_type: str) -> Limit:
    """The cap on a request's body (multipart uploads to upload routes get the upload caps)."""
    if content_type.startswith("multipart/form-data"):
        for route in UPLOAD_ROUTES:
            if route.method == method and route.path.fullmatch(path):
                if route.kind == "submission":
                    megabytes, what = settings.max_upload_mb, "a submission (max_upload_mb)"
                else:
                    megabytes, what = settings.max_bundle_mb, "a host bundle (max_bundle_mb)"
                return Limit(megabytes * 1024**2 + MULTIPART_OVERHEAD, what, megabytes)
    return Limit(
        settings.max_body_kb * 1024, "this request (max_body_kb)", settings.max_body_kb / 1024
    )


class BodyLimits:
    """ASGI middleware: refuse bodies over the route's cap and bodies that arrive too slowly."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a `receive` that counts and times the body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = body_limit(
            self.settings,
            method=scope["method"],
            path=scope["path"],
            content_type=headers.get("content-type", "").lower(),
        )
        page = not scope["path"].startswith("/api/") and "text/html" in headers.get("accept", "")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await _answer(send, _too_large(limit), page=page)
            return
        body = _BodyWatch(receive, limit, self.settings)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if body.refused is not None:
                return  # whatever the app answers to a refused body, ours goes out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.receive, guarded_send)
        except Exception:
            if body.refused is None:
                raise
        if body.refused is not None and not started:
            await _answer(send, body.refused, page=page)


class _BodyWatch:
    """The request's `receive`, counting bytes against the cap and timing each wait."""

    def __init__(self, receive: Receive, limit: Limit, settings: Settings) -> None:
        self._receive = receive
        self._limit = limit
        self._grace = settings.body_timeout_s
        self._min_rate = settings.body_min_bytes_per_s
        self._started: float | None = None
        """When the application first asked for the body (authentication may come before)."""
        self.received = 0
        self.complete = False
        self.refused: PlatformError | None = None

    def _wait_s(self) -> float:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        trickle = self._started + self._grace + self.received / self._min_rate - now
        return max(0.05, min(self._grace, trickle))  # bytes already buffered are never refused

    async def receive(self) -> Message:
        """The next message of the body, or a refusal once a limit is broken."""
        if self.refused is not None:
            raise self.refused
        if self.complete:  # after the body, the app only waits for a disconnect: no deadline
            return await self._receive()
        try:
            message = await asyncio.wait_for(self._receive(), timeout=self._wait_s())
        except TimeoutError:
            self.refused = RequestTimeout(
                f"the request body arrived too slowly (no data for {self._grace:g} s, or less "
                f"than {self._min_rate} bytes/s); send it again on a faster connection",
            )
            raise self.refused from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.received > self._limit.max_bytes:
                self.refused = _too_large(self._limit)
                raise self.refused
        return message


def _too_large(limit: Limit) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than {limit.shown_mb:g} MB, the most this server accepts for "
        f"{limit.what}; send a smaller file (docs/security.md lists the limits)"
    )


async def _answer(send: Send, refused: PlatformError, *, page: bool) -> None:
    """The error as JSON (as a small page for a browser's form), closing the connection."""
    if page:
        media_type = b"text/html; charset=utf-8"
        content = PAGE.format(message=html.escape(refused.message)).encode()
    else:
        media_type = b"application/json"
        payload = {"error": refused.code, "message": refused.message, "detail": {}}
        content = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refused.status_code,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})

"""The HTTP server of `mlchallenge api` (and `serve`): uvicorn, with deadlines for slow clients.

uvicorn closes idle keep-alive connections but sets no deadline on a request's line and headers,
so a client that opens connections and sends a byte now and then holds them for ever. This
protocol gives every request `header_timeout_s` from its first byte (or from the connection's
opening) to the end of its headers, and at most `MAX_HEADER_BYTES` of them; past either it answers
408 or 431 and closes the connection. Bodies are timed by `challenge.api.bodies`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from challenge.config import get_settings

MAX_HEADER_BYTES = 64 * 1024
"""The request line and headers together (uvicorn's h11 default is 16 KB per event)."""


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a request whose head is over the cap."""


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap on request heads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = get_settings().header_timeout_s
        self._timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._head_started = False
        self._head_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock: the first request's head is due within the timeout."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A request's first byte: its head is due within the timeout (if no clock runs yet)."""
        super().on_message_begin()
        self._head_bytes, self._head_started = 0, True
        if self._timer is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        """Count the request line against the cap."""
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count each header against the cap."""
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head arrived in time: stop the clock (the body has its own deadlines)."""
        self._disarm()
        self._head_started = False
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse: 431 when the head was too large."""
        if self._head_too_large:
            self._refuse(431, f"the request line and headers exceed {MAX_HEADER_BYTES} bytes")
            return
        super().send_400_response(msg)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEADER_BYTES:
            self._head_too_large = True
            raise _HeadTooLarge()  # the parser turns it into an error: send_400_response

    def _arm(self) -> None:
        self._disarm()
        self._timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self._head_started:
            self.transport.close()  # nothing asked yet: just hang up
            return
        self._refuse(408, f"request headers not received within {self.header_timeout_s:g} s")

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        body = message.encode("ascii")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self.transport.close()


def run(*, host: str, port: int, workers: int, log_config: dict[str, Any] | None = None) -> None:
    """Serve `challenge.asgi:app` with the slow-client protocol (uvicorn's logging by default)."""
    import uvicorn

    options: dict[str, Any] = {} if log_config is None else {"log_config": log_config}
    uvicorn.run(
        "challenge.asgi:app",
        host=host,
        port=port,
        workers=workers,
        http=SlowClientProtocol,
        log_level="info",
        access_log=False,
        **options,
    )

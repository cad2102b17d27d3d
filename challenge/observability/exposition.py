"""Who may read the metrics, and the small metrics server of a worker
(`mlchallenge worker --metrics-port`)."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from challenge.config import Mode, Settings
from challenge.observability import metrics


@dataclass(frozen=True)
class Refusal:
    """Why a scrape is refused."""

    status: int
    message: str


def refusal(settings: Settings, authorization: str | None) -> Refusal | None:
    """None when the caller may read the metrics: with the bearer token when one is set; without
    one only outside production mode (a production install must choose a token)."""
    token = settings.metrics_token
    if not token:
        if settings.mode is Mode.PRODUCTION:
            return Refusal(
                403,
                "metrics are off: set MLCHALLENGE_METRICS_TOKEN and give Prometheus the same "
                "value as a bearer token (see docs/deploy.md)",
            )
        return None
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        return Refusal(401, "metrics need `Authorization: Bearer <MLCHALLENGE_METRICS_TOKEN>`")
    return None


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def metrics_app(settings: Settings) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving this machine's metrics at `/metrics` with the api's access rule."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"metrics are at /metrics\n"]
        refused = refusal(settings, environ.get("HTTP_AUTHORIZATION"))
        if refused is not None:
            start_response(
                f"{refused.status} {'Unauthorized' if refused.status == 401 else 'Forbidden'}",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [refused.message.encode() + b"\n"]
        start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE_LATEST)])
        return [metrics.exposition()]

    return app


_SERVING: list[WSGIServer] = []


def serve_metrics(settings: Settings, host: str, port: int) -> WSGIServer:
    """Serve the metrics on `host:port` from a daemon thread (a worker's metrics endpoint)."""
    server = make_server(host, port, metrics_app(settings), _Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    _SERVING.append(server)
    return server


def close_inherited() -> None:
    """In a forked child: close the listening socket inherited from the parent (the parent
    serves; a child that outlived it must not hold the port)."""
    while _SERVING:
        _SERVING.pop().socket.close()

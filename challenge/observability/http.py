"""The api's side of the metrics: request latency by route template, and `/metrics`."""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from challenge.api.deps import SettingsDep
from challenge.observability import metrics
from challenge.observability.exposition import refusal

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""The route label of requests that matched no route (404s from scanners stay one series)."""


class RequestMetrics:
    """ASGI middleware: counts requests and times them by route template (never the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        root_path = scope.get("root_path", "")

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope.get("method", "GET")
            metrics.observe_request(
                method if method in METHODS else "OTHER",
                route_template(scope, root_path),
                status,
                time.perf_counter() - started,
            )


def route_template(scope: Scope, root_path: str = "") -> str:
    """The matched route's path template, e.g. `/api/v1/submissions/{submission_id}`, or a
    mount's (`/static/{path}`: the router moved the mount's prefix into `root_path`)."""
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    mount = str(scope.get("root_path", ""))[len(root_path) :]
    return f"{mount}/{{path}}" if mount else UNMATCHED


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request, settings: SettingsDep) -> Response:
    """Prometheus metrics of this machine's api processes, plus the queue gauges."""
    from challenge.observability.queues import QueueCollector

    refused = refusal(settings, request.headers.get("authorization"))
    if refused is not None:
        return PlainTextResponse(
            refused.message, status_code=refused.status, headers={"WWW-Authenticate": "Bearer"}
        )
    body = metrics.exposition([QueueCollector(settings.database_url)])
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> None:
    """Time every request and serve `/metrics`."""
    app.add_middleware(RequestMetrics)
    app.include_router(router)

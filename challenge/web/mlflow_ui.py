"""The MLflow UI behind the platform's login: a reverse proxy at /mlflow for admins and staff.

`mlchallenge serve --mlflow-ui` starts `mlflow server` on a Unix socket in a private folder, so
the UI has no address of its own; in production the UI server sits on an internal network. Here:
- anonymous callers are sent to the login page (401 for API calls), participants get 403: the
  UI lists every team's runs with their private metrics;
- admins use the whole UI;
- hosts and judges use it read-only, and see only the experiments of the competitions they are
  staff of (`mlflow_scope`); their writes are refused before they reach MLflow.
Unsafe methods must come from this site (Origin or Referer): the login cookie is not a licence
for other sites.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from cachetools import LRUCache, TTLCache
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from challenge.accounts.models import Role, User
from challenge.api.deps import OptionalUser, SessionDep, SettingsDep
from challenge.competitions.models import Competition, CompetitionStaff
from challenge.config import Settings
from challenge.web.mlflow_scope import PREFIX, Refused, Scope, filter_experiments, scope_of
from challenge.web.routing import error_page
from mlfo.tracking import experiment_name

router = APIRouter(include_in_schema=False)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
FORWARDED_REQUEST_HEADERS = (
    "accept",
    "accept-language",
    "cache-control",
    "content-type",
    "if-modified-since",
    "if-none-match",
    "range",
)
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "www-authenticate",
    }
)
MAX_STAFF_BODY = 1024 * 1024
API = "/mlflow/ajax-api/2.0/mlflow"


@dataclass
class Access:
    """Who is asking: an admin (everything), or staff of these competitions (read-only)."""

    admin: bool
    slugs: set[str] = field(default_factory=set)


@dataclass
class Lookups:
    """What the proxy remembers of the MLflow store: experiment ids by name, runs' experiments."""

    experiments: TTLCache[str, str] = field(default_factory=lambda: TTLCache(4096, 60))
    runs: LRUCache[str, str] = field(default_factory=lambda: LRUCache(100_000))


def upstream_client(settings: Settings) -> httpx.AsyncClient:
    """A client of the MLflow UI server (`unix:/path` or `http://host:port`)."""
    address = settings.mlflow_ui_upstream
    timeout = httpx.Timeout(120.0, connect=5.0)
    if address.startswith("unix:"):
        transport = httpx.AsyncHTTPTransport(uds=address.removeprefix("unix:"))
        return httpx.AsyncClient(base_url="http://localhost", transport=transport, timeout=timeout)
    return httpx.AsyncClient(base_url=address.rstrip("/"), timeout=timeout)


def _lookups(request: Request) -> Lookups:
    state = request.app.state
    if not hasattr(state, "mlflow_lookups"):
        state.mlflow_lookups = Lookups()
    found: Lookups = state.mlflow_lookups
    return found


def _access(session: Session, user: User) -> Access | None:
    if user.role is Role.ADMIN:
        return Access(admin=True)
    slugs = set(
        session.scalars(
            select(Competition.slug)
            .join(CompetitionStaff, CompetitionStaff.competition_id == Competition.id)
            .where(CompetitionStaff.user_id == user.id)
        )
    )
    return Access(admin=False, slugs=slugs) if slugs else None


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _refuse(request: Request, status_code: int, message: str) -> Response:
    if _wants_html(request):
        return error_page(request, status_code, message)
    code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(status_code, "error")
    return JSONResponse({"error": code, "message": message, "detail": {}}, status_code=status_code)


def _same_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    return source is not None and urlsplit(source).netloc == request.headers.get("host", "")


@router.get("/mlflow")
def mlflow_root() -> Response:
    """The UI lives at /mlflow/."""
    return RedirectResponse("/mlflow/", status_code=308)


@router.api_route("/mlflow/{path:path}", methods=METHODS)
async def mlflow_ui(
    path: str, request: Request, session: SessionDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    """Forward a request to the MLflow UI when the caller may make it."""
    if not settings.mlflow_ui_upstream:
        return _refuse(
            request, 404, "the MLflow UI is not enabled here; start it with `serve --mlflow-ui`"
        )
    if user is None:
        if _wants_html(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return _refuse(request, 401, "log in to use the MLflow UI")
    access = await run_in_threadpool(_access, session, user)
    if access is None:
        return _refuse(
            request,
            403,
            "the MLflow UI is for the hosts and judges of a competition and for admins: it shows "
            "every team's runs with their private scores",
        )
    if request.method not in ("GET", "HEAD") and not _same_origin(request):
        return _refuse(request, 403, "this request did not come from this site's pages")
    client = upstream_client(settings)
    try:
        if access.admin:
            return await _forward(client, request, path, await request.body())
        return await _forward_scoped(client, request, path, access)
    except httpx.TransportError:
        await client.aclose()
        return _refuse(
            request, 503, "the MLflow UI is not reachable right now; try again in a moment"
        )
    except BaseException:
        await client.aclose()
        raise


async def _forward_scoped(
    client: httpx.AsyncClient, request: Request, path: str, access: Access
) -> Response:
    body = await request.body()
    if len(body) > MAX_STAFF_BODY:
        await client.aclose()
        return _refuse(request, 413, "the request is too large for the MLflow UI")
    try:
        scope = scope_of(request.method, "/" + path, parse_qs(request.url.query), body)
        allowed = await _allowed_experiments(client, _lookups(request), access)
        await _check(client, _lookups(request), scope, allowed, access)
    except Refused as refused:
        await client.aclose()
        return _refuse(request, 403, str(refused))
    if not scope.filter_experiments:
        return await _forward(client, request, path, body)
    upstream = await client.send(_upstream_request(client, request, path, body))
    try:
        payload = await upstream.aread()
    finally:
        await upstream.aclose()
        await client.aclose()
    if upstream.status_code == 200:
        payload = filter_experiments(payload, allowed)
    return Response(payload, upstream.status_code, media_type="application/json")


async def _allowed_experiments(
    client: httpx.AsyncClient, lookups: Lookups, access: Access
) -> set[str]:
    allowed = set()
    for slug in sorted(access.slugs):
        name = experiment_name(slug)
        if name not in lookups.experiments:
            found = await _json(client, f"{API}/experiments/get-by-name", experiment_name=name)
            if found is None:
                continue  # no run logged yet: the experiment does not exist
            lookups.experiments[name] = str(found["experiment"]["experiment_id"])
        allowed.add(lookups.experiments[name])
    return allowed


async def _check(
    client: httpx.AsyncClient, lookups: Lookups, scope: Scope, allowed: set[str], access: Access
) -> None:
    names = {experiment_name(slug) for slug in access.slugs}
    if not scope.experiment_ids <= allowed or not scope.experiment_names <= names:
        raise Refused("that experiment is not one of a competition you are staff of")
    for run_id in scope.run_ids:
        if run_id not in lookups.runs:
            found = await _json(client, f"{API}/runs/get", run_id=run_id)
            if found is None:
                raise Refused(f"there is no run {run_id!r} you may see")
            lookups.runs[run_id] = str(found["run"]["info"]["experiment_id"])
        if lookups.runs[run_id] not in allowed:
            raise Refused("that run belongs to a competition you are not staff of")


async def _json(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    response = await client.get(url, params=params, headers={"host": "localhost"})
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except json.JSONDecodeError:
        return None


def _upstream_request(
    client: httpx.AsyncClient, request: Request, path: str, body: bytes
) -> httpx.Request:
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED_REQUEST_HEADERS}
    headers["host"] = "localhost"
    url = f"{PREFIX}/{path}" + (f"?{request.url.query}" if request.url.query else "")
    return client.build_request(request.method, url, headers=headers, content=body)


async def _forward(client: httpx.AsyncClient, request: Request, path: str, body: bytes) -> Response:
    upstream = await client.send(_upstream_request(client, request, path, body), stream=True)

    async def close() -> None:
        await upstream.aclose()
        await client.aclose()

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in upstream.aiter_raw():
            yield chunk

    headers = {
        k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS
    }
    return StreamingResponse(
        chunks(), upstream.status_code, headers=headers, background=BackgroundTask(close)
    )

"""Server-rendered web pages (Jinja2) on the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from challenge.api.errors import http_error_response
from challenge.db.session import transaction
from challenge.web.account import router as account_router
from challenge.web.admission import router as admission_router
from challenge.web.challenges import router as challenges_router
from challenge.web.choices import router as choices_router
from challenge.web.competitions import router as competitions_router
from challenge.web.finals import router as finals_router
from challenge.web.headers import install_security_headers
from challenge.web.host import router as host_router
from challenge.web.host_edit import router as host_edit_router
from challenge.web.judge import router as judge_router
from challenge.web.marketplace import router as marketplace_router
from challenge.web.mlflow_ui import router as mlflow_ui_router
from challenge.web.notifications import router as notifications_router
from challenge.web.people import router as people_router
from challenge.web.profile import router as profile_router
from challenge.web.routing import error_page
from challenge.web.rubric import router as rubric_router
from challenge.web.security import web_user
from challenge.web.staff import router as staff_router
from challenge.web.submissions import router as submissions_router
from challenge.web.teams import router as teams_router
from challenge.web.users_admin import router as users_admin_router

STATIC_DIR = Path(__file__).parent / "static"
ROUTERS = (
    account_router,
    admission_router,
    challenges_router,
    people_router,
    profile_router,
    notifications_router,
    users_admin_router,
    competitions_router,
    teams_router,
    submissions_router,
    choices_router,
    host_router,
    finals_router,
    host_edit_router,
    judge_router,
    marketplace_router,
    staff_router,
    rubric_router,
    mlflow_ui_router,
)


def install_web(app: FastAPI) -> None:
    """Add the pages, the static files and the pages' security headers to the application."""
    install_security_headers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def html_or_json(request: Request, exc: StarletteHTTPException) -> Response:
        """A browser asking for a page that does not exist gets a page; the API keeps its JSON."""
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            return http_error_response(exc)
        message = (
            f"There is no page at {request.url.path}."
            if exc.status_code == 404
            else str(exc.detail or "error")
        )
        with transaction(request.app.state.settings.database_url) as session:
            web_user(request, session)  # the page's frame shows who is logged in
        page = error_page(request, exc.status_code, message)
        for name, value in (getattr(exc, "headers", None) or {}).items():
            page.headers[name] = value
        return page

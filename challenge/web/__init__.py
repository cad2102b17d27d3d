"""Server-rendered web pages (Jinja2) on the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from challenge.web.account import router as account_router
from challenge.web.competitions import router as competitions_router
from challenge.web.host import router as host_router
from challenge.web.judge import router as judge_router
from challenge.web.submissions import router as submissions_router
from challenge.web.teams import router as teams_router

STATIC_DIR = Path(__file__).parent / "static"
ROUTERS = (
    account_router,
    competitions_router,
    teams_router,
    submissions_router,
    host_router,
    judge_router,
)


def install_web(app: FastAPI) -> None:
    """Add the pages and the static files to the application."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

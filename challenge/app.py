"""The FastAPI application: API routes, web pages and the error handlers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from challenge.accounts.routes import router as accounts_router
from challenge.api.bodies import BodyLimits
from challenge.api.errors import install_error_handlers
from challenge.api.ratelimit import install_rate_limits
from challenge.challenges.finals_routes import router as finals_router
from challenge.challenges.market_routes import router as market_router
from challenge.challenges.news_routes import router as news_router
from challenge.challenges.routes import router as challenges_router
from challenge.challenges.rubric_routes import router as rubric_router
from challenge.competitions.routes import router as competitions_router
from challenge.config import Settings, get_settings
from challenge.health import router as health_router
from challenge.judging.routes import public_router as judging_public_router
from challenge.judging.routes import router as judging_router
from challenge.notifications.routes import router as notifications_router
from challenge.observability.http import install_metrics
from challenge.submissions.routes import router as submissions_router
from challenge.teams.routes import router as teams_router
from challenge.web import install_web
from leaderboards.routes import router as leaderboards_router

DOCS_ASSETS = "/docs/assets"
"""Where Swagger UI's and ReDoc's files are served (from the `fastapi-offline` package): /docs
works without internet."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for these settings (default: the environment's)."""
    settings = settings or get_settings()
    settings.ensure_dirs()
    app = FastAPIOffline(  # /docs and /redoc with their assets served from the package
        title="mlchallenge",
        version=_version(),
        description="ML challenges and model evaluation: host problems, submit models, judge.",
        docs_url="/docs",
        redoc_url="/redoc",
        static_url=DOCS_ASSETS,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodyLimits, settings=settings)
    install_metrics(app)
    install_rate_limits(app, settings)
    for router in (
        health_router,
        accounts_router,
        competitions_router,
        teams_router,
        submissions_router,
        leaderboards_router,
        judging_router,
        judging_public_router,
        challenges_router,
        rubric_router,
        finals_router,
        market_router,
        news_router,
        notifications_router,
    ):
        app.include_router(router)
    install_web(app)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlchallenge")
    except PackageNotFoundError:
        return "0+unknown"

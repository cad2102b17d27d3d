"""Health checks of the database, the broker and the workers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from challenge.api.deps import SettingsDep
from challenge.config import Settings
from challenge.db.session import get_engine, transaction
from mlfo.placement import QUEUES

router = APIRouter(prefix="/api/v1", tags=["health"])
QUEUE_NAMES = frozenset(QUEUES.values())


@router.get("/health")
def health(settings: SettingsDep) -> dict[str, Any]:
    """`status` is "ok" when the database and broker answer; workers are reported."""
    checks: dict[str, Any] = {"database": _database(settings.database_url)}
    checks["broker"] = _broker(settings)
    checks["workers"] = _workers(settings.database_url)
    healthy = checks["database"] == "ok" and checks["broker"] == "ok"
    return {"status": "ok" if healthy else "degraded", **checks}


def _database(url: str) -> str:
    try:
        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # report, never raise, from a health check
        return f"error: {type(exc).__name__}"


def _broker(settings: Settings) -> str:
    from mlfo.worker.celery_app import celery_for

    try:
        with celery_for(settings).connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # report, never raise
        return f"error: {type(exc).__name__}"


def _workers(url: str) -> dict[str, Any]:
    from mlfo.worker.presence import live_workers, served_queues

    try:
        workers = live_workers(url)
        with transaction(url) as session:
            queues = served_queues(session)
    except Exception as exc:  # report, never raise
        return {"status": f"error: {type(exc).__name__}", "count": 0}
    return {
        "status": "ok" if workers else "none",
        "count": len(workers),
        "names": workers,
        "queues": {queue: queues.get(queue, 0) for queue in sorted({*QUEUE_NAMES, *queues})},
    }

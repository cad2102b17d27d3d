"""The Celery application: Redis in production, SQLAlchemy-over-SQLite on the embedded default."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from challenge.config import Settings, get_settings
from mlfo import placement

QUEUES = tuple(placement.QUEUES.values())
"""The queues workers may serve: one per resource class (`mlfo.placement`)."""


def create_celery(settings: Settings) -> Celery:
    """A Celery app for these settings, with safe task defaults (late acks, no prefetch)."""
    if settings.broker_url.startswith("sqla+"):
        # The interval is a class attribute of kombu's Transport: transport options would be
        # forwarded to create_engine instead (see Settings.broker_polling_interval_s).
        from kombu.transport.sqlalchemy import Transport

        Transport.polling_interval = settings.broker_polling_interval_s
        settings.home.mkdir(parents=True, exist_ok=True)
    tasks = ["mlfo.worker.tasks", "challenge.judging.tasks"]
    app = Celery("mlchallenge", broker=settings.broker_url, include=tasks)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="cpu",
        task_queues=[Queue(name) for name in QUEUES],
        task_time_limit=6 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # Redis re-delivers an unacknowledged task after this; the reaper acts much sooner.
        app.conf.broker_transport_options = {"visibility_timeout": 3600}
    return app


_APPS: dict[str, Celery] = {}


def celery_for(settings: Settings) -> Celery:
    """A Celery app for these settings' broker (one per broker URL and process)."""
    if settings.broker_url not in _APPS:
        _APPS[settings.broker_url] = create_celery(settings)
    return _APPS[settings.broker_url]


def get_celery() -> Celery:
    """The process-wide Celery app for the environment's settings."""
    return celery_for(get_settings())


app = get_celery()

"""Structured logs (opt-in: `MLCHALLENGE_LOG_FORMAT=json`): one JSON object per line, with the
submission id on every line a worker writes while it evaluates that submission."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_SUBMISSION: ContextVar[int | None] = ContextVar("mlchallenge_submission_id", default=None)


@contextmanager
def submission_context(submission_id: int) -> Iterator[None]:
    """Every log line written in this context (and threads started with its copy) names the
    submission."""
    token = _SUBMISSION.set(int(submission_id))
    try:
        yield
    finally:
        _SUBMISSION.reset(token)


def bind_submission(submission_id: int | None) -> None:
    """Set (or clear, with None) the current submission outside a `with` block (Celery signals)."""
    _SUBMISSION.set(submission_id)


def current_submission() -> int | None:
    """The submission this thread is working on, if any."""
    return _SUBMISSION.get()


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "process", "thread", "submission_id"?, "exc"?}`."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        submission = getattr(record, "submission_id", None) or current_submission()
        if submission is not None:
            entry["submission_id"] = submission
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def use_json_logs(level: int | str = logging.INFO) -> None:
    """Send every log record of this process to standard error as JSON lines: libraries that
    gave their loggers handlers of their own (MLflow does) now pass their records to the root."""
    os.environ["MLFLOW_CONFIGURE_LOGGING"] = "false"  # for MLflow imported from now on
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            logger.handlers = []
            logger.propagate = True


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration with JSON lines (for `mlchallenge api`)."""
    json_handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "challenge.observability.logs.JsonFormatter"}},
        "handlers": {"default": json_handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level.upper(), "propagate": True},
        },
    }

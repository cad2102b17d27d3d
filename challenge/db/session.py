"""Engines and sessions: one engine per database URL, sessions per request or per task."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

AFTER_COMMIT_KEY = "after_commit"


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """The engine for a database URL (SQLite gets WAL, a busy timeout and foreign keys)."""
    engine = _ENGINES.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        _ENGINES[url] = engine
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def dispose_engines() -> None:
    """Drop pooled connections of every engine without closing the parent's (after a fork)."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    """A session factory bound to the engine of `url`."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run `action` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(action)


def _run_after_commit(session: Session) -> None:
    actions: list[Callable[[], object]] = session.info.pop(AFTER_COMMIT_KEY, [])
    for action in actions:
        action()


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """A session that commits on success, rolls back on error, then runs after-commit actions."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(AFTER_COMMIT_KEY, None)
        raise
    finally:
        session.close()
    _run_after_commit(session)

"""Empty databases (never migrated) for the operator commands' tests, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a database with no tables: a new SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"mlc_ops_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from challenge.db.session import get_engine

        get_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}").dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cli_env(home: Path, database_url: str, **extra: str) -> dict[str, str]:
    """An environment that points `mlchallenge` at `home` and `database_url` only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLCHALLENGE_")}
    env.update({"MLCHALLENGE_HOME": str(home), "MLCHALLENGE_DATABASE_URL": database_url, **extra})
    return env


def mlchallenge(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the `mlchallenge` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "challenge.cli.main", *args],
        input=stdin if stdin is not None else "",
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

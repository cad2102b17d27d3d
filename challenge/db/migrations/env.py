"""Alembic environment: migrates the connection (or URL) handed over by `challenge.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import challenge.db.models  # noqa: F401  (registers every table)
from challenge.db.base import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from challenge.db.session import get_engine

    with get_engine(config.get_main_option("sqlalchemy.url") or "").connect() as conn:
        _run(conn)
        conn.commit()

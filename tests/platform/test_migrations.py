"""Migrations create exactly the tables the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

import challenge.db.models  # noqa: F401
from challenge.db.base import Base
from challenge.db.session import get_engine


def test_migrated_schema_matches_models(database_url: str) -> None:
    inspector = inspect(get_engine(database_url))
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name

"""Fixtures of the operator commands' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.databases import empty_database


@pytest.fixture
def empty_url(database_kind: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database that was never migrated, of the session's kind (SQLite or PostgreSQL)."""
    del database_url  # requested so that the test runs once per database kind
    with empty_database(database_kind, tmp_path / "databases") as url:
        yield url

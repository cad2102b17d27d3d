"""A logical dump of the platform's database, loadable into SQLite or PostgreSQL.

The dump is gzipped JSON lines: a header (schema revision, dialect), then for each table a line
`{"table", "columns", "kinds"}`, its rows as JSON arrays, and `{"end", "rows"}`. Rows are read and
written through the models' column types, so timestamps, enums and JSON columns come back as
they were, whatever the database on either side. A dump is taken from one consistent snapshot.
"""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import (
    Connection,
    DateTime,
    LargeBinary,
    Table,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.engine import make_url

from challenge.db.base import Base, UTCDateTime
from challenge.db.session import get_engine

FORMAT = "mlchallenge-database"
VERSION = 1
SKIPPED_TABLES = frozenset({"worker_heartbeats"})
"""Tables of live state that a restored platform must not inherit."""
PATH_COLUMNS = {("submissions", "file_path"): "storage"}
"""Columns that hold an absolute path under a storage area: rebased when restored elsewhere."""
BATCH = 500


class DumpError(Exception):
    """The dump cannot be written or loaded; the message says why and what to do."""


@dataclass
class DumpSummary:
    """What a dump holds."""

    revision: str
    dialect: str
    rows: dict[str, int] = field(default_factory=dict)


def tables() -> list[Table]:
    """The platform's tables in dependency order (parents first)."""
    import challenge.db.models  # noqa: F401  (registers every table)

    return [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def _kind(table: Table, column: str) -> str:
    column_type = table.columns[column].type
    if isinstance(column_type, UTCDateTime | DateTime):
        return "datetime"
    if isinstance(column_type, LargeBinary):
        return "bytes"
    return "json"


def _encode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value


def _decode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


@contextmanager
def _snapshot(url: str) -> Iterator[Connection]:
    """A connection that sees one consistent state of the database for its whole life."""
    location = make_url(url)
    if location.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mlchallenge-dump-") as folder:
            copy = Path(folder) / "snapshot.db"
            source = sqlite3.connect(location.database or "")
            target = sqlite3.connect(copy)
            try:
                source.backup(target)  # SQLite's online backup: consistent under live writes
            finally:
                target.close()
                source.close()
            engine = create_engine(f"sqlite:///{copy}")
            try:
                with engine.connect() as connection:
                    yield connection
            finally:
                engine.dispose()
        return
    engine = get_engine(url)
    with (
        engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as connection,
        connection.begin(),
    ):
        yield connection


def dump(url: str, sink: IO[bytes], *, revision: str) -> DumpSummary:
    """Write every table of the database at `url` to `sink` (gzipped JSON lines)."""
    summary = DumpSummary(revision=revision, dialect=make_url(url).get_backend_name())
    with gzip.open(sink, "wt", encoding="utf-8") as out, _snapshot(url) as connection:
        header = {"format": FORMAT, "version": VERSION, "revision": revision}
        out.write(json.dumps({**header, "dialect": summary.dialect}) + "\n")
        for table in tables():
            columns = [c.name for c in table.columns]
            kinds = [_kind(table, c) for c in columns]
            out.write(json.dumps({"table": table.name, "columns": columns, "kinds": kinds}) + "\n")
            count = 0
            query = select(table).order_by(*table.primary_key.columns)
            result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(
                query
            )
            for row in result:
                out.write(json.dumps([_encode(v, k) for v, k in zip(row, kinds, strict=True)]))
                out.write("\n")
                count += 1
            out.write(json.dumps({"end": table.name, "rows": count}) + "\n")
            summary.rows[table.name] = count
    return summary


def read_header(source: IO[bytes]) -> dict[str, Any]:
    """The first line of a dump (its revision and dialect)."""
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        header = json.loads(lines.readline() or "{}")
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise DumpError("this is not a database dump of mlchallenge's backup format 1")
    return dict(header)


def nonempty_tables(url: str) -> list[str]:
    """The platform tables of the database at `url` that hold rows."""
    with get_engine(url).connect() as connection:
        return [t.name for t in tables() if connection.scalar(select(func.count()).select_from(t))]


def load(url: str, source: IO[bytes], *, rebase: dict[str, tuple[str, str]]) -> DumpSummary:
    """Insert a dump into the (migrated, empty) database at `url`, in one transaction.

    `rebase` maps an area name to (old root, new root) for the columns in PATH_COLUMNS.
    """
    known = {t.name: t for t in tables()}
    engine = get_engine(url)
    with gzip.open(source, "rt", encoding="utf-8") as lines, engine.begin() as connection:
        header = json.loads(lines.readline())
        summary = DumpSummary(revision=header["revision"], dialect=header["dialect"])
        table: Table | None = None
        columns: list[str] = []
        kinds: list[str] = []
        batch: list[dict[str, Any]] = []
        for line in lines:
            item = json.loads(line)
            if isinstance(item, list):
                row = {c: _decode(v, k) for c, v, k in zip(columns, item, kinds, strict=True)}
                batch.append(_rebased(table, row, rebase))
                if len(batch) >= BATCH:
                    connection.execute(_insert(table), batch)
                    batch = []
            elif "table" in item:
                if item["table"] not in known:
                    raise DumpError(f"the dump has a table {item['table']!r} this version lacks")
                table, columns, kinds = known[item["table"]], item["columns"], item["kinds"]
                summary.rows[table.name] = 0
            else:
                if batch:
                    connection.execute(_insert(table), batch)
                    batch = []
                assert table is not None
                summary.rows[table.name] = int(item["rows"])
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)
    return summary


def _insert(table: Table | None) -> Any:
    assert table is not None
    return table.insert()


def _rebased(
    table: Table | None, row: dict[str, Any], rebase: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    assert table is not None
    for (name, column), area in PATH_COLUMNS.items():
        if name != table.name or area not in rebase or not row.get(column):
            continue
        old, new = rebase[area]
        path = PurePosixPath(row[column])
        if path.is_relative_to(old):
            row[column] = str(PurePosixPath(new) / path.relative_to(old))
    return row


def _reset_sequences(connection: Connection) -> None:
    """Point each serial primary key's sequence past the restored rows (PostgreSQL)."""
    for table in tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not keys[0].autoincrement or keys[0].type.python_type is not int:
            continue
        column = keys[0].name
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) FROM "{table.name}"'
            ),
            {"table": table.name, "column": column},
        )

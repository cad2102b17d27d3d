"""Case-insensitive substring search in SQL, with LIKE's wildcards taken literally."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func


def contains(column: Any, needle: str) -> ColumnElement[bool]:
    """`column` contains `needle`, ignoring case (`%` and `_` in the needle match themselves)."""
    escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")

"""`scores.json` from a scoring jail: a flat JSON object of numbers, parsed under bounds.

The file comes out of a jail and is not trusted: it is opened without following links, must be a
regular file under `max_bytes`, and is parsed in a bounded child (`bounded.call_bounded`), so a
deeply nested or huge document costs the worker nothing. Keys are short strings, values finite
numbers (booleans, strings, NaN and infinities are refused); at most `max_keys` of them.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from .bounded import ChildFailed, call_bounded
from .settings import get_settings

SCORES_FILE = "scores.json"
ROWS_FILE = "rows.json"
"""Optional: `{key: [per-row values]}` for scores that are the mean of their rows."""
MAX_ROWS_BYTES = 32 * 1024 * 1024
MAX_ROW_VALUES = 1_000_000
MAX_BYTES = 64 * 1024
MAX_KEYS = 200
MAX_KEY_LENGTH = 64


class ScoresInvalid(Exception):
    """The scoring program's output is not a flat object of finite numbers (says what is wrong)."""


def _refuse_constant(name: str) -> float:
    raise ScoresInvalid(f"{SCORES_FILE} holds {name}; every score must be a finite number")


def _parse(path: Path, max_bytes: int, max_keys: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ScoresInvalid(f"the scoring program wrote no {SCORES_FILE}") from None
    except OSError as exc:
        raise ScoresInvalid(f"{SCORES_FILE} cannot be opened (a link?): {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ScoresInvalid(f"{SCORES_FILE} is not a regular file")
        if info.st_size > max_bytes:
            raise ScoresInvalid(f"{SCORES_FILE} is larger than {max_bytes} bytes")
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ScoresInvalid(f"{SCORES_FILE} is larger than {max_bytes} bytes")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, ScoresInvalid):
            raise
        raise ScoresInvalid(f"{SCORES_FILE} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ScoresInvalid(f"{SCORES_FILE} must be a JSON object of name: number")
    if not data:
        raise ScoresInvalid(f"{SCORES_FILE} holds no score")
    if len(data) > max_keys:
        raise ScoresInvalid(f"{SCORES_FILE} holds {len(data)} keys; at most {max_keys}")
    scores: dict[str, float] = {}
    for key, value in data.items():
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ScoresInvalid(
                f"{SCORES_FILE}: keys must be 1 to {MAX_KEY_LENGTH} printable characters"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScoresInvalid(f"{SCORES_FILE}: {key!r} is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise ScoresInvalid(f"{SCORES_FILE}: {key!r} is not a finite number")
        scores[key] = number
    return json.dumps(scores).encode()


def read_scores(
    folder: Path, *, max_bytes: int = MAX_BYTES, max_keys: int = MAX_KEYS
) -> dict[str, float]:
    """The scores a scoring program wrote to `folder/scores.json` (`ScoresInvalid` says why not)."""
    settings = get_settings()
    try:
        reply = call_bounded(
            lambda: _parse(folder / SCORES_FILE, max_bytes, max_keys),
            memory_mb=settings.parse_mb,
            time_s=min(settings.parse_s, 30.0),
            max_reply=max_bytes * 4,
            expected=(ScoresInvalid,),
        )
    except ChildFailed as exc:
        raise ScoresInvalid(f"{SCORES_FILE} could not be read: {exc}") from None
    loaded: dict[str, float] = json.loads(reply.reply)
    return loaded


def _parse_rows(path: Path, keys: set[str], max_bytes: int, max_values: int) -> bytes:
    import numpy as np

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return b"{}"
    except OSError as exc:
        raise ScoresInvalid(f"{ROWS_FILE} cannot be opened (a link?): {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ScoresInvalid(f"{ROWS_FILE} is not a regular file")
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ScoresInvalid(f"{ROWS_FILE} is larger than {max_bytes} bytes")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ScoresInvalid(f"{ROWS_FILE} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ScoresInvalid(f"{ROWS_FILE} must be a JSON object of name: [numbers]")
    total = 0
    arrays: dict[str, list[float]] = {}
    for key, values in data.items():
        if key not in keys:
            continue
        if not isinstance(values, list) or not values:
            raise ScoresInvalid(f"{ROWS_FILE}: {key!r} must be a list of numbers")
        total += len(values)
        if total > max_values:
            raise ScoresInvalid(f"{ROWS_FILE} holds more than {max_values} values")
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ScoresInvalid(f"{ROWS_FILE}: {key!r} holds a value that is not a number")
        array = np.asarray(values, dtype=float)
        if not np.isfinite(array).all():
            raise ScoresInvalid(f"{ROWS_FILE}: {key!r} holds a value that is not finite")
        arrays[key] = array.tolist()
    return json.dumps(arrays).encode()


def read_row_scores(
    folder: Path,
    keys: set[str],
    *,
    max_bytes: int = MAX_ROWS_BYTES,
    max_values: int = MAX_ROW_VALUES,
) -> dict[str, list[float]]:
    """The per-row scores of `keys` in `folder/rows.json` ({} when there is none)."""
    settings = get_settings()
    try:
        reply = call_bounded(
            lambda: _parse_rows(folder / ROWS_FILE, keys, max_bytes, max_values),
            memory_mb=settings.parse_mb,
            time_s=min(settings.parse_s, 30.0),
            max_reply=max_values * 25 + 1024,
            expected=(ScoresInvalid,),
        )
    except ChildFailed as exc:
        raise ScoresInvalid(f"{ROWS_FILE} could not be read: {exc}") from None
    loaded: dict[str, list[float]] = json.loads(reply.reply)
    return loaded

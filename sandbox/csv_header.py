"""The header of an untrusted CSV file, read in linear time under a size and a column cap.

pandas renames repeated column names one by one (`a`, `a.1`, `a.2`, ...), which takes time
quadratic in the number of repeats: a 160 KB header of one repeated name cost 54 s of CPU to
refuse. This reader looks at no more than `max_bytes` of the file, splits the first record with
the `csv` module (linear), and refuses too many columns or repeated names before anything else
parses the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from pathlib import Path

MAX_HEADER_BYTES = 64 * 1024
MAX_COLUMNS = 1024


class CsvHeaderError(ValueError):
    """The header cannot be read within the bounds, or repeats a column name."""


def read_csv_header(
    path: Path, *, max_bytes: int = MAX_HEADER_BYTES, max_columns: int = MAX_COLUMNS
) -> list[str]:
    """The column names of a CSV file, read from at most `max_bytes` of it."""
    with path.open("rb") as handle:
        head = handle.read(max_bytes + 1)
    if not head.strip():
        raise CsvHeaderError("the CSV file is empty; its first line must name the columns")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise CsvHeaderError(f"the CSV header is not UTF-8 text ({exc.reason})") from exc
    stream = io.StringIO(text, newline="")
    try:
        names = next(csv.reader(stream))
    except (csv.Error, StopIteration) as exc:
        raise CsvHeaderError(f"the CSV header cannot be read: {exc}") from exc
    ended = text[: stream.tell()].endswith(("\n", "\r"))
    if len(head) > max_bytes and not ended:
        raise CsvHeaderError(
            f"the CSV header (first line) is longer than {max_bytes // 1024} KB; "
            "name only the columns you need"
        )
    _check_names(names, max_columns)
    return names


def _check_names(names: list[str], max_columns: int) -> None:
    if len(names) > max_columns:
        raise CsvHeaderError(
            f"the CSV header has {len(names)} columns; at most {max_columns} are accepted"
        )
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        shown = ", ".join(repr(name[:40]) for name in repeated[:5])
        raise CsvHeaderError(f"the CSV header repeats column names: {shown}; name each once")

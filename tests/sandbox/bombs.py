"""Files that are small on disk and inflate when parsed, and a probe that measures a worker's RSS.

`python -m tests.sandbox.bombs PROBE.json` runs `sandbox.run` on each request of the file in a
fresh process (as a worker does), and prints, per request, the outcome, the process's resident
size when idle, its peak while running the request (VmHWM after resetting it), and the peak of
every bounded parsing child it forked.
"""

from __future__ import annotations

import json
import logging
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MB = 1024 * 1024


def dictionary_bomb(
    path: Path, ids: np.ndarray, *, value_kb: int = 64, column: str = "label"
) -> Path:
    """One long string, dictionary-encoded and zstd-compressed, on every row of `column`.

    Without the Arrow schema in the file, readers decode it to one string per row: 20,000 rows of
    64 KB are 1.3 GB from a ~60 KB file.
    """
    value = "x" * (value_kb * 1024)
    data: dict[str, Any] = {"id": ids}
    if column != "label":
        data["label"] = np.zeros(len(ids), dtype=np.int64)
    data[column] = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(len(ids), dtype=np.int32)), pa.array([value])
    )
    pq.write_table(
        pa.table(data), path, compression="zstd", use_dictionary=True, store_schema=False
    )
    return path


def compression_bomb(path: Path, ids: np.ndarray, *, value_kb: int = 64) -> Path:
    """A plain (not dictionary) zstd string column: every row its own long run of one byte."""
    values = pa.array(["y" * (value_kb * 1024)] * len(ids))
    pq.write_table(
        pa.table({"id": ids, "label": values}),
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=False,
        store_schema=False,
    )
    return path


def nested_column(path: Path, ids: np.ndarray, depth: int = 40) -> Path:
    """A label column of lists nested `depth` deep (a parser's recursion and memory trap)."""
    kind: pa.DataType = pa.int64()
    value: Any = 0
    for _ in range(depth):
        kind, value = pa.list_(kind), [value]
    pq.write_table(pa.table({"id": ids, "label": pa.array([value] * len(ids), kind)}), path)
    return path


def huge_line_csv(path: Path, ids: np.ndarray, *, line_mb: int = 200) -> Path:
    """A CSV whose first data row has a label of `line_mb` MB (one line, no newline inside)."""
    with path.open("wb") as sink:
        sink.write(b"id,label\n")
        sink.write(f"{ids[0]},".encode())
        block = b"z" * MB
        for _ in range(line_mb):
            sink.write(block)
        sink.write(b"\n")
        for value in ids[1:]:
            sink.write(f"{value},0\n".encode())
    return path


def central_directory_bomb(path: Path, entries: int) -> Path:
    """A zip whose central directory lists `entries` files (all the same empty member).

    A parser builds one object per entry before any member check can run: 600,000 entries are a
    29 MB file and cost a plain `zipfile.ZipFile` about 250 MB and 10 s.
    """
    name = b"m.py"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0)
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        len(name),
        0,
        0,
        0,
        0,
        0o100644 << 16,
        0,
    )
    directory = (central + name) * entries
    count = min(entries, 0xFFFF)
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), len(local) + len(name), 0
    )
    path.write_bytes(local + name + directory + end)
    return path


class _ChildPeaks(logging.Handler):
    """Collects the memory figures `sandbox.bounded` logs for each parsing child."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.children: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "child_peak_kb"):
            self.children.append(
                {
                    "start_kb": getattr(record, "child_start_kb", 0),
                    "peak_kb": getattr(record, "child_peak_kb", 0),
                    "result": getattr(record, "child_result", ""),
                }
            )


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def probe(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run each case through `sandbox.run` here; measure this process and its parsing children."""
    import sandbox
    from sandbox import Limits, RunRequest, SubmissionFormat

    handler = _ChildPeaks()
    bounded = logging.getLogger("sandbox.bounded")
    bounded.setLevel(logging.DEBUG)
    bounded.addHandler(handler)
    reports = []
    for case in cases:
        request = RunRequest(
            model_path=Path(case["model"]),
            format=SubmissionFormat(case["format"]),
            features_path=Path(case["features"]),
            id_column="id",
            target="label",
            task=case.get("task", "binary"),
            classes=case.get("classes", [0, 1]),
            limits=Limits(**case.get("limits", {})),
        )
        work_dir = Path(case["work_dir"]) if case.get("work_dir") else None
        sandbox.run(request, work_dir=work_dir)  # warm: lazy imports, thread pools, caches
        handler.children.clear()
        idle_kb = _status_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        result = sandbox.run(request, work_dir=work_dir)
        peak_kb = _status_kb("VmHWM")
        reports.append(
            {
                "name": case.get("name", Path(case["model"]).name),
                "outcome": str(result.outcome),
                "message": result.message,
                "idle_kb": idle_kb,
                "peak_kb": peak_kb,
                "growth_kb": peak_kb - idle_kb,
                "children": list(handler.children),
            }
        )
    return reports


if __name__ == "__main__":
    print(json.dumps(probe(json.loads(Path(sys.argv[1]).read_text()))))

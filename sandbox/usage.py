"""Memory of a jail's whole process tree, read by the host from /proc (never from the jail)."""

from __future__ import annotations

import os

MAX_PROCESSES = 4096


def children(pid: int) -> list[int]:
    """The direct children of a process (every thread's), [] when it is gone."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as handle:
                found.extend(int(p) for p in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree(pid: int) -> list[int]:
    """A process and all its descendants (at most MAX_PROCESSES)."""
    found = [pid]
    index = 0
    while index < len(found) and len(found) < MAX_PROCESSES:
        found.extend(children(found[index]))
        index += 1
    return found[:MAX_PROCESSES]


def _field_kb(path: str, field: str) -> int | None:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def process_memory_kb(pid: int) -> int:
    """A process's proportional resident memory (PSS: shared pages split between their users).

    Falls back to its resident size when smaps_rollup is not readable (a worker that is not
    root, on a kernel that refuses it), which counts shared pages in full.
    """
    pss = _field_kb(f"/proc/{pid}/smaps_rollup", "Pss:")
    if pss is not None:
        return pss
    return _field_kb(f"/proc/{pid}/status", "VmRSS:") or 0


def tree_memory_kb(pid: int) -> int:
    """The memory the whole process tree under `pid` holds now: the sum of its processes' PSS."""
    return sum(process_memory_kb(p) for p in tree(pid))

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


def resident_kb(pid: int) -> tuple[int, int]:
    """A process's private resident memory (anonymous + shared memory) and its file pages, in KB.

    Read from /proc/<pid>/status: kernel counters, O(1) whatever the process maps (PSS from
    smaps_rollup walks every page: 60 ms for a process that imported torch, measured here).
    """
    private = files = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(("RssAnon:", "RssShmem:")):
                    private += int(line.split()[1])
                elif line.startswith("RssFile:"):
                    files = int(line.split()[1])
    except (OSError, ValueError):
        return 0, 0
    return private, files


def tree_memory_kb(pid: int, *, root_private: bool = True) -> int:
    """The memory the process tree under `pid` holds now.

    The private memory of every process is summed (pages a forked child still shares with its
    parent count twice: never less than the truth), plus the file pages (code, libraries) of the
    process that maps the most, since processes share those. `root_private=False` leaves out the
    root's private memory: a fork server's init, which only waits and shares its pages with the
    job it forked.
    """
    private_total = largest_files = 0
    for member in tree(pid):
        private, files = resident_kb(member)
        if member != pid or root_private:
            private_total += private
        largest_files = max(largest_files, files)
    return private_total + largest_files


def tree_cpu_s(pid: int) -> float:
    """CPU seconds the process tree under `pid` has used so far: each live process's own time
    and that of the children it reaped (fields 14-17 of /proc/<pid>/stat)."""
    ticks = 0
    for member in tree(pid):
        try:
            with open(f"/proc/{member}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")

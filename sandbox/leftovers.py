"""Folders named after the process that owns them, and removal of those whose process is gone.

A worker killed with SIGKILL runs no `atexit` handler, so a folder it meant to remove on exit stays.
An owned folder is named `<base><ns>-<pid>-<start>-<random>`: the pid namespace, the pid and the
process's start time (clock ticks since boot, from `/proc/<pid>/stat`), which tells a dead owner
from a new process that got the same pid. `sweep` removes the folders of owners that are gone: only
names of that shape, only directories of this uid, only owners in this pid namespace, and never the
folder of a live process.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _start_time(pid: int | str) -> int | None:
    """The process's start time in clock ticks since boot; None if it is gone (or a zombie)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # field 2 (the command) is in parentheses and may itself hold spaces and parentheses
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None  # exited, not yet reaped by its parent: it runs no code any more
    return int(fields[19])


@lru_cache(maxsize=1)
def _tag_of(pid: int) -> str | None:
    try:
        if os.readlink("/proc/self") != str(pid):
            return None  # /proc belongs to another pid namespace: its pids are not ours
        namespace = re.fullmatch(r"pid:\[(\d+)\]", os.readlink("/proc/self/ns/pid"))
        start = _start_time("self")
    except (OSError, ValueError, IndexError):
        return None
    if namespace is None or start is None:
        return None
    return f"{namespace.group(1)}-{pid}-{start}"


def process_tag() -> str | None:
    """`<ns>-<pid>-<start>` of this process, or None where /proc cannot tell (no sweeping then)."""
    return _tag_of(os.getpid())


def owned_prefix(base: str) -> str:
    """The `mkdtemp` prefix of a folder owned by this process (`base` alone without /proc)."""
    tag = process_tag()
    return f"{base}{tag}-" if tag else base


def _alive(pid: int, start: int) -> bool:
    try:
        return _start_time(pid) == start
    except (OSError, ValueError, IndexError):
        return True  # cannot tell: keep the folder


def _make_writable(func: Callable[..., Any], path: str, exc_info: Any) -> None:
    """rmtree's error handler: gone already is fine; a read-only parent is made writable once."""
    error = exc_info[1]
    if isinstance(error, FileNotFoundError):
        return
    if not (isinstance(error, PermissionError) and func in (os.unlink, os.remove, os.rmdir)):
        raise error
    parent = os.path.dirname(path)
    try:
        os.chmod(parent, stat.S_IMODE(os.lstat(parent).st_mode) | stat.S_IRWXU)
        func(path)
    except FileNotFoundError:
        return
    except OSError:
        raise error from None


def remove_tree(folder: Path) -> None:
    """Remove a folder even where its tree was made read-only."""
    shutil.rmtree(folder, onerror=_make_writable)


def sweep(parent: Path, base: str) -> list[Path]:
    """Remove the `base` folders in `parent` whose owning process is gone; return them."""
    tag = process_tag()
    if tag is None:
        return []
    namespace = tag.split("-", 1)[0]
    shape = re.compile(rf"{re.escape(base)}(\d+)-(\d+)-(\d+)-[a-z0-9_]+")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError as exc:
        logger.warning("cannot list %s for stale %s folders: %s", parent, base, exc)
        return removed
    for entry in entries:
        found = shape.fullmatch(entry.name)
        if found is None or found.group(1) != namespace:
            continue
        if _alive(int(found.group(2)), int(found.group(3))):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            # claim it under this live process's name: of two sweepers only one wins the rename,
            # and if this one dies half way, the next sweep takes what is left
            claimed = parent / f"{base}{tag}-stale{secrets.token_hex(6)}"
            os.rename(entry.path, claimed)
        except FileNotFoundError:
            continue  # another process claimed it first
        except OSError as exc:
            logger.warning("cannot claim the stale folder %s: %s", entry.path, exc)
            continue
        try:
            remove_tree(claimed)
        except OSError as exc:
            logger.warning("cannot remove the stale folder %s: %s", claimed, exc)
            continue
        removed.append(Path(entry.path))
    return removed

"""A pool of unprivileged host uids, one per concurrent run, claimed with file locks."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .contract import InfrastructureError

SWEEP_TIMEOUT_S = 5.0


@contextmanager
def claim_slot(lock_dir: Path, uid_base: int, size: int, wait_s: float) -> Iterator[int]:
    """Hold an exclusive lock on one free slot and yield its uid; clean the uid before and after."""
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        for index in random.sample(range(size), size):
            fd = os.open(
                lock_dir / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            uid = uid_base + index
            try:
                kill_uid(uid)
                reap_exited(uid_base, size)
                yield uid
            finally:
                kill_uid(uid)
                reap_exited(uid_base, size)
                os.close(fd)
            return
        if time.monotonic() > deadline:
            raise InfrastructureError(
                f"all {size} sandbox slots stayed busy for {wait_s:.0f} s; "
                "raise MLCHALLENGE_SANDBOX_SLOTS or run fewer workers"
            )
        time.sleep(0.2)


def pids_of_uid(uid: int, *, live_only: bool = False) -> list[int]:
    """Processes whose real uid is `uid` (without zombies when `live_only`)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if live_only and line.startswith("State:") and line.split()[1] in "ZX":
                        break
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry.name))
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return pids


def reap_exited(uid_base: int, size: int) -> None:
    """Reap exited jail processes of any slot that were re-parented to us (we are a subreaper).

    Without this a long-lived worker would collect zombie entries run after run.
    """
    me = str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        exited = fields.get("State", "").split()[:1] in (["Z"], ["X"])
        uid = int(fields.get("Uid", "-1 ").split()[0])
        if exited and fields.get("PPid", "").strip() == me and uid_base <= uid < uid_base + size:
            with suppress(ChildProcessError):
                os.waitpid(int(entry.name), os.WNOHANG)


def kill_uid(uid: int) -> None:
    """SIGKILL every process of a slot uid until none is left."""
    if uid == 0 or uid == os.getuid():
        raise InfrastructureError(f"refusing to sweep uid {uid}: it is not a sandbox slot")
    deadline = time.monotonic() + SWEEP_TIMEOUT_S
    while pids := pids_of_uid(uid, live_only=True):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        if time.monotonic() > deadline:
            raise InfrastructureError(
                f"processes of sandbox uid {uid} survive SIGKILL: {pids[:10]}"
            )
        time.sleep(0.02)


def stray_processes(lock_dir: Path, uid_base: int, size: int) -> dict[int, list[int]]:
    """Processes of slot uids whose slot is free: leftovers of a run, or someone else's uid."""
    found: dict[int, list[int]] = {}
    for index in range(size):
        uid = uid_base + index
        if not pids_of_uid(uid):
            continue
        path = lock_dir / f"slot-{index}.lock"
        if not path.exists():
            found[uid] = pids_of_uid(uid)
            continue
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        try:
            pids = pids_of_uid(uid)
            if pids:
                found[uid] = pids
        finally:
            os.close(fd)
    return found

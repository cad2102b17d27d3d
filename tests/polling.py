"""Waiting in tests: poll a condition until a deadline; never sleep a fixed time to synchronise."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sandbox.settings import get_settings

T = TypeVar("T")
WRAPPERS = frozenset({"bwrap", "setpriv", "prlimit"})
"""Programs that start the runner (their command lines include the runner's)."""


def wait_until(
    condition: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = ""
) -> T:
    """Call `condition` until it returns something truthy, and return that; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (parent pid, real uid, state, command line) of every process that can be read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            lines = (entry / "status").read_text().splitlines()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        try:
            parent, uid = int(fields["PPid"]), int(fields["Uid"].split()[0])
        except (KeyError, ValueError, IndexError):
            continue
        found[int(entry.name)] = (parent, uid, fields.get("State", "").strip()[:1], command)
    return found


def jail_processes(ancestor: int) -> list[int]:
    """Live jail processes (bwrap, the runner, the model) below `ancestor`, e.g. a worker."""
    settings = get_settings()
    slot_uids = range(settings.uid_base, settings.uid_base + settings.slots)
    table = _processes()

    def below(pid: int) -> bool:
        seen = set()
        while pid > 1 and pid not in seen:
            seen.add(pid)
            pid = table[pid][0] if pid in table else 0
            if pid == ancestor:
                return True
        return False

    return sorted(
        pid
        for pid, (_, uid, state, command) in table.items()
        if state != "Z"
        and (uid in slot_uids or _is_runner(command) or "bwrap" in command)
        and below(pid)
    )


SERVER = "jail.forkserver"


def _is_runner(command: str) -> bool:
    """A cold jail's runner (`jail.main`), a warm one's (`jail.warm`, waiting for or running its
    single job), or a fork server or one of its runs (`jail.forkserver`: a fork keeps the
    server's command line)."""
    return "jail.main" in command or "jail.warm" in command or SERVER in command


def runner_started(ancestor: int) -> bool:
    """Whether the in-jail runner of a run below `ancestor` is up (it then loads and predicts):
    the interpreter itself, not bwrap or setpriv, whose command lines carry the runner's too; for
    a fork server, a run it forked (a server alone runs nothing). With warm jails, call it once the
    submission is `running`: an idle warm jail counts too."""
    table = _processes()
    for pid in jail_processes(ancestor):
        parent, _, _, command = table.get(pid, (0, 0, "", ""))
        program = Path(command.split(" ", 1)[0]).name
        if not _is_runner(command) or program in WRAPPERS:
            continue
        if SERVER not in command or SERVER in table.get(parent, (0, 0, "", ""))[3]:
            return True
    return False

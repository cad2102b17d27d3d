"""Runs the API and the worker as child processes, restarts a crashed one, stops all on Ctrl-C."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    """A supervised command."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        """Start (or restart) the process in its own process group."""
        self.process = subprocess.Popen(self.argv, env=env, start_new_session=True)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


class Supervisor:
    """Keeps its children running until asked to stop."""

    def __init__(self, children: list[Child], env: dict[str, str]) -> None:
        self.children = children
        self.env = env
        self._stopping = False

    def run(self) -> int:
        """Start every child and watch them; returns when stopped by a signal."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        for child in self.children:
            child.start(self.env)
        try:
            while not self._stopping:
                for child in self.children:
                    self._watch(child)
                time.sleep(0.5)
        finally:
            for child in reversed(self.children):
                child.stop()
        return 0

    def _request_stop(self, signum: int, _frame: object) -> None:
        self._stopping = True

    def _watch(self, child: Child) -> None:
        assert child.process is not None
        code = child.process.poll()
        if code is None or self._stopping:
            return
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < 60] + [now]
        delay = min(30.0, 0.5 * 2 ** (len(child.restarts) - 1))
        print(
            f"mlchallenge: {child.name} exited with code {code}; restarting in {delay:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(delay)
        if not self._stopping:
            child.start(self.env)

"""A worker's lease on a job, renewed by a heartbeat thread while the job runs."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from challenge.config import Settings
from challenge.db.session import transaction

log = logging.getLogger(__name__)

Renew = Callable[[Session], tuple[bool, bool]]
"""Extends the lease in a session; returns (still ours, stop requested)."""


class LeaseHeartbeat:
    """Runs `renew` every third of the lease; records a stop request or a lost claim."""

    def __init__(self, settings: Settings, renew: Renew, *, label: str) -> None:
        self._settings = settings
        self._renew = renew
        self._label = label
        self._stop = threading.Event()
        self.cancel_requested = False
        self.lost = False
        # the thread logs with its creator's context (the submission id of structured logs)
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._loop,), name="heartbeat", daemon=True
        )

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def should_stop(self) -> bool:
        """True once the job must stop (a stop was requested, or the lease was taken over)."""
        return self.cancel_requested or self.lost

    def _loop(self) -> None:
        interval = max(self._settings.lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                with transaction(self._settings.database_url) as session:
                    ours, stop = self._renew(session)
            except Exception:  # a database hiccup: try again at the next beat
                log.warning("heartbeat of %s failed", self._label, exc_info=True)
                continue
            self.lost = self.lost or not ours
            self.cancel_requested = self.cancel_requested or stop

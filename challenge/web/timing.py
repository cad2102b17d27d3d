"""Human wording of a phase's window: open, upcoming, ended, and the time left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from challenge.competitions.models import Phase
from challenge.db.base import utcnow


@dataclass(frozen=True)
class PhaseState:
    """Whether a phase is open and what to say about its time."""

    key: str
    label: str
    detail: str


def duration(delta: timedelta) -> str:
    """A short duration such as '3 d 4 h' or '12 min'."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def phase_state(phase: Phase, *, now: datetime | None = None) -> PhaseState:
    """The phase's state at `now` (default: the current time)."""
    moment = now or utcnow()
    if phase.finalized_at is not None:
        return PhaseState("finalized", "finalized", "final standings published")
    if moment < phase.start_at:
        return PhaseState("upcoming", "upcoming", f"starts in {duration(phase.start_at - moment)}")
    if phase.end_at is not None and moment >= phase.end_at:
        return PhaseState("ended", "ended", "closed for submissions")
    if phase.end_at is None:
        return PhaseState("open", "open", "no end date")
    return PhaseState("open", "open", f"{duration(phase.end_at - moment)} left")

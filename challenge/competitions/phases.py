"""Editing a competition's phases: dates and per-team limits, by its host or an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import require_manager
from challenge.errors import BadRequest, Conflict, NotFound


@dataclass(frozen=True)
class PhaseChange:
    """The new window and limits of one phase."""

    start_at: datetime
    end_at: datetime | None
    max_per_day: int
    max_total: int
    max_pending: int


def get_or_raise(competition: Competition, *, phase_id: int) -> Phase:
    """The phase of this competition with this id, or NotFound."""
    for phase in competition.phases:
        if phase.id == phase_id:
            return phase
    raise NotFound(f"phase {phase_id} is not a phase of {competition.slug!r}")


def update(
    session: Session, *, competition: Competition, phase: Phase, user: User, change: PhaseChange
) -> Phase:
    """Change a phase's dates and limits; a finalized phase is frozen."""
    require_manager(user, competition)
    if phase.competition_id != competition.id:
        raise NotFound(f"phase {phase.id} is not a phase of {competition.slug!r}")
    if phase.finalized_at is not None:
        raise Conflict(f"phase {phase.name!r} is finalized; its dates and limits are frozen")
    if change.start_at.tzinfo is None or (change.end_at and change.end_at.tzinfo is None):
        raise BadRequest("give phase dates with a time zone (UTC)")
    if change.end_at is not None and change.end_at <= change.start_at:
        raise BadRequest("the phase must end after it starts; change the start or the end")
    for name in ("max_per_day", "max_total", "max_pending"):
        if getattr(change, name) < 1:
            raise BadRequest(f"{name} must be at least 1")
    if change.max_per_day > change.max_total:
        raise BadRequest("max_per_day cannot exceed max_total")
    _check_overlap(competition, phase, change)
    phase.start_at = change.start_at
    phase.end_at = change.end_at
    phase.max_per_day = change.max_per_day
    phase.max_total = change.max_total
    phase.max_pending = change.max_pending
    session.flush()
    return phase


def _check_overlap(competition: Competition, phase: Phase, change: PhaseChange) -> None:
    """Phases follow each other: a phase may not start before the previous one starts."""
    ordered = sorted(competition.phases, key=lambda p: p.position)
    index = ordered.index(phase)
    if index > 0 and change.start_at < ordered[index - 1].start_at:
        raise BadRequest(
            f"phase {phase.name!r} cannot start before the previous phase "
            f"{ordered[index - 1].name!r} starts"
        )
    if index + 1 < len(ordered) and change.start_at > ordered[index + 1].start_at:
        raise BadRequest(
            f"phase {phase.name!r} cannot start after the next phase "
            f"{ordered[index + 1].name!r} starts"
        )

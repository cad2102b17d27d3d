"""A competition's life: draft -> published -> archived, who sees it, and what its hosts edit.

Drafts are seen by their staff (and admins) only: for everyone else they do not exist (404), in
lists, pages, downloads, teams and submissions. Archived competitions stay visible and read-only:
no new teams or submissions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from challenge.accounts.models import Role, User
from challenge.accounts.service import require_role
from challenge.competitions import data, service
from challenge.competitions import phases as phase_rules
from challenge.competitions.models import Competition, CompetitionStatus, Phase
from challenge.competitions.schemas import CompetitionUpdate, PhaseEdit
from challenge.competitions.staff import add_creator, is_staff, require_manager
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit
from challenge.errors import BadRequest, Conflict, NotFound, ValidationFailed


def visible(user: User | None, competition: Competition) -> bool:
    """Published and archived competitions are public; drafts only to their staff."""
    return competition.status is not CompetitionStatus.DRAFT or is_staff(user, competition)


def get_visible_or_raise(session: Session, *, slug: str, user: User | None) -> Competition:
    """The competition if the user may see it, else NotFound (a draft does not leak)."""
    competition = service.get(session, slug=slug)
    if competition is None or not visible(user, competition):
        raise NotFound(
            f"competition {slug!r} does not exist; `mlchallenge competitions` or the front page "
            "lists them"
        )
    return competition


def get_all_visible(session: Session, *, user: User | None) -> list[Competition]:
    """Every competition the user may see, newest first."""
    return [c for c in service.get_all(session) if visible(user, c)]


def search_visible(
    session: Session, *, user: User | None, query: str = "", offset: int = 0, limit: int = 100
) -> tuple[list[Competition], int]:
    """One page of the competitions the user may see whose slug or title contains `query`
    (any case), newest first; and how many match."""
    needle = query.strip().lower()
    shown = [
        c
        for c in get_all_visible(session, user=user)
        if not needle or needle in c.slug.lower() or needle in c.title.lower()
    ]
    return shown[offset : offset + limit], len(shown)


def require_entries_open(competition: Competition) -> None:
    """Raise Conflict when the competition takes no new teams or submissions (archived, draft)."""
    if competition.status is CompetitionStatus.ARCHIVED:
        raise Conflict(f"competition {competition.slug!r} is archived: it is read-only")
    if competition.status is CompetitionStatus.DRAFT:
        raise Conflict(
            f"competition {competition.slug!r} is a draft; its hosts publish it before teams submit"
        )


def update(
    session: Session, *, competition: Competition, actor: User, change: CompetitionUpdate
) -> Competition:
    """Apply a host's change: title, description, status, team size, limits, phases."""
    require_manager(actor, competition)
    if change.title is not None:
        competition.title = change.title.strip()
    if change.description is not None:
        competition.description = change.description
    if change.status is not None:
        competition.status = change.status
    if change.max_team_size is not None:
        competition.max_team_size = change.max_team_size
    if change.limits is not None:
        _set_limits(competition, change.limits.model_dump(exclude_none=True))
    for edit in change.phases or []:
        _edit_phase(session, competition, actor, edit)
    session.flush()
    return competition


def _set_limits(competition: Competition, limits: dict[str, float | int]) -> None:
    from pydantic import ValidationError

    from mlfo.intent import Intent

    intent = dict(competition.intent)
    model = dict(intent["model"])
    model["limits"] = {**model.get("limits", {}), **limits}
    intent["model"] = model
    try:
        Intent.model_validate(intent)
    except ValidationError as exc:
        raise ValidationFailed(f"the limits do not fit the competition's intent: {exc}") from exc
    competition.intent = intent


def _edit_phase(session: Session, competition: Competition, actor: User, edit: PhaseEdit) -> None:
    existing = next((p for p in competition.phases if p.name == edit.name), None)
    if edit.delete:
        if existing is None:
            raise NotFound(f"there is no phase {edit.name!r} to delete in {competition.slug!r}")
        _delete_phase(session, competition, existing)
        return
    if existing is None:
        _add_phase(competition, edit)
        return
    phase_rules.update(
        session,
        competition=competition,
        phase=existing,
        user=actor,
        change=phase_rules.PhaseChange(
            start_at=edit.start_at or existing.start_at,
            end_at=edit.end_at if "end_at" in edit.model_fields_set else existing.end_at,
            max_per_day=edit.max_per_day or existing.max_per_day,
            max_total=edit.max_total or existing.max_total,
            max_pending=edit.max_pending or existing.max_pending,
        ),
    )


def _add_phase(competition: Competition, edit: PhaseEdit) -> None:
    start = edit.start_at or utcnow()
    _check_window(start, edit.end_at)
    last = max(competition.phases, key=lambda p: p.position, default=None)
    if last is not None and start < last.start_at:
        raise BadRequest(
            f"a new phase comes last: {edit.name!r} cannot start before {last.name!r} starts"
        )
    competition.phases.append(
        Phase(
            position=(last.position + 1) if last else 0,
            name=edit.name,
            start_at=start,
            end_at=edit.end_at,
            max_per_day=edit.max_per_day or 5,
            max_total=edit.max_total or 100,
            max_pending=edit.max_pending or 2,
        )
    )


def _check_window(start: datetime, end: datetime | None) -> None:
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise BadRequest("give phase dates with a time zone (UTC), e.g. 2026-12-01T00:00:00Z")
    if end is not None and end <= start:
        raise BadRequest("the phase must end after it starts; change the start or the end")


def _delete_phase(session: Session, competition: Competition, phase: Phase) -> None:
    from challenge.submissions.models import Submission

    used = session.scalar(
        select(func.count()).select_from(Submission).where(Submission.phase_id == phase.id)
    )
    if used:
        raise Conflict(
            f"phase {phase.name!r} has {used} submission(s); only a phase without submissions "
            "can be deleted (change its dates instead)"
        )
    if len(competition.phases) == 1:
        raise Conflict("a competition keeps at least one phase")
    competition.phases.remove(phase)


def clone(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    actor: User,
    slug: str,
    title: str | None = None,
) -> Competition:
    """A new draft with the same data, labels, intent, description and phases (no teams, no
    submissions); the actor becomes its first host. Its files move into place after commit."""
    require_manager(actor, competition)
    require_role(actor, Role.HOST)
    if service.get(session, slug=slug) is not None:
        raise Conflict(f"a competition with slug {slug!r} exists; choose another slug")
    data.ensure_free(settings, slug)
    staged = data.stage_copy(settings, competition.slug)
    try:
        copy = Competition(
            slug=slug,
            title=title or f"{competition.title} (copy)",
            description=competition.description,
            problem_id=competition.problem_id,
            owner_id=actor.id,
            settings=dict(competition.settings),
            intent=dict(competition.intent),
            data_files=staged.files,
            test_sha256=staged.test_sha256,
            labels_sha256=staged.labels_sha256,
            max_team_size=competition.max_team_size,
            final_selection=competition.final_selection,
            status=CompetitionStatus.DRAFT,
        )
        for phase in competition.phases:
            copy.phases.append(
                Phase(
                    position=phase.position,
                    name=phase.name,
                    start_at=phase.start_at,
                    end_at=phase.end_at,
                    max_per_day=phase.max_per_day,
                    max_total=phase.max_total,
                    max_pending=phase.max_pending,
                )
            )
        add_creator(copy, creator=actor)
        session.add(copy)
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"a competition with slug {slug!r} was created at the same moment; choose another"
            ) from exc
        after_commit(session, lambda: staged.move_into_place(settings, slug))
    except BaseException:
        staged.discard()
        raise
    return copy

"""Competitions: create from a host bundle (folder or zip) or a built-in problem; phases; data."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from challenge.accounts.models import User
from challenge.competitions import data
from challenge.competitions.bundle import Bundle, load_bundle
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import add_creator
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit
from challenge.errors import Conflict, NotFound, ValidationFailed
from challenge.files import objects, storage
from sandbox.archive import BUNDLE_ARCHIVES, ArchiveRefused, extract_zip


def get(session: Session, *, slug: str) -> Competition | None:
    """The competition with this slug, if any."""
    return session.scalar(
        select(Competition)
        .where(Competition.slug == slug)
        .options(selectinload(Competition.phases))
    )


def get_or_raise(session: Session, *, slug: str) -> Competition:
    """The competition with this slug, or NotFound."""
    competition = get(session, slug=slug)
    if competition is None:
        raise NotFound(
            f"competition {slug!r} does not exist; `mlchallenge competitions` or the front page "
            "lists them"
        )
    return competition


def get_all(session: Session) -> list[Competition]:
    """Every competition, newest first."""
    return list(
        session.scalars(
            select(Competition)
            .options(selectinload(Competition.phases))
            .order_by(Competition.created_at.desc(), Competition.id.desc())
        )
    )


def create_from_bundle(
    session: Session,
    *,
    settings: Settings,
    owner: User,
    bundle_dir: Path,
    problem_id: str | None = None,
    slug: str | None = None,
    title: str | None = None,
    with_baseline: bool = True,
    dry_run: bool = False,
    challenge: str | None = None,
    organisation: str | None = None,
) -> tuple[Competition, Bundle]:
    """Validate a bundle folder, stage its data, reserve the slug; the data moves after commit.

    `dry_run`: first run the bundle's own programs on its sample submission (`dry_run.py`).
    With a `challenge` (argument, else the bundle's), the competition joins that challenge as a
    problem statement of `organisation` (`challenge.challenges.service.attach`).

    Concurrent creations of one slug: the database's unique index picks one winner; the others
    get Conflict and their staged files are removed (`challenge.competitions.data`).
    """
    bundle = load_bundle(bundle_dir)
    slug = slug or bundle.settings.slug
    if get(session, slug=slug) is not None:
        raise Conflict(f"a competition with slug {slug!r} exists; choose another slug")
    data.ensure_free(settings, slug)
    staged = data.stage(settings, bundle)
    try:
        if dry_run:
            from challenge.competitions.dry_run import dry_run as try_programs

            try_programs(bundle, staged, backend=settings.sandbox_backend)
        competition = _insert(session, bundle, staged, owner, problem_id, slug, title)
        _join_challenge(session, competition, owner, bundle, challenge, organisation, problem_id)
        after_commit(session, lambda: staged.move_into_place(settings, slug))
        if staged.baseline is not None and with_baseline and bundle.settings.baseline:
            from challenge.submissions.service import create_baseline

            create_baseline(
                session,
                settings=settings,
                competition=competition,
                owner=owner,
                model=staged.baseline,
                format=bundle.settings.baseline.format,
            )
    except BaseException:
        staged.discard()
        raise
    return competition, bundle


def _join_challenge(
    session: Session,
    competition: Competition,
    owner: User,
    bundle: Bundle,
    challenge: str | None,
    organisation: str | None,
    problem_id: str | None,
) -> None:
    """Attach the new competition to its challenge (the argument's, else the bundle's), with the
    Y.3173 level and Y.3174 profile the bundle declares, else those of its built-in problem."""
    challenge = challenge or bundle.settings.challenge
    organisation = organisation or bundle.settings.organisation
    if challenge is None:
        if organisation is not None:
            raise ValidationFailed("`organisation` needs a `challenge` to host the problem in")
        return
    from challenge.challenges.declarations import declared_for
    from challenge.challenges.service import attach

    level, profile = declared_for(problem_id)
    level = bundle.settings.intelligence_level or level
    profile = bundle.settings.data_handling or profile
    attach(
        session,
        competition=competition,
        actor=owner,
        challenge_slug=challenge,
        organisation_slug=organisation,
        level=level,
        data_profile=profile,
    )


def _insert(
    session: Session,
    bundle: Bundle,
    staged: data.StagedData,
    owner: User,
    problem_id: str | None,
    slug: str,
    title: str | None,
) -> Competition:
    """Insert the competition row now: a second creation of the slug fails here with Conflict."""
    competition = Competition(
        slug=slug,
        title=title or bundle.settings.title,
        description=bundle.description,
        problem_id=problem_id,
        owner_id=owner.id,
        settings=bundle.settings.model_dump(mode="json", exclude={"intent"}),
        intent=bundle.intent.model_dump(mode="json"),
        data_files=staged.files,
        test_sha256=staged.test_sha256,
        labels_sha256=staged.labels_sha256,
        max_team_size=bundle.settings.team.max_size,
        final_selection=bundle.settings.leaderboard.final_selection,
    )
    now = utcnow()
    for position, phase in enumerate(bundle.settings.phases):
        competition.phases.append(
            Phase(
                position=position,
                name=phase.name,
                start_at=phase.start or now,
                end_at=phase.end,
                max_per_day=phase.max_per_day,
                max_total=phase.max_total,
                max_pending=phase.max_pending,
            )
        )
    add_creator(competition, creator=owner)
    session.add(competition)
    try:
        session.flush()
    except IntegrityError as exc:  # the request's transaction rolls back with the Conflict
        raise Conflict(
            f"a competition with slug {slug!r} was created at the same moment; choose another slug"
        ) from exc
    return competition


def create_from_zip(
    session: Session,
    *,
    settings: Settings,
    owner: User,
    upload: BinaryIO,
    with_baseline: bool = True,
    dry_run: bool = False,
    challenge: str | None = None,
    organisation: str | None = None,
    slug: str | None = None,
) -> tuple[Competition, Bundle]:
    """Create a competition from an uploaded bundle zip (checked before extraction): ours, a
    Codabench v2 bundle, recognised by its content (docs/migrating.md); `slug` replaces the
    bundle's own."""
    max_bytes = settings.max_bundle_mb * 1024**2
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        archive, _ = storage.save_stream(upload, Path(tmp), suffix=".zip", max_bytes=max_bytes)
        root = Path(tmp) / "bundle"
        try:
            extract_zip(archive, root, limits=BUNDLE_ARCHIVES, label="the bundle zip")
        except ArchiveRefused as exc:
            raise ValidationFailed(str(exc)) from None
        return create_from_bundle(
            session,
            settings=settings,
            owner=owner,
            bundle_dir=root,
            with_baseline=with_baseline,
            dry_run=dry_run,
            challenge=challenge,
            organisation=organisation,
            slug=slug,
        )


def create_from_problem(
    session: Session,
    *,
    settings: Settings,
    owner: User,
    problem_id: str,
    slug: str | None = None,
    title: str | None = None,
    seed: int = 0,
    size: int | None = None,
    with_baseline: bool = True,
    challenge: str | None = None,
    organisation: str | None = None,
) -> tuple[Competition, Bundle]:
    """Generate a built-in problem's bundle with its simulator and create the competition."""
    from challenge.problems import UnknownProblemError, get_problem

    try:
        problem = get_problem(problem_id)
    except UnknownProblemError as exc:
        raise ValidationFailed(str(exc)) from exc
    if slug is not None and get(session, slug=slug) is not None:
        raise Conflict(f"a competition with slug {slug!r} exists; choose another slug")
    with tempfile.TemporaryDirectory(prefix="problem-") as tmp:
        bundle_dir = problem.write_bundle(Path(tmp) / problem_id, seed=seed, size=size)
        return create_from_bundle(
            session,
            settings=settings,
            owner=owner,
            bundle_dir=bundle_dir,
            problem_id=problem_id,
            slug=slug,
            title=title,
            with_baseline=with_baseline,
            challenge=challenge,
            organisation=organisation,
        )


def current_phase(competition: Competition, *, at: datetime | None = None) -> Phase | None:
    """The phase open at `at` (default now): started, not ended, not finalized."""
    moment = at or utcnow()
    for phase in competition.phases:
        started = phase.start_at <= moment
        if started and (phase.end_at is None or moment < phase.end_at) and not phase.finalized_at:
            return phase
    return None


def latest_phase(competition: Competition) -> Phase:
    """The phase whose board is shown by default: the open one, else the last started one."""
    open_phase = current_phase(competition)
    if open_phase is not None:
        return open_phase
    started = [p for p in competition.phases if p.start_at <= utcnow()]
    return started[-1] if started else competition.phases[0]


def get_phase_or_raise(competition: Competition, *, name: str | None) -> Phase:
    """The phase with this name (default: the latest), or NotFound."""
    if name is None:
        return latest_phase(competition)
    for phase in competition.phases:
        if phase.name == name:
            return phase
    names = ", ".join(p.name for p in competition.phases)
    raise NotFound(f"phase {name!r} does not exist in {competition.slug!r}; phases: {names}")


def data_file(settings: Settings, competition: Competition, *, name: str) -> Path:
    """The path of a public data file, or NotFound (labels are never public)."""
    if name not in competition.data_files:
        available = ", ".join(sorted(competition.data_files))
        raise NotFound(f"no data file {name!r} in {competition.slug!r}; files: {available}")
    path = storage.public_data_dir(settings.storage, competition.slug) / name
    return objects.store_for(settings).restore(path, sha256=competition.data_files[name]["sha256"])

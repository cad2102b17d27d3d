"""Competitions: create from a host bundle (folder or zip) or a built-in problem; phases; data."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from challenge.accounts.models import User
from challenge.competitions.bundle import Bundle, load_bundle, read_table
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import add_creator
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.errors import Conflict, NotFound, ValidationFailed
from challenge.files import storage
from challenge.files.archives import ArchiveLimits, extract_zip
from challenge.problems.base import split_column

MAX_BUNDLE_BYTES = 2 * 1024**3


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
        raise NotFound(f"competition {slug!r} does not exist; GET /api/v1/competitions lists them")
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
) -> tuple[Competition, Bundle]:
    """Validate a bundle folder, copy its data into storage and create the competition."""
    bundle = load_bundle(bundle_dir)
    slug = slug or bundle.settings.slug
    if get(session, slug=slug) is not None:
        raise Conflict(f"a competition with slug {slug!r} exists; choose another slug")
    data_dir = storage.public_data_dir(settings.storage, slug)
    labels_file = storage.labels_path(settings.labels, slug)
    _store_data(bundle, data_dir, labels_file)
    files = {
        p.name: {"size": p.stat().st_size, "sha256": storage.sha256_file(p)}
        for p in sorted(data_dir.iterdir())
        if p.is_file()
    }
    competition = Competition(
        slug=slug,
        title=title or bundle.settings.title,
        description=bundle.description,
        problem_id=problem_id,
        owner_id=owner.id,
        settings=bundle.settings.model_dump(mode="json", exclude={"intent"}),
        intent=bundle.intent.model_dump(mode="json"),
        data_files=files,
        test_sha256=files["test.parquet"]["sha256"],
        labels_sha256=storage.sha256_file(labels_file),
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
    session.flush()
    if bundle.baseline is not None:
        baseline_dir = storage.competition_dir(settings.storage, slug) / "baseline"
        baseline_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(bundle.baseline, baseline_dir / bundle.baseline.name)
        if with_baseline and bundle.settings.baseline is not None:
            from challenge.submissions.service import create_baseline

            create_baseline(
                session,
                settings=settings,
                competition=competition,
                owner=owner,
                model=baseline_dir / bundle.baseline.name,
                format=bundle.settings.baseline.format,
            )
    return competition, bundle


def _store_data(bundle: Bundle, data_dir: Path, labels_file: Path) -> None:
    """Public files as Parquet under storage; labels (with a split column) under the labels root."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    for source, name in ((bundle.train, "train.parquet"), (bundle.test, "test.parquet")):
        if source.suffix == ".parquet":
            shutil.copy2(source, data_dir / name)
        else:
            read_table(source).to_parquet(data_dir / name, index=False)
    if bundle.sample_submission is not None:
        shutil.copy2(bundle.sample_submission, data_dir / "sample_submission.csv")
    labels = read_table(bundle.labels)
    if "split" not in labels:
        rng = np.random.default_rng(bundle.intent.split.seed)
        labels["split"] = split_column(len(labels), bundle.intent.split.public_fraction, rng)
    labels_file.parent.mkdir(parents=True, exist_ok=True)
    labels_file.parent.chmod(0o700)
    labels.to_parquet(labels_file, index=False)


def create_from_zip(
    session: Session,
    *,
    settings: Settings,
    owner: User,
    upload: BinaryIO,
    with_baseline: bool = True,
) -> tuple[Competition, Bundle]:
    """Create a competition from an uploaded bundle zip (checked before extraction)."""
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        archive, _ = storage.save_stream(
            upload, Path(tmp), suffix=".zip", max_bytes=MAX_BUNDLE_BYTES
        )
        root = extract_zip(
            archive,
            Path(tmp) / "bundle",
            limits=ArchiveLimits(max_total_bytes=4 * MAX_BUNDLE_BYTES),
            label="bundle zip",
        )
        return create_from_bundle(
            session, settings=settings, owner=owner, bundle_dir=root, with_baseline=with_baseline
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
    return storage.public_data_dir(settings.storage, competition.slug) / name


def baseline_file(settings: Settings, competition: Competition) -> Path | None:
    """The stored baseline model of a competition, if it has one."""
    baseline = competition.settings.get("baseline")
    if not baseline:
        return None
    path = storage.competition_dir(settings.storage, competition.slug) / "baseline"
    return path / Path(baseline["path"]).name

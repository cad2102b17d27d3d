"""Reproducing the top k of a board on fresh test data drawn from the problem's simulator."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.competitions.staff import require_staff
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit, transaction
from challenge.errors import BadRequest, NotFound
from challenge.files import objects, storage
from challenge.judging import audit, leases
from challenge.judging.models import (
    Reproduction,
    ReproductionResult,
    ReproductionStatus,
    ResultStatus,
)
from challenge.submissions.models import Submission
from challenge.submissions.service import queue_of
from challenge.teams.models import Team
from leaderboards.entries import greater_is_better
from leaderboards.service import get_board
from mlfo.intent import Intent
from mlfo.placement import worker_device
from sandbox import FORMATS, get_format

log = logging.getLogger(__name__)
REFUSED_PREDICTIONS = (
    "predictions cannot be re-run on fresh data: only a model submission ("
    + ", ".join(str(f) for f, spec in FORMATS.items() if spec.is_model)
    + ") can be reproduced"
)


def create(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    user: User,
    top_k: int = 3,
    board: str = "private",
    phase_name: str | None = None,
    seed: int | None = None,
    size: int | None = None,
) -> Reproduction:
    """Queue a reproduction of the board's top k on a fresh test set from a new simulator seed."""
    require_staff(user, competition)
    if competition.problem_id is None:
        raise BadRequest(
            f"{competition.slug!r} was created from a host bundle: there is no simulator to draw "
            "fresh test data from; reproduction works for competitions of a built-in problem"
        )
    phase = competitions.get_phase_or_raise(competition, name=phase_name)
    original_seed = int(competition.settings.get("split", {}).get("seed", 0))
    if seed == original_seed:
        raise BadRequest(f"seed {seed} drew the competition's own data; choose another seed")
    rows = get_board(session, competition=competition, phase=phase, board=board, user=user).rows
    ranked = [r for r in rows if r["rank"] is not None and r["submission_id"] is not None]
    if not ranked:
        raise BadRequest(f"no ranked entry on the {board} board of phase {phase.name!r} yet")
    reproduction = Reproduction(
        competition_id=competition.id,
        phase_id=phase.id,
        board=board,
        top_k=top_k,
        seed=seed if seed is not None else _new_seed(original_seed),
        size=size or _test_rows(settings, competition),
        requested_by_id=user.id,
    )
    for position, row in enumerate(ranked[:top_k]):
        submission = session.get(Submission, row["submission_id"])
        assert submission is not None
        refused = not get_format(submission.format).is_model
        reproduction.results.append(
            ReproductionResult(
                position=position,
                team_id=row["team"]["id"],
                submission_id=submission.id,
                original_rank=row["rank"],
                original_score=row["score"],
                status=ResultStatus.REFUSED if refused else ResultStatus.PENDING,
                message=REFUSED_PREDICTIONS if refused else "",
            )
        )
    session.add(reproduction)
    session.flush()
    audit.record(
        session,
        competition_id=competition.id,
        actor=user,
        action="reproduce",
        target=f"reproduction:{reproduction.id}",
        reason=f"top {top_k} of the {board} board of {phase.name!r}, seed {reproduction.seed}",
    )
    reproduction_id, queue = reproduction.id, queue_of(competition)
    after_commit(session, lambda: leases.send(settings, reproduction_id, queue))
    return reproduction


def _new_seed(original: int) -> int:
    seed = secrets.randbelow(2**31 - 1)
    return seed if seed != original else seed + 1


def _test_rows(settings: Settings, competition: Competition) -> int:
    import pyarrow.parquet as pq

    test = storage.public_data_dir(settings.storage, competition.slug) / "test.parquet"
    objects.store_for(settings).restore(test, sha256=competition.test_sha256 or None)
    return int(pq.read_metadata(test).num_rows)


def get_visible(session: Session, *, reproduction_id: int, user: User) -> Reproduction:
    """A reproduction the user may see (staff of its competition), or NotFound / Forbidden."""
    reproduction = session.get(Reproduction, reproduction_id)
    if reproduction is None:
        raise NotFound(f"reproduction {reproduction_id} does not exist")
    competition = session.get(Competition, reproduction.competition_id)
    assert competition is not None
    require_staff(user, competition)
    return reproduction


def get_all(session: Session, *, competition: Competition, user: User) -> list[Reproduction]:
    """A competition's reproductions, newest first."""
    require_staff(user, competition)
    return list(
        session.scalars(
            select(Reproduction)
            .where(Reproduction.competition_id == competition.id)
            .order_by(Reproduction.created_at.desc(), Reproduction.id.desc())
        )
    )


@dataclass(frozen=True)
class _Job:
    """One entry to re-run, read from the database before the runs."""

    result_id: int
    submission_id: int
    model_path: Path
    format: str
    team_name: str
    model_sha256: str = ""


@dataclass(frozen=True)
class _Plan:
    slug: str
    problem_id: str
    intent: Intent
    board: str
    seed: int
    size: int
    phase: str
    jobs: list[_Job]
    train_sha256: str = ""


def run(settings: Settings, reproduction_id: int, *, worker: str = "in-process") -> str:
    """Claim a queued reproduction, draw the fresh data, re-run each pending entry and rank the
    results; returns what happened: finished, failed, skipped (not queued) or lost (its lease)."""
    with transaction(settings.database_url) as session:
        held = leases.claim(
            session, reproduction_id=reproduction_id, worker=worker, lease_s=settings.lease_seconds
        )
        if held is None:
            return "skipped"
        plan = _plan(session, settings, reproduction_id)
    error = ""
    with leases.heartbeat(settings, held) as heartbeat:
        try:
            test_path, labels_path = fresh_data(settings, plan, reproduction_id)
            for job in plan.jobs:
                ours = not heartbeat.lost and _run_one(
                    settings, plan, job, held, test_path, labels_path, heartbeat.should_stop
                )
                if not ours:  # another worker holds it now: it records the rest
                    return "lost"
        except Exception as exc:  # the simulator or storage failed: say so on the reproduction
            log.exception("reproduction %s failed", reproduction_id)
            error = f"{type(exc).__name__}: {exc}"
    if not _close(settings, held, plan, error=error):
        return "lost"
    return "failed" if error else "finished"


def _plan(session: Session, settings: Settings, reproduction_id: int) -> _Plan:
    reproduction = session.get(Reproduction, reproduction_id)
    assert reproduction is not None
    competition = session.get(Competition, reproduction.competition_id)
    assert competition is not None and competition.problem_id is not None
    phase = next(p.name for p in competition.phases if p.id == reproduction.phase_id)
    jobs = []
    for result in reproduction.results:
        if result.status is not ResultStatus.PENDING:
            continue
        submission = session.get(Submission, result.submission_id)
        team = session.get(Team, result.team_id)
        assert submission is not None and team is not None
        model = Path(submission.file_path)
        if settings.storage_url:  # the uploader's path names the object; this machine's differs
            model = storage.submissions_dir(settings.storage, competition.slug) / model.name
        jobs.append(
            _Job(
                result.id,
                submission.id,
                model,
                submission.format,
                team.name,
                model_sha256=submission.file_sha256,
            )
        )
    return _Plan(
        slug=competition.slug,
        problem_id=competition.problem_id,
        intent=Intent.model_validate(competition.intent),
        board=reproduction.board,
        seed=reproduction.seed,
        size=reproduction.size,
        phase=phase,
        jobs=jobs,
        train_sha256=str(competition.data_files.get("train.parquet", {}).get("sha256", "")),
    )


def fresh_data(settings: Settings, plan: _Plan, reproduction_id: int) -> tuple[Path, Path]:
    """Simulate a new test set; features go under storage, labels under the labels root."""
    from challenge.problems import get_problem

    test_path = reproduction_dir(settings.storage, plan.slug, reproduction_id) / "test.parquet"
    labels_path = settings.labels / plan.slug / "reproductions" / str(reproduction_id)
    labels_path = labels_path / "test_labels.parquet"
    if test_path.is_file() and labels_path.is_file():
        return test_path, labels_path
    with tempfile.TemporaryDirectory(prefix="reproduction-") as tmp:
        bundle = get_problem(plan.problem_id).write_bundle(
            Path(tmp) / "bundle", seed=plan.seed, size=plan.size, baseline=False
        )
        test_path.parent.mkdir(parents=True, exist_ok=True)
        labels_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _copy_atomically(bundle / "test.parquet", test_path)
        _copy_atomically(bundle / "test_labels.parquet", labels_path)
    return test_path, labels_path


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy so that a worker killed mid-copy leaves no partial file that a retry would trust."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.copy2(source, partial)
    os.replace(partial, target)


def reproduction_dir(storage_root: Path, slug: str, reproduction_id: int) -> Path:
    """Where a reproduction's fresh test features live."""
    return storage.competition_dir(storage_root, slug) / "reproductions" / str(reproduction_id)


def _run_one(
    settings: Settings,
    plan: _Plan,
    job: _Job,
    held: leases.Claim,
    test_path: Path,
    labels_path: Path,
    should_stop: Callable[[], bool],
) -> bool:
    """Re-run one entry and record its result; False when the claim was lost (nothing written)."""
    from mlfo.pipeline import EvaluationInput, build_pipeline
    from mlfo.worker.execution import next_attempt_dir

    runs = storage.runs_dir(settings.storage, job.submission_id)
    work_dir = next_attempt_dir(runs / f"reproduction-{held.reproduction_id}")
    data = storage.public_data_dir(settings.storage, plan.slug)
    store = objects.store_for(settings)  # with a storage URL: the worker's hash-keyed cache
    result = build_pipeline(plan.intent).run(
        EvaluationInput(
            submission_id=job.submission_id,
            competition_slug=plan.slug,
            intent=plan.intent,
            model_path=store.fetch(job.model_path, sha256=job.model_sha256),
            format=job.format,
            train_path=store.fetch(data / "train.parquet", sha256=plan.train_sha256),
            test_path=test_path,
            labels_path=labels_path,
            work_dir=work_dir,
            sandbox_backend=settings.sandbox_backend,
            device=worker_device(plan.intent),
            should_cancel=should_stop,
            team_name=job.team_name,
            phase=plan.phase,
        )
    )
    with transaction(settings.database_url) as session:
        if not leases.renew(session, held=held, lease_s=settings.lease_seconds):
            return False
        row = session.get(ReproductionResult, job.result_id)
        assert row is not None
        if row.status is not ResultStatus.PENDING:  # recorded already: never twice
            return True
        score = (result.ranking_score or {}).get(plan.board) if result.ok else None
        row.status = ResultStatus.FINISHED if result.ok else ResultStatus.FAILED
        row.reproduced_score = score
        row.scores = {k: dict(v) for k, v in (result.scores or {}).items()}
        row.message = result.message if not result.ok else result.invalid_reason
        if result.ok and not result.valid:
            row.reproduced_score = None
    return True


def _close(settings: Settings, held: leases.Claim, plan: _Plan, *, error: str) -> bool:
    """Rank the results and end the reproduction; False when the claim was lost."""
    from leaderboards.ranking import BoardRow, rank_rows

    with transaction(settings.database_url) as session:
        if not leases.renew(session, held=held, lease_s=settings.lease_seconds):
            return False
        reproduction = session.get(Reproduction, held.reproduction_id)
        assert reproduction is not None
        for result in reproduction.results:
            if result.status is ResultStatus.PENDING:
                result.status = ResultStatus.FAILED
                result.message = result.message or "not run: the reproduction failed"
        finished = [r for r in reproduction.results if r.status is ResultStatus.FINISHED]
        ranked = rank_rows(
            [
                BoardRow(
                    team_id=r.team_id,
                    submission_id=r.submission_id,
                    submitted_at=None,
                    score=r.reproduced_score,
                )
                for r in finished
            ],
            greater_is_better=greater_is_better(plan.intent),
        )
        ranks = {row.submission_id: row.rank for row in ranked}
        for result in finished:
            result.reproduced_rank = ranks.get(result.submission_id)
        reproduction.status = ReproductionStatus.FAILED if error else ReproductionStatus.FINISHED
        reproduction.error = error
        reproduction.finished_at = utcnow()
        reproduction.lease_expires_at = None
    return True

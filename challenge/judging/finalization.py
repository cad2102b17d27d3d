"""Finalizing a phase: freeze and publish both boards, refuse new uploads, register final models."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import require_staff
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.session import after_commit
from challenge.errors import Conflict
from challenge.files import objects, storage
from challenge.judging import audit
from challenge.notifications.events import phase_finalized
from challenge.submissions.models import PENDING_STATUSES, Submission
from leaderboards import snapshots
from leaderboards.entries import BOARDS
from leaderboards.models import LeaderboardSnapshot
from leaderboards.service import get_board
from mlfo.tracking import FinalModel
from sandbox import get_format

log = logging.getLogger(__name__)


@dataclass
class Finalized:
    """A finalized phase, its frozen boards and the final models sent to the Model Registry."""

    phase: Phase
    snapshots: list[LeaderboardSnapshot] = field(default_factory=list)
    final_models: list[FinalModel] = field(default_factory=list)


def finalize(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    user: User,
    reason: str,
    phase_name: str | None = None,
    register_top: int = 3,
) -> Finalized:
    """Freeze both boards of a phase, publish the private one, and close the phase to uploads."""
    require_staff(user, competition)
    phase = competitions.get_phase_or_raise(competition, name=phase_name)
    if phase.finalized_at is not None:
        raise Conflict(f"phase {phase.name!r} of {competition.slug!r} is already finalized")
    pending = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.phase_id == phase.id, Submission.status.in_(PENDING_STATUSES))
    )
    if pending:
        raise Conflict(
            f"{pending} submissions of phase {phase.name!r} are still queued or running; "
            "wait for them to finish (or cancel them), then finalize"
        )
    phase.finalized_at = utcnow()
    session.flush()
    result = Finalized(phase=phase)
    for board in BOARDS:
        frozen = get_board(session, competition=competition, phase=phase, board=board, user=user)
        result.snapshots.append(snapshots.store(session, phase=phase, board=frozen))
    audit.record(
        session,
        competition_id=competition.id,
        actor=user,
        action="finalize_phase",
        target=f"phase:{phase.name}",
        reason=reason,
    )
    phase_finalized(session, settings=settings, competition=competition, phase=phase)
    result.final_models = final_models(session, snapshot=result.snapshots[-1], top=register_top)
    if result.final_models:
        uri, slug, entries = settings.mlflow_tracking_uri, competition.slug, result.final_models
        if settings.storage_url:  # the models are in the object store, not on this machine
            hashes = {e.submission_id: _sha256(session, e.submission_id) for e in entries}
            after_commit(
                session, lambda: register(uri, slug, _fetched(settings, slug, entries, hashes))
            )
        else:
            after_commit(session, lambda: register(uri, slug, entries))
    return result


def _sha256(session: Session, submission_id: int | None) -> str:
    submission = session.get(Submission, submission_id)
    return submission.file_sha256 if submission is not None else ""


def _fetched(
    settings: Settings, slug: str, entries: list[FinalModel], hashes: dict[int | None, str]
) -> list[FinalModel]:
    """The entries with their model files fetched from the storage URL (the ones it has)."""
    store = objects.store_for(settings)
    here = []
    for entry in entries:
        view = storage.submissions_dir(settings.storage, slug) / entry.model_path.name
        try:
            path = store.fetch(view, sha256=hashes.get(entry.submission_id, ""))
        except objects.StorageUnavailable:
            log.warning("the final model of rank %s is not in storage", entry.rank, exc_info=True)
            continue
        here.append(replace(entry, model_path=path))
    return here


def final_models(session: Session, *, snapshot: LeaderboardSnapshot, top: int) -> list[FinalModel]:
    """The models of the `top` ranked entries of a frozen board (predictions are not models)."""
    chosen: list[FinalModel] = []
    for row in snapshot.rows.get("rows", []):
        rank, submission_id = row.get("rank"), row.get("submission_id")
        if rank is None or rank > top or submission_id is None:
            continue
        submission = session.get(Submission, submission_id)
        if submission is None or not get_format(submission.format).is_model:
            continue
        if not submission.mlflow_run_id:
            continue
        chosen.append(
            FinalModel(
                run_id=submission.mlflow_run_id,
                model_path=Path(submission.file_path),
                rank=int(rank),
                team_name=str(row["team"]["name"]),
                submission_id=submission.id,
            )
        )
    return chosen


def register(tracking_uri: str, slug: str, entries: list[FinalModel]) -> None:
    """Register the final models in the MLflow Model Registry (best effort: failures are logged)."""
    from mlfo.tracking import register_final_models

    try:
        versions = register_final_models(tracking_uri, slug, entries)
    except Exception:  # the standings are final either way; the registry can be filled in later
        log.warning("could not register the final models of %s", slug, exc_info=True)
        return
    log.info("registered %d final models of %s", len(versions), slug)

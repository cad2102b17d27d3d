"""Running one submission's evaluation reliably: claim, lease, heartbeat, finish exactly once."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.db.session import after_commit, transaction
from challenge.files import objects, storage
from challenge.observability import metrics
from challenge.submissions import lifecycle
from challenge.submissions.models import Submission, SubmissionStatus
from challenge.teams.models import Team
from mlfo.evaluation import EvaluationResult
from mlfo.intent import Intent
from mlfo.placement import queue_for, worker_device
from mlfo.sinks import DEFERRED_PLOTS
from mlfo.worker import plots
from mlfo.worker.dispatch import SUBMISSIONS, dispatch
from mlfo.worker.heartbeat import LeaseHeartbeat
from sandbox import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running submission."""

    submission_id: int
    token: str
    attempt: int
    waited_s: float = 0.0
    """How long it waited on its queue (since it was last sent to the broker)."""


def claim(session: Session, *, submission_id: int, worker: str, lease_s: float) -> Claim | None:
    """Move a queued submission to running for this worker; None if it is not queued any more."""
    token = SUBMISSIONS.claim(session, submission_id, worker=worker, lease_s=lease_s)
    if token is None:
        return None
    row = session.execute(
        select(
            Submission.attempts,
            Submission.started_at,
            func.coalesce(Submission.dispatched_at, Submission.created_at),
        ).where(Submission.id == submission_id)
    ).one()
    attempt, started_at, waiting_since = row
    waited = (started_at - waiting_since).total_seconds() if started_at and waiting_since else 0.0
    return Claim(
        submission_id=submission_id, token=token, attempt=attempt or 1, waited_s=max(waited, 0.0)
    )


def renew(session: Session, *, held: Claim, lease_s: float) -> tuple[bool, bool]:
    """Extend the lease; returns (still ours, cancel requested)."""
    if not SUBMISSIONS.renew(session, held.submission_id, held.token, lease_s=lease_s):
        return False, False
    cancel = session.scalar(
        select(Submission.cancel_requested).where(Submission.id == held.submission_id)
    )
    return True, bool(cancel)


def submission_heartbeat(settings: Settings, held: Claim) -> LeaseHeartbeat:
    """The heartbeat that keeps a claimed submission's lease (and sees a cancel request)."""
    return LeaseHeartbeat(
        settings,
        partial(renew, held=held, lease_s=settings.lease_seconds),
        label=f"submission {held.submission_id}",
    )


def finish(
    session: Session, *, held: Claim, result: EvaluationResult, reason: str = "initial"
) -> Submission | None:
    """Record the result if the claim is still ours (exactly once), then run the commit sinks the
    competition's intent lists (the leaderboard) in the same transaction."""
    submission = session.scalar(
        select(Submission)
        .where(
            Submission.id == held.submission_id,
            Submission.claim_token == held.token,
            Submission.status == SubmissionStatus.RUNNING,
        )
        .with_for_update()
    )
    if submission is None:
        return None
    lifecycle.record(session, submission=submission, result=result, reason=reason)
    from mlfo.worker.commit_sinks import run_commit_sinks

    run_commit_sinks(session, submission)
    return submission


def release(
    session: Session, *, held: Claim, settings: Settings, message: str
) -> tuple[bool, float | None]:
    """Give back a claim after a platform fault: re-queue with backoff, or fail after the limit.

    Returns (re-queued, countdown seconds).
    """
    submission = session.scalar(
        select(Submission)
        .where(Submission.id == held.submission_id, Submission.claim_token == held.token)
        .with_for_update()
    )
    if submission is None or submission.status != SubmissionStatus.RUNNING:
        return False, None
    attempts = submission.attempts
    if not lifecycle.after_platform_fault(
        session, submission, max_attempts=settings.max_attempts, cause=message
    ):
        return False, None
    countdown = min(60.0, 2.0**attempts) * (0.5 + random.random())
    return True, countdown


@dataclass(frozen=True)
class EvaluationPlan:
    """Everything the pipeline needs, read from the database before the run."""

    competition_slug: str
    intent: Intent
    model_path: Path
    format: str
    train_path: Path
    test_path: Path
    labels_path: Path
    team_name: str
    phase: str
    queue: str
    test_sha256: str = ""
    labels_sha256: str = ""
    model_sha256: str = ""
    train_sha256: str = ""


def plan(session: Session, *, settings: Settings, submission_id: int) -> EvaluationPlan:
    """Read the submission, its competition and team into a plan."""
    submission = session.get(Submission, submission_id)
    assert submission is not None
    competition = session.get(Competition, submission.competition_id)
    team = session.get(Team, submission.team_id)
    assert competition is not None and team is not None
    phase = next(p.name for p in competition.phases if p.id == submission.phase_id)
    data = storage.public_data_dir(settings.storage, competition.slug)
    intent = Intent.model_validate(competition.intent)
    model_path = Path(submission.file_path)
    if settings.storage_url:  # the uploader's path names the object; this machine's folder differs
        model_path = storage.submissions_dir(settings.storage, competition.slug) / model_path.name
    return EvaluationPlan(
        competition_slug=competition.slug,
        intent=intent,
        model_path=model_path,
        format=submission.format,
        train_path=data / "train.parquet",
        test_path=data / "test.parquet",
        labels_path=storage.labels_path(settings.labels, competition.slug),
        team_name=team.name,
        phase=phase,
        queue=queue_for(intent),
        test_sha256=competition.test_sha256,
        labels_sha256=competition.labels_sha256,
        model_sha256=submission.file_sha256,
        train_sha256=str(competition.data_files.get("train.parquet", {}).get("sha256", "")),
    )


def fetch_inputs(settings: Settings, evaluation: EvaluationPlan) -> EvaluationPlan:
    """The plan with its files on this machine: from the storage URL into the worker's cache.

    Each file is downloaded once into a folder named by its recorded SHA-256 and kept only when
    its content has that hash; without a storage URL the paths are the stored files themselves.
    """
    store = objects.store_for(settings)
    if not store.remote:
        return evaluation
    return replace(
        evaluation,
        model_path=store.fetch(evaluation.model_path, sha256=evaluation.model_sha256),
        train_path=store.fetch(evaluation.train_path, sha256=evaluation.train_sha256),
        test_path=store.fetch(evaluation.test_path, sha256=evaluation.test_sha256),
        labels_path=store.fetch(evaluation.labels_path, sha256=evaluation.labels_sha256),
    )


def run_evaluation(settings: Settings, submission_id: int, *, worker: str) -> str:
    """Claim, evaluate and record one submission; returns what happened (for logs and tests)."""
    began = time.monotonic()
    with transaction(settings.database_url) as session:
        held = claim(
            session, submission_id=submission_id, worker=worker, lease_s=settings.lease_seconds
        )
    if held is None:
        metrics.count_evaluation("skipped")
        return "skipped"
    with transaction(settings.database_url) as session:
        evaluation = plan(session, settings=settings, submission_id=submission_id)
    metrics.observe_queue_wait(evaluation.queue, held.waited_s)
    store = objects.store_for(settings)
    runs = storage.runs_dir(settings.storage, submission_id)
    work_dir = next_attempt_dir(runs, taken=store.listdir(runs) if store.remote else ())
    with submission_heartbeat(settings, held) as heartbeat:
        try:
            evaluation = fetch_inputs(settings, evaluation)
            result = _run_pipeline(settings, submission_id, evaluation, work_dir, heartbeat)
            if not heartbeat.lost:
                publish_outputs(settings, work_dir)
            platform_fault = result.outcome == Outcome.INFRASTRUCTURE_ERROR
            fault_message = result.message
        except Exception as exc:  # a platform fault (storage, broker, tracking): retried
            log.exception("evaluation of submission %s failed", submission_id)
            result, platform_fault, fault_message = None, True, f"{type(exc).__name__}: {exc}"
    if result is not None:
        metrics.observe_phases(result.timings)
        metrics.count_kill(result.sandbox_kill)
    if result is not None and (heartbeat.lost or platform_fault):
        _drop_deferred(result)
    if heartbeat.lost:
        metrics.count_evaluation("lost", evaluation.queue, time.monotonic() - began)
        return "lost"
    if platform_fault:
        with transaction(settings.database_url) as session:
            requeued, countdown = release(
                session, held=held, settings=settings, message=fault_message
            )
            if requeued:
                queue = evaluation.queue
                after_commit(
                    session, lambda: dispatch(settings, submission_id, queue, countdown=countdown)
                )
        outcome = "requeued" if requeued else "failed"
        metrics.count_evaluation(outcome, evaluation.queue, time.monotonic() - began)
        return outcome
    recording = time.monotonic()
    with transaction(settings.database_url) as session:
        done = finish(session, held=held, result=result)
        if done is not None:
            from challenge.notifications.events import submission_done

            submission_done(session, settings=settings, submission=done)
        run_id = result.mlflow_run_id if result is not None else None
        if done is not None and run_id:
            after_commit(session, lambda: _mark_scoring_run(settings, run_id))
        if done is not None and result is not None and DEFERRED_PLOTS in result.deferred:
            after_commit(
                session,
                partial(
                    plots.send,
                    settings,
                    submission_id=submission_id,
                    attempt=work_dir.name,
                    queue=evaluation.queue,
                    run_id=run_id,
                    labels_sha256=result.provenance["mlchallenge.labels_sha256"],
                ),
            )
    if done is None and result is not None:
        _drop_deferred(result)
    metrics.observe_phases({"record": time.monotonic() - recording})
    outcome = "finished" if done is not None else "lost"
    metrics.count_evaluation(outcome, evaluation.queue, time.monotonic() - began)
    return outcome


def _drop_deferred(result: Any) -> None:
    """Remove the inputs of deferred work whose result was not recorded."""
    for path in result.deferred.values():
        path.unlink(missing_ok=True)


def _mark_scoring_run(settings: Settings, run_id: str) -> None:
    try:
        from mlfo.tracking import set_scoring_run

        set_scoring_run(settings.mlflow_tracking_uri, run_id)
    except Exception:  # tracking is best effort once the score is committed
        log.warning("could not mark MLflow run %s as the scoring run", run_id, exc_info=True)


INPUT_COPIES = frozenset({"features.parquet", "train.parquet"})
"""Files of an attempt folder that copy the competition's data: never published again."""


def publish_outputs(settings: Settings, work_dir: Path) -> None:
    """Copy an attempt's outputs (logs, scores, samples, plot input) to the storage URL, if any."""
    store = objects.store_for(settings)
    if store.remote:
        for path in sorted(work_dir.iterdir()):
            if path.is_file() and not path.is_symlink() and path.name not in INPUT_COPIES:
                store.publish(path)


def next_attempt_dir(root: Path, *, taken: Iterable[str] = ()) -> Path:
    """A new `attempt-N` folder for this evaluation; re-runs never overwrite earlier outputs.

    `taken`: names already used elsewhere (at the storage URL, by another worker's attempts).
    """
    names = [p.name for p in root.glob("attempt-*")] + list(taken)
    numbers = [
        int(n.split("-", 1)[1]) for n in names if n.startswith("attempt-") and n[8:].isdigit()
    ]
    path = root / f"attempt-{max(numbers, default=0) + 1}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run_pipeline(
    settings: Settings,
    submission_id: int,
    evaluation: EvaluationPlan,
    work_dir: Path,
    heartbeat: LeaseHeartbeat,
) -> Any:
    from mlfo.integrity import verify_inputs
    from mlfo.pipeline import EvaluationInput, build_pipeline

    if evaluation.intent.programs is not None:
        return _run_programs(settings, submission_id, evaluation, work_dir, heartbeat)
    verify_inputs(
        slug=evaluation.competition_slug,
        expected={"test data": evaluation.test_sha256, "labels": evaluation.labels_sha256},
        paths={"test data": evaluation.test_path, "labels": evaluation.labels_path},
    )
    pipeline = build_pipeline(evaluation.intent)
    return pipeline.run(
        EvaluationInput(
            submission_id=submission_id,
            competition_slug=evaluation.competition_slug,
            intent=evaluation.intent,
            model_path=evaluation.model_path,
            format=evaluation.format,
            train_path=evaluation.train_path,
            test_path=evaluation.test_path,
            labels_path=evaluation.labels_path,
            work_dir=work_dir,
            sandbox_backend=settings.sandbox_backend,
            sandbox_warm=settings.sandbox_warm,
            sandbox_fork=settings.sandbox_fork_server,
            device=worker_device(evaluation.intent),
            should_cancel=heartbeat.should_stop,
            mlflow_tracking_uri=settings.mlflow_tracking_uri or None,
            team_name=evaluation.team_name,
            phase=evaluation.phase,
            cache_dir=settings.home / "cache" / "tables",
            defer_diagnostics=True,
        )
    )


def _run_programs(
    settings: Settings,
    submission_id: int,
    evaluation: EvaluationPlan,
    work_dir: Path,
    heartbeat: LeaseHeartbeat,
) -> Any:
    """A competition scored by its own programs (mlfo/program_run.py); its reference data are
    checked against their hash first, as the labels of any competition."""
    from mlfo.integrity import verify_inputs
    from mlfo.pipeline import EvaluationInput
    from mlfo.program_run import ProgramPaths, evaluate_with_programs

    paths = ProgramPaths(
        programs=storage.programs_dir(settings.storage, evaluation.competition_slug),
        reference=storage.reference_dir(settings.labels, evaluation.competition_slug),
    )
    if evaluation.labels_sha256:
        verify_inputs(
            slug=evaluation.competition_slug,
            expected={"reference data": evaluation.labels_sha256},
            paths={"reference data": paths.reference},
        )
    return evaluate_with_programs(
        EvaluationInput(
            submission_id=submission_id,
            competition_slug=evaluation.competition_slug,
            intent=evaluation.intent,
            model_path=evaluation.model_path,
            format=evaluation.format,
            train_path=evaluation.train_path,
            test_path=evaluation.test_path,
            labels_path=evaluation.labels_path,
            work_dir=work_dir,
            sandbox_backend=settings.sandbox_backend,
            should_cancel=heartbeat.should_stop,
            mlflow_tracking_uri=settings.mlflow_tracking_uri or None,
            team_name=evaluation.team_name,
            phase=evaluation.phase,
        ),
        paths,
    )

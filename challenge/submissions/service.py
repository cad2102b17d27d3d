"""Submissions: accept an upload under the phase's limits, show it, cancel it."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges.admission import require_team_admitted
from challenge.competitions import lifecycle as competition_lifecycle
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition, Phase
from challenge.competitions.staff import is_staff
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.db.search import contains
from challenge.db.session import after_commit
from challenge.errors import BadRequest, Forbidden, NotFound, QuotaExceeded, ValidationFailed
from challenge.files import objects, storage
from challenge.submissions import lifecycle
from challenge.submissions.fact_sheet import check_answers, questions_of
from challenge.submissions.formats import check_upload
from challenge.submissions.models import (
    PENDING_STATUSES,
    Submission,
    SubmissionStatus,
)
from challenge.submissions.predictions import check_predictions
from challenge.teams import service as teams
from challenge.teams.models import Team, TeamMember
from leaderboards.entries import refresh_team
from mlfo.intent import Intent
from mlfo.placement import queue_for
from mlfo.worker.dispatch import dispatch
from sandbox import SubmissionFormat


def get(session: Session, *, submission_id: int) -> Submission | None:
    """The submission with this id, if any."""
    return session.get(Submission, submission_id)


def get_or_raise(session: Session, *, submission_id: int) -> Submission:
    """The submission with this id, or NotFound."""
    submission = get(session, submission_id=submission_id)
    if submission is None:
        raise NotFound(f"submission {submission_id} does not exist")
    return submission


def get_visible(session: Session, *, submission_id: int, user: User) -> Submission:
    """A submission the user may see (own team's, or any for staff); others look absent."""
    submission = get_or_raise(session, submission_id=submission_id)
    competition = session.get(Competition, submission.competition_id)
    assert competition is not None
    if is_staff(user, competition) or teams.is_member(
        session, team_id=submission.team_id, user_id=user.id
    ):
        return submission
    raise NotFound(f"submission {submission_id} does not exist")


def stored_file(session: Session, *, submission_id: int, user: User) -> tuple[Path, str]:
    """The uploaded file of a submission and its name: for the owner team and the staff."""
    submission = get_visible(session, submission_id=submission_id, user=user)
    path = Path(submission.file_path)
    if not path.is_file():
        raise NotFound(f"the file of submission {submission_id} is no longer stored")
    return path, submission.file_name


def may_see_private(session: Session, *, submission: Submission, user: User) -> bool:
    """Private-split figures (scores, plots): the competition's staff always, the rest once the
    submission's phase is finalized."""
    competition = session.get(Competition, submission.competition_id)
    phase = session.get(Phase, submission.phase_id)
    assert competition is not None and phase is not None
    return phase.finalized_at is not None or is_staff(user, competition)


def get_all_for_team(session: Session, *, team_id: int, limit: int = 200) -> list[Submission]:
    """A team's submissions, newest first."""
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.team_id == team_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
    )


def get_all_for_competition(
    session: Session, *, competition_id: int, limit: int = 500
) -> list[Submission]:
    """A competition's submissions, newest first (staff views)."""
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.competition_id == competition_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
    )


def search(
    session: Session,
    *,
    competition_id: int,
    team_id: int | None = None,
    query: str = "",
    status: SubmissionStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Submission], int]:
    """One page of a competition's submissions (a team's, with `team_id`), newest first, whose
    file name, note, team name or id contains `query`, in `status`; and how many match."""
    condition = Submission.competition_id == competition_id
    if team_id is not None:
        condition = condition & (Submission.team_id == team_id)
    if status is not None:
        condition = condition & (Submission.status == status)
    needle = query.strip()
    if needle:
        matches = (
            contains(Submission.file_name, needle)
            | contains(Submission.note, needle)
            | contains(Team.name, needle)
        )
        if needle.isdigit():
            matches = matches | (Submission.id == int(needle))
        condition = condition & matches
    joined = select(Submission).join(Team, Team.id == Submission.team_id).where(condition)
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = session.scalars(
        joined.order_by(Submission.created_at.desc(), Submission.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total)


def create(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    user: User,
    upload: BinaryIO,
    filename: str,
    format: str,
    note: str = "",
    fact_sheet: str = "",
    method: dict[str, Any] | None = None,
) -> Submission:
    """Accept an upload: phase open, team, format, size, archive, then the limits (atomically).

    `fact_sheet`: the JSON answers to the competition's fact-sheet questions, if it asks any;
    `method` is the validated `MethodInfo` of the upload (name, description, URL, public)."""
    competition_lifecycle.require_entries_open(competition)
    intent = Intent.model_validate(competition.intent)
    answers = check_answers(questions_of(competition.settings or {}), fact_sheet)
    phase = competitions.current_phase(competition)
    if phase is None:
        raise Forbidden(
            f"no phase of {competition.slug!r} is open for submissions now; "
            "see the competition page for the phase dates"
        )
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    if team is None and is_staff(user, competition):
        raise Forbidden(
            f"you are staff of {competition.slug!r}: staff do not submit to it; test it with an "
            "account that is not its staff"
        )
    if team is None:
        raise Forbidden(
            f"join or create a team in {competition.slug!r} before submitting "
            f"(`mlchallenge team create {competition.slug} NAME`, or the page "
            f"/competitions/{competition.slug}/team)"
        )
    if team.disqualified_reason:
        raise Forbidden(f"your team was disqualified: {team.disqualified_reason}")
    require_team_admitted(session, competition=competition, team=team)
    if format not in intent.model.formats:
        raise ValidationFailed(
            f"format {format!r} is not accepted by {competition.slug!r}; "
            f"accepted formats: {', '.join(intent.model.formats)}"
        )
    max_bytes = min(settings.max_upload_mb, intent.model.max_upload_mb) * 1024**2
    path = store_upload(
        settings,
        competition,
        upload=upload,
        filename=filename,
        format=format,
        max_bytes=max_bytes,
        intent=intent,
    )
    try:
        submission = _insert_within_limits(
            session,
            settings=settings,
            competition=competition,
            phase=phase,
            team=team,
            user=user,
            path=path,
            filename=filename,
            format=format,
            note=note,
            method=method,
        )
        submission.fact_sheet = answers
    except BaseException:
        path.unlink(missing_ok=True)
        objects.store_for(settings).remove(path)
        raise
    return submission


def store_upload(
    settings: Settings,
    competition: Competition,
    *,
    upload: BinaryIO,
    filename: str,
    format: str,
    max_bytes: int,
    intent: Intent,
) -> Path:
    """Save an upload to storage and validate it; nothing invalid is kept."""
    suffix = "".join(Path(filename).suffixes[-1:]).lower()
    if len(suffix) > 12 or not suffix[1:].isalnum():
        suffix = ""
    path, size = storage.save_stream(
        upload,
        storage.submissions_dir(settings.storage, competition.slug),
        suffix=suffix,
        max_bytes=max_bytes,
    )
    try:
        if size == 0:
            raise ValidationFailed("the uploaded file is empty")
        check_upload(path, filename=filename, format=format, intent=intent)
        store = objects.store_for(settings)
        if format == SubmissionFormat.PREDICTIONS:
            test_path = storage.public_data_dir(settings.storage, competition.slug) / "test.parquet"
            store.restore(test_path, sha256=competition.test_sha256 or None)
            check_predictions(path, intent=intent, test_path=test_path, max_bytes=max_bytes)
        store.publish(path)  # workers read it from storage, never from this machine's disk
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _insert_within_limits(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    phase: Phase,
    team: Team,
    user: User,
    path: Path,
    filename: str,
    format: str,
    note: str,
    is_baseline: bool = False,
    method: dict[str, Any] | None = None,
) -> Submission:
    # The row lock on the team serialises concurrent uploads of one team (SQLite: the write lock);
    # joining and leaving take the same lock, so the members counted below cannot change.
    session.execute(
        update(Team).where(Team.id == team.id).values(submission_seq=Team.submission_seq + 1)
    )
    if not is_baseline:
        if not teams.is_member(session, team_id=team.id, user_id=user.id):
            raise Forbidden(f"you left team {team.name!r} while uploading; submit again")
        check_limits(session, phase=phase, team_id=team.id)
    submission = Submission(
        competition_id=competition.id,
        phase_id=phase.id,
        team_id=team.id,
        user_id=user.id,
        format=format,
        note=note[:500],
        file_name=Path(filename).name[:255] or "upload",
        file_path=str(path),
        file_sha256=storage.sha256_file(path),
        size_bytes=path.stat().st_size,
        is_baseline=is_baseline,
        method=method or None,
    )
    session.add(submission)
    session.flush()
    submission_id, queue = submission.id, queue_of(competition)
    after_commit(session, lambda: dispatch(settings, submission_id, queue))
    return submission


def check_limits(session: Session, *, phase: Phase, team_id: int) -> None:
    """Raise QuotaExceeded when the team has used up a limit of the phase.

    A team's usage is its own submissions and every submission its current members made in the
    phase, in whatever team they were then: limits hold per user as well as per team, and a team
    that a submitter joins or founds inherits their count (leaving a team frees no quota).
    """
    members = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
    base = (
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.phase_id == phase.id,
            Submission.is_baseline.is_(False),
            or_(Submission.team_id == team_id, Submission.user_id.in_(members)),
        )
    )
    pending_uploads = base.where(
        Submission.status.in_(PENDING_STATUSES), Submission.rescore_reason.is_(None)
    )  # a judge's re-runs do not hold up the team's own uploads
    pending = session.scalar(pending_uploads) or 0
    if pending >= phase.max_pending:
        raise QuotaExceeded(
            f"your team has {pending} submissions queued or running; at most {phase.max_pending} "
            "at once: wait for one to finish",
            limit="max_pending",
        )
    counted = base.where(Submission.counts_toward_quota.is_(True))
    now = utcnow()
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    today = session.scalar(counted.where(Submission.created_at >= midnight)) or 0
    if today >= phase.max_per_day:
        raise QuotaExceeded(
            f"your team has used its {phase.max_per_day} submissions for today (UTC), counting "
            "those its members made in other teams; try again after midnight UTC",
            limit="max_per_day",
        )
    total = session.scalar(counted) or 0
    if total >= phase.max_total:
        raise QuotaExceeded(
            f"your team has used all {phase.max_total} submissions of phase {phase.name!r}, "
            "counting those its members made in other teams (leaving a team frees no quota)",
            limit="max_total",
        )


def queue_of(competition: Competition) -> str:
    """The Celery queue of a competition's evaluations (its intent's resource class)."""
    return queue_for(Intent.model_validate(competition.intent))


def create_baseline(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    owner: User,
    model: Path,
    format: str,
) -> Submission:
    """Submit a competition's baseline model as the host's baseline team (shown, not ranked)."""
    phase = competitions.latest_phase(competition)
    team = session.scalar(
        select(Team).where(Team.competition_id == competition.id, Team.is_baseline.is_(True))
    ) or teams.create(
        session, competition=competition, user=owner, name="Baseline", is_baseline=True
    )
    with model.open("rb") as handle:
        path, _ = storage.save_stream(
            handle,
            storage.submissions_dir(settings.storage, competition.slug),
            suffix=model.suffix,
            max_bytes=1024**3,
        )
    objects.store_for(settings).publish(path)
    return _insert_within_limits(
        session,
        settings=settings,
        competition=competition,
        phase=phase,
        team=team,
        user=owner,
        path=path,
        filename=model.name,
        format=format,
        note="baseline",
        is_baseline=True,
    )


def cancel(session: Session, *, submission: Submission, user: User) -> Submission:
    """Cancel a queued submission, or ask the worker to stop a running one."""
    competition = session.get(Competition, submission.competition_id)
    assert competition is not None
    staff = is_staff(user, competition)
    if not (staff or teams.is_member(session, team_id=submission.team_id, user_id=user.id)):
        raise NotFound(f"submission {submission.id} does not exist")
    if submission.rescore_reason is not None and not staff:
        raise Forbidden(
            f"submission {submission.id} is being re-run by the judges "
            f"({submission.rescore_reason}); only the competition's staff can cancel that run"
        )
    lifecycle.cancel(session, submission=submission, by=user.username)
    return submission


def select_final(
    session: Session, *, submission: Submission, user: User, selected: bool
) -> Submission:
    """Mark a finished submission as one of the team's final choices (up to the competition's K)."""
    competition = session.get(Competition, submission.competition_id)
    assert competition is not None
    if not teams.is_member(session, team_id=submission.team_id, user_id=user.id):
        raise NotFound(f"submission {submission.id} does not exist")
    if competition.final_selection == 0:
        raise BadRequest(
            f"{competition.slug!r} ranks each team's best score; there is nothing to select"
        )
    if selected and submission.status != SubmissionStatus.FINISHED:
        raise BadRequest("only finished submissions can be selected as final")
    if selected and not submission.selected_final:
        chosen = (
            session.scalar(
                select(func.count()).where(
                    Submission.team_id == submission.team_id,
                    Submission.phase_id == submission.phase_id,
                    Submission.selected_final.is_(True),
                )
            )
            or 0
        )
        if chosen >= competition.final_selection:
            raise BadRequest(
                f"your team already selected {chosen} submissions; at most "
                f"{competition.final_selection}: unselect one first"
            )
    submission.selected_final = selected
    session.flush()
    refresh_team(
        session, competition=competition, phase_id=submission.phase_id, team_id=submission.team_id
    )
    return submission


SCORING_LOG_CAP = 64 * 1024


def scoring_logs(
    session: Session, *, settings: Settings, submission_id: int, user: User
) -> dict[str, str]:
    """The competition's scoring programs' full logs of each attempt (`attempt-N/<task>`), for
    its staff only: they may print hidden labels, so a team never sees them."""
    submission = get_visible(session, submission_id=submission_id, user=user)
    competition = session.get(Competition, submission.competition_id)
    assert competition is not None
    if not is_staff(user, competition):
        raise Forbidden("the scoring programs' logs are shown to the competition's staff only")
    runs = storage.runs_dir(settings.storage, submission.id)
    logs: dict[str, str] = {}
    for path in sorted(runs.glob("attempt-*/scoring-*.log")) if runs.is_dir() else []:
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            text = handle.read(SCORING_LOG_CAP).decode("utf-8", errors="replace")
        logs[f"{path.parent.name}/{path.stem.removeprefix('scoring-')}"] = text
    return logs

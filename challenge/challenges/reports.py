"""Teams' reports (a PDF) and code links for a problem statement, and who may read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.accounts.models import User
from challenge.challenges.models import TeamReport
from challenge.competitions.models import Competition
from challenge.config import Settings
from challenge.db.base import utcnow
from challenge.errors import Forbidden, NotFound, ValidationFailed
from challenge.files import storage
from challenge.teams import service as teams
from challenge.teams.models import Team

MAX_REPORT_MB = 20
PDF_MAGIC = b"%PDF-"
CODE_URL = re.compile(r"https?://[^\s<>\"']{1,490}")


def reports_dir(settings: Settings, competition: Competition) -> Path:
    """Where a competition's reports are stored."""
    return storage.competition_dir(settings.storage, competition.slug) / "reports"


def get(session: Session, *, team: Team) -> TeamReport | None:
    """The team's report, if uploaded."""
    return session.scalar(select(TeamReport).where(TeamReport.team_id == team.id))


def get_all(session: Session, *, competition: Competition) -> list[TeamReport]:
    """Every report of the competition, oldest first."""
    return list(
        session.scalars(
            select(TeamReport)
            .where(TeamReport.competition_id == competition.id)
            .order_by(TeamReport.id)
        )
    )


def upload(
    session: Session,
    *,
    settings: Settings,
    competition: Competition,
    user: User,
    upload: BinaryIO,
    code_url: str,
) -> TeamReport:
    """Store the caller's team's report (replacing an earlier one) with its code link."""
    team = teams.team_of(session, competition_id=competition.id, user_id=user.id)
    if team is None:
        raise Forbidden(f"only a member of a team of {competition.slug!r} uploads its report")
    if not CODE_URL.fullmatch(code_url):
        raise ValidationFailed(
            "`code_url` must be the http(s) link of your code (a repository or archive), "
            f"at most 500 characters; got {code_url[:100]!r}"
        )
    head = upload.read(len(PDF_MAGIC))
    if head != PDF_MAGIC:
        raise ValidationFailed("the report must be a PDF file (it starts with %PDF-)")
    upload.seek(0)
    path, size = storage.save_stream(
        upload,
        reports_dir(settings, competition),
        suffix=".pdf",
        max_bytes=MAX_REPORT_MB * 1024**2,
    )
    report = get(session, team=team)
    old = Path(report.file_path) if report is not None else None
    if report is None:
        report = TeamReport(competition_id=competition.id, team_id=team.id)
        session.add(report)
    report.file_path, report.size = str(path), size
    report.file_sha256 = storage.sha256_file(path)
    report.code_url, report.uploaded_by_id, report.uploaded_at = code_url, user.id, utcnow()
    session.flush()
    if old is not None and old != path:
        old.unlink(missing_ok=True)
    return report


def get_or_raise(session: Session, *, competition: Competition, team_id: int) -> TeamReport:
    """The report of a team of this competition, or NotFound."""
    report = session.scalar(
        select(TeamReport).where(
            TeamReport.competition_id == competition.id, TeamReport.team_id == team_id
        )
    )
    if report is None:
        raise NotFound(f"team {team_id} has no report in {competition.slug!r}")
    return report

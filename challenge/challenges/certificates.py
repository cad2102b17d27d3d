"""Certificates: issued when a challenge's results are published, verified by their code.

Participants (members of a team in one of the challenge's problem statements), finalists (members of
a nominated team) and winners (members of a team with an award) each get one. A certificate's PDF is
drawn with ReportLab and carries its verification URL, `/certificates/{code}`.
"""

from __future__ import annotations

import io
import secrets

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from challenge.challenges import finals
from challenge.challenges.models import (
    Certificate,
    CertificateKind,
    Challenge,
    ChallengeProblem,
)
from challenge.competitions.models import Competition
from challenge.errors import NotFound
from challenge.teams.models import Team, TeamMember

TITLES = {
    CertificateKind.PARTICIPANT: "Certificate of participation",
    CertificateKind.FINALIST: "Certificate of finalist",
    CertificateKind.WINNER: "Certificate of award",
}


def issue(session: Session, *, challenge: Challenge) -> int:
    """Issue every certificate not issued yet; returns how many were added."""
    wanted: set[tuple[int, CertificateKind, str]] = set()
    rows = session.execute(
        select(TeamMember.user_id, Team.id, Team.name, Competition.title)
        .join(Team, Team.id == TeamMember.team_id)
        .join(Competition, Competition.id == Team.competition_id)
        .join(ChallengeProblem, ChallengeProblem.competition_id == Competition.id)
        .where(ChallengeProblem.challenge_id == challenge.id, Team.is_baseline.is_(False))
    ).all()
    members: dict[int, list[int]] = {}
    labels: dict[int, str] = {}
    for user_id, team_id, team_name, title in rows:
        members.setdefault(team_id, []).append(user_id)
        labels[team_id] = f"team {team_name}, {title}"
        wanted.add((user_id, CertificateKind.PARTICIPANT, labels[team_id]))
    by_finalist = {}
    for finalist in finals.finalists(session, challenge=challenge):
        by_finalist[finalist.id] = finalist.team_id
        for user_id in members.get(finalist.team_id, []):
            wanted.add((user_id, CertificateKind.FINALIST, labels[finalist.team_id]))
    for award in finals.awards_of(session, challenge=challenge):
        team_id = by_finalist[award.finalist_id]
        for user_id in members.get(team_id, []):
            detail = f"{award.name} ({labels[team_id]})"[:300]
            wanted.add((user_id, CertificateKind.WINNER, detail))
    existing = set(
        session.execute(
            select(Certificate.user_id, Certificate.kind, Certificate.detail).where(
                Certificate.challenge_id == challenge.id
            )
        ).all()
    )
    added = 0
    for user_id, kind, detail in sorted(wanted - existing):
        session.add(
            Certificate(
                code=secrets.token_urlsafe(16),
                challenge_id=challenge.id,
                user_id=user_id,
                kind=kind,
                detail=detail[:300],
            )
        )
        added += 1
    session.flush()
    return added


def of_user(session: Session, *, challenge: Challenge, user_id: int) -> list[Certificate]:
    """A user's certificates of a challenge."""
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.challenge_id == challenge.id, Certificate.user_id == user_id)
            .order_by(Certificate.id)
        )
    )


def get_or_raise(session: Session, *, code: str) -> Certificate:
    """The certificate with this code, or NotFound (the verification answer)."""
    certificate = session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        raise NotFound("no certificate has this code: it was not issued by this platform")
    return certificate


def pdf(certificate: Certificate, *, challenge: Challenge, verify_url: str) -> bytes:
    """The certificate as a one-page landscape A4 PDF."""
    buffer = io.BytesIO()
    width, height = landscape(A4)
    page = canvas.Canvas(buffer, pagesize=(width, height))
    page.setTitle(f"{TITLES[certificate.kind]}: {challenge.title}")
    page.setFont("Helvetica-Bold", 28)
    page.drawCentredString(width / 2, height - 4 * cm, TITLES[certificate.kind])
    page.setFont("Helvetica", 16)
    page.drawCentredString(width / 2, height - 6 * cm, "is awarded to")
    page.setFont("Helvetica-Bold", 24)
    page.drawCentredString(width / 2, height - 7.6 * cm, certificate.user.username)
    page.setFont("Helvetica", 14)
    page.drawCentredString(width / 2, height - 9.4 * cm, certificate.detail)
    page.drawCentredString(width / 2, height - 10.6 * cm, challenge.title)
    page.setFont("Helvetica", 10)
    issued = certificate.issued_at.strftime("%Y-%m-%d")
    page.drawCentredString(width / 2, 3 * cm, f"Issued {issued}. Verify at {verify_url}")
    page.showPage()
    page.save()
    return buffer.getvalue()

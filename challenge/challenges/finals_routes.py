"""HTTP routes of the global round (rubric, finalists, jury, scores, ranking, awards) and
certificates."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from challenge.api.deps import CurrentUser, OptionalUser, SessionDep
from challenge.challenges import certificates, finals, service
from challenge.challenges.finals_schemas import (
    AwardRead,
    AwardWrite,
    CertificateRead,
    FinalistRead,
    FinalRubric,
    FinalScoreRead,
    FinalScoreWrite,
    Juror,
    Nomination,
    RankingRead,
    award_read,
    certificate_read,
    finalist_read,
    ranking_read,
)
from challenge.challenges.models import Challenge, Finalist
from challenge.competitions import service as competitions
from challenge.competitions.models import Competition
from challenge.errors import NotFound
from challenge.teams.models import Team

router = APIRouter(prefix="/api/v1", tags=["global round"])


def _finalist(session: Session, finalist: Finalist) -> FinalistRead:
    competition = session.get(Competition, finalist.competition_id)
    team = session.get(Team, finalist.team_id)
    assert competition is not None and team is not None
    return finalist_read(finalist, competition=competition.slug, team_name=team.name)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/challenges/{slug}/rubric", response_model=FinalRubric)
def get_final_rubric(slug: str, session: SessionDep) -> FinalRubric:
    """The jury's rubric."""
    challenge = service.get_or_raise(session, slug=slug)
    if not challenge.final_rubric:
        raise NotFound(f"{slug!r} has no jury rubric yet")
    return FinalRubric.model_validate(challenge.final_rubric)


@router.put("/challenges/{slug}/rubric", response_model=FinalRubric)
def set_final_rubric(
    slug: str, body: FinalRubric, session: SessionDep, user: CurrentUser
) -> FinalRubric:
    """Set the jury's rubric (the organiser)."""
    challenge = service.get_or_raise(session, slug=slug)
    finals.set_rubric(
        session,
        challenge=challenge,
        actor=user,
        criteria=[c.model_dump() for c in body.criteria],
        scale_min=body.scale_min,
        scale_max=body.scale_max,
        instructions=body.instructions,
    )
    return FinalRubric.model_validate(challenge.final_rubric)


@router.get("/challenges/{slug}/finalists", response_model=list[FinalistRead])
def list_finalists(slug: str, session: SessionDep) -> list[FinalistRead]:
    """The finalists."""
    challenge = service.get_or_raise(session, slug=slug)
    return [_finalist(session, f) for f in finals.finalists(session, challenge=challenge)]


@router.post("/challenges/{slug}/finalists", response_model=FinalistRead, status_code=201)
def nominate(slug: str, body: Nomination, session: SessionDep, user: CurrentUser) -> FinalistRead:
    """Nominate a team of a problem statement you host; audited."""
    challenge = service.get_or_raise(session, slug=slug)
    competition = competitions.get_or_raise(session, slug=body.competition)
    finalist = finals.nominate(
        session,
        challenge=challenge,
        actor=user,
        competition=competition,
        team_id=body.team_id,
        presentation_url=body.presentation_url,
    )
    return _finalist(session, finalist)


@router.get("/challenges/{slug}/jury", response_model=list[str])
def list_jury(slug: str, session: SessionDep) -> list[str]:
    """The jury's usernames."""
    challenge = service.get_or_raise(session, slug=slug)
    return [m.user.username for m in finals.jury(session, challenge=challenge)]


@router.post("/challenges/{slug}/jury", response_model=list[str], status_code=201)
def appoint(slug: str, body: Juror, session: SessionDep, user: CurrentUser) -> list[str]:
    """Appoint a juror (the organiser)."""
    challenge = service.get_or_raise(session, slug=slug)
    finals.appoint(session, challenge=challenge, actor=user, username=body.username)
    return [m.user.username for m in finals.jury(session, challenge=challenge)]


@router.post("/challenges/{slug}/final-scores", response_model=FinalScoreRead, status_code=201)
def score_finalist(
    slug: str, body: FinalScoreWrite, session: SessionDep, user: CurrentUser
) -> FinalScoreRead:
    """Score a finalist's presentation (the jury, without a conflict); audited."""
    challenge = service.get_or_raise(session, slug=slug)
    row = finals.score(
        session,
        challenge=challenge,
        juror=user,
        finalist_id=body.finalist_id,
        scores=body.scores,
        comment=body.comment,
    )
    return FinalScoreRead(
        finalist_id=row.finalist_id, scores=row.scores, total=row.total, comment=row.comment
    )


@router.get("/challenges/{slug}/ranking", response_model=RankingRead)
def get_ranking(slug: str, session: SessionDep, user: OptionalUser) -> RankingRead:
    """The global ranking with awards (everyone once published; before: organiser and jury)."""
    challenge = service.get_or_raise(session, slug=slug)
    return ranking_read(challenge, finals.ranking(session, challenge=challenge, user=user))


@router.post("/challenges/{slug}/awards", response_model=AwardRead, status_code=201)
def add_award(slug: str, body: AwardWrite, session: SessionDep, user: CurrentUser) -> AwardRead:
    """Give a prize or an award category to a finalist (the organiser)."""
    challenge = service.get_or_raise(session, slug=slug)
    return award_read(
        finals.add_award(session, challenge=challenge, actor=user, **body.model_dump())
    )


@router.post("/challenges/{slug}/results/publish", response_model=RankingRead)
def publish(slug: str, session: SessionDep, user: CurrentUser) -> RankingRead:
    """Publish the global ranking and awards and issue the certificates (the organiser)."""
    challenge = finals.publish(
        session, challenge=service.get_or_raise(session, slug=slug), actor=user
    )
    return ranking_read(challenge, finals.ranking(session, challenge=challenge, user=user))


@router.get("/challenges/{slug}/certificates/me", response_model=list[CertificateRead])
def my_certificates(
    slug: str, request: Request, session: SessionDep, user: CurrentUser
) -> list[CertificateRead]:
    """The caller's certificates of the challenge."""
    challenge = service.get_or_raise(session, slug=slug)
    return [
        certificate_read(c, challenge=challenge, base_url=_base_url(request))
        for c in certificates.of_user(session, challenge=challenge, user_id=user.id)
    ]


@router.get("/certificates/{code}", response_model=CertificateRead)
def verify(code: str, request: Request, session: SessionDep) -> CertificateRead:
    """Verify a certificate by its code (anyone)."""
    certificate = certificates.get_or_raise(session, code=code)
    challenge = session.get(Challenge, certificate.challenge_id)
    return certificate_read(certificate, challenge=challenge, base_url=_base_url(request))


@router.get("/certificates/{code}/pdf", response_class=Response)
def certificate_pdf(code: str, request: Request, session: SessionDep) -> Response:
    """The certificate as a PDF (anyone with its code)."""
    certificate = certificates.get_or_raise(session, code=code)
    challenge = session.get(Challenge, certificate.challenge_id)
    assert challenge is not None
    content = certificates.pdf(
        certificate, challenge=challenge, verify_url=f"{_base_url(request)}/certificates/{code}"
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{code}.pdf"'},
    )

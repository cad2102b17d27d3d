"""Request and response bodies of the global round and of certificates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from challenge.challenges.models import CertificateKind
from challenge.challenges.rubric_schemas import Criterion
from challenge.competitions.bundle import SLUG_PATTERN

PRESENTATION_URL = r"^(https?://\S+)?$"


class FinalRubric(BaseModel):
    """The jury's rubric for the finalists' presentations."""

    model_config = ConfigDict(extra="forbid")

    criteria: list[Criterion] = Field(min_length=1, max_length=50)
    scale_min: int = Field(default=0, ge=-1000, le=1000)
    scale_max: int = Field(default=10, ge=-1000, le=1000)
    instructions: str = Field(default="", max_length=50_000)


class Nomination(BaseModel):
    """A host nominates a team of their problem statement."""

    model_config = ConfigDict(extra="forbid")

    competition: str = Field(pattern=SLUG_PATTERN)
    team_id: int = Field(ge=1, le=2**31 - 1)
    presentation_url: str = Field(default="", max_length=500, pattern=PRESENTATION_URL)


class FinalistRead(BaseModel):
    """A finalist."""

    id: int
    competition: str
    team_id: int
    team_name: str
    presentation_url: str


class Juror(BaseModel):
    """Appoint a juror."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)


class FinalScoreWrite(BaseModel):
    """A juror's scores of one finalist."""

    model_config = ConfigDict(extra="forbid")

    finalist_id: int = Field(ge=1, le=2**31 - 1)
    scores: dict[str, float] = Field(min_length=1, max_length=50)
    comment: str = Field(default="", max_length=10_000)


class FinalScoreRead(BaseModel):
    """A juror's recorded score."""

    finalist_id: int
    scores: dict[str, float]
    total: float
    comment: str


class AwardWrite(BaseModel):
    """A prize or an award category given to a finalist."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    category: str = Field(default="", max_length=100)
    prize: str = Field(default="", max_length=200)
    finalist_id: int = Field(ge=1, le=2**31 - 1)


class AwardRead(BaseModel):
    """An award."""

    name: str
    category: str
    prize: str
    finalist_id: int


class RankedRead(BaseModel):
    """A finalist's place in the global ranking."""

    rank: int
    finalist_id: int
    competition: str
    team_id: int
    team_name: str
    score: float | None
    jurors: int
    awards: list[AwardRead]


class RankingRead(BaseModel):
    """The global ranking of a challenge."""

    challenge: str
    published_at: datetime | None
    rows: list[RankedRead]


class CertificateRead(BaseModel):
    """A certificate and where to verify it."""

    code: str
    challenge: str
    challenge_title: str
    username: str
    kind: CertificateKind
    detail: str
    issued_at: datetime
    verify_url: str
    pdf: str


def finalist_read(finalist: Any, *, competition: str, team_name: str) -> FinalistRead:
    """A finalist as the API shows it."""
    return FinalistRead(
        id=finalist.id,
        competition=competition,
        team_id=finalist.team_id,
        team_name=team_name,
        presentation_url=finalist.presentation_url,
    )


def award_read(award: Any) -> AwardRead:
    """An award as the API shows it."""
    return AwardRead(
        name=award.name, category=award.category, prize=award.prize, finalist_id=award.finalist_id
    )


def ranking_read(challenge: Any, rows: list[Any]) -> RankingRead:
    """The global ranking (`rows`: `finals.Ranked`)."""
    return RankingRead(
        challenge=challenge.slug,
        published_at=challenge.results_published_at,
        rows=[
            RankedRead(
                rank=r.rank,
                finalist_id=r.finalist.id,
                competition=r.competition.slug,
                team_id=r.team.id,
                team_name=r.team.name,
                score=r.score,
                jurors=r.jurors,
                awards=[award_read(a) for a in r.awards],
            )
            for r in rows
        ],
    )


def certificate_read(certificate: Any, *, challenge: Any, base_url: str) -> CertificateRead:
    """A certificate with its verification URL (`base_url`: the server's, no trailing slash)."""
    return CertificateRead(
        code=certificate.code,
        challenge=challenge.slug,
        challenge_title=challenge.title,
        username=certificate.user.username,
        kind=certificate.kind,
        detail=certificate.detail,
        issued_at=certificate.issued_at,
        verify_url=f"{base_url}/certificates/{certificate.code}",
        pdf=f"/api/v1/certificates/{certificate.code}/pdf",
    )

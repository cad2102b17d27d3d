"""Challenges, organisations, the problem statements of a challenge, registrations, admission."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenge.accounts.models import User
from challenge.competitions.models import StaffRole
from challenge.db.base import Base, utcnow


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Organisation(Base):
    """A host organisation (industry or academia) that submits problem statements."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    logo_url: Mapped[str] = mapped_column(String(500), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[OrganisationMember]] = relationship(
        cascade="all, delete-orphan", order_by="OrganisationMember.id"
    )


class OrganisationMember(Base):
    """A user acting for an organisation: host or judge of its problem statements, no others."""

    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Challenge(Base):
    """An umbrella over problem statements, with a registration window and a final."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    registration_opens_at: Mapped[datetime | None] = mapped_column(default=None)
    registration_closes_at: Mapped[datetime | None] = mapped_column(default=None)
    final_at: Mapped[datetime | None] = mapped_column(default=None)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    final_rubric: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """the jury's rubric: {"criteria": [...], "scale_min", "scale_max", "instructions"}"""
    results_published_at: Mapped[datetime | None] = mapped_column(default=None)
    data_guideline: Mapped[str] = mapped_column(Text, default="")
    """the challenge's data-sharing guideline (Markdown)"""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    problems: Mapped[list[ChallengeProblem]] = relationship(
        cascade="all, delete-orphan", order_by="ChallengeProblem.id"
    )


class ChallengeProblem(Base):
    """A competition as a problem statement of a challenge, hosted by an organisation.

    A competition belongs to at most one challenge. `level` is the Y.3173 intelligence level its
    solution would reach; `data_profile` the Y.3174 data-handling profile of its data.
    """

    __tablename__ = "challenge_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), unique=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True, default=None
    )
    level: Mapped[str] = mapped_column(String(8), default="")
    data_profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class Category(StrEnum):
    """Who a registered participant is."""

    STUDENT = "student"
    PROFESSIONAL = "professional"


class Registration(Base):
    """A participant's one registration to a challenge, valid for all its problem statements."""

    __tablename__ = "challenge_registrations"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    affiliation: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(100))
    category: Mapped[Category] = mapped_column(_enum(Category))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Conditions(Base):
    """What a restricted problem statement asks before a participant may download or submit.

    Empty terms ask nothing; an empty list of countries or affiliations admits any. With manual
    approval, a host of the problem admits each participant from the approval queue.
    """

    __tablename__ = "problem_conditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), unique=True
    )
    terms: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{"countries": [...], "affiliations": [...]}: empty lists admit anyone"""
    manual_approval: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdmissionStatus(StrEnum):
    """Where a participant's request to a restricted problem statement stands."""

    PENDING = "pending"
    ADMITTED = "admitted"
    REFUSED = "refused"


class Admission(Base):
    """A participant's request to take part in a restricted problem statement, and its decision."""

    __tablename__ = "admissions"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[AdmissionStatus] = mapped_column(_enum(AdmissionStatus))
    accepted_terms_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Rubric(Base):
    """How a problem statement's reports are judged, and how that combines with the metric.

    `criteria`: [{"name", "weight", "description"}]; scores are given on `scale_min`..`scale_max`;
    the final standings weigh the metric rank by `metric_weight` and the rubric by 1 minus it.
    """

    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), unique=True
    )
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """{"items": [{"name", "weight", "description"}]}"""
    scale_min: Mapped[int] = mapped_column(default=0)
    scale_max: Mapped[int] = mapped_column(default=10)
    instructions: Mapped[str] = mapped_column(Text, default="")
    metric_weight: Mapped[float] = mapped_column(default=0.5)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RubricJudge(Base):
    """A user assigned to score a problem statement's reports on its rubric."""

    __tablename__ = "rubric_judges"
    __table_args__ = (UniqueConstraint("competition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class TeamReport(Base):
    """A team's report (PDF) and code link for a problem statement."""

    __tablename__ = "team_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    file_path: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(default=0)
    code_url: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class RubricScore(Base):
    """One judge's scores of one team's report, per criterion."""

    __tablename__ = "rubric_scores"
    __table_args__ = (UniqueConstraint("team_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """criterion name -> the score given"""
    total: Mapped[float] = mapped_column(default=0.0)
    """the weighted mean of the scores, scaled to 0..1"""
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    judge: Mapped[User] = relationship(lazy="joined")


class Finalist(Base):
    """A team a host nominated from their problem statement to the challenge's global round."""

    __tablename__ = "finalists"
    __table_args__ = (UniqueConstraint("challenge_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    presentation_url: Mapped[str] = mapped_column(String(500), default="")
    nominated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JuryMember(Base):
    """A member of a challenge's jury, who scores the finalists' presentations."""

    __tablename__ = "jury_members"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class FinalScore(Base):
    """One juror's scores of one finalist on the challenge's rubric."""

    __tablename__ = "final_scores"
    __table_args__ = (UniqueConstraint("finalist_id", "juror_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    finalist_id: Mapped[int] = mapped_column(ForeignKey("finalists.id", ondelete="CASCADE"))
    juror_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[float] = mapped_column(default=0.0)
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Award(Base):
    """A prize or award category of a challenge, given to a finalist."""

    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), default="")
    prize: Mapped[str] = mapped_column(String(200), default="")
    finalist_id: Mapped[int] = mapped_column(ForeignKey("finalists.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificateKind(StrEnum):
    """What a certificate attests."""

    PARTICIPANT = "participant"
    FINALIST = "finalist"
    WINNER = "winner"


class Certificate(Base):
    """A certificate issued when a challenge's results are published; `code` verifies it."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id", "kind", "detail"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CertificateKind] = mapped_column(_enum(CertificateKind))
    detail: Mapped[str] = mapped_column(String(300), default="")
    """the team and problem statement, or the award"""
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class MarketModel(Base):
    """A team's final model published to the marketplace (after ITU-T Y.3176), with its licence."""

    __tablename__ = "market_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(64))
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    unpublished_at: Mapped[datetime | None] = mapped_column(default=None)
    downloads: Mapped[int] = mapped_column(default=0)


class Announcement(Base):
    """News for a challenge's participants, or for one of its problem statements."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    competition_id: Mapped[int | None] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """A webinar or other event of a challenge (or of one of its problem statements)."""

    __tablename__ = "challenge_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    competition_id: Mapped[int | None] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(32), default="webinar")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    link_url: Mapped[str] = mapped_column(String(500), default="")
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

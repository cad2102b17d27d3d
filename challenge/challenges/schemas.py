"""Request and response bodies of challenges, organisations and registrations."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from challenge.challenges.models import AdmissionStatus, Category
from challenge.competitions.bundle import SLUG_PATTERN
from challenge.competitions.models import StaffRole

URL_PATTERN = r"^(https?://\S+)?$"
LEVEL_PATTERN = r"^L[0-5]$"


class DataProfile(BaseModel):
    """The Y.3174 data-handling profile of a problem statement's data."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=300, description="where the data comes from")
    nature: Literal["synthetic", "real", "mixed"]
    sharing: str = Field(
        default="", max_length=1000, description="the terms under which the data is shared"
    )


class OrganisationCreate(BaseModel):
    """A host organisation (`slug` defaults to one made from the name)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    slug: str = Field(default="", pattern=f"({SLUG_PATTERN})|^$")
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    logo_url: str = Field(
        default="",
        max_length=500,
        pattern=URL_PATTERN,
        validation_alias=AliasChoices("logo_url", "logo"),
    )
    website: str = Field(default="", max_length=500, pattern=URL_PATTERN)
    contact_email: str = Field(default="", max_length=320, pattern=r"^([^@\s]+@[^@\s]+)?$")

    @model_validator(mode="after")
    def _slug(self) -> OrganisationCreate:
        if not self.slug:
            made = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:64].strip("-")
            if not re.fullmatch(SLUG_PATTERN, made):
                raise ValueError("give a `slug` (lower-case letters, digits and dashes)")
            self.slug = made
        return self


class MemberCreate(BaseModel):
    """Add a user to an organisation as host or judge of its problem statements."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: StaffRole


class MemberRead(BaseModel):
    """A member of an organisation."""

    username: str
    role: StaffRole


class OrganisationRead(BaseModel):
    """An organisation with its contacts and members."""

    slug: str
    name: str
    country: str
    region: str
    logo_url: str
    website: str
    contact_email: str
    members: list[MemberRead]


def organisation_read(organisation: Any) -> OrganisationRead:
    """An organisation as the API shows it."""
    return OrganisationRead(
        slug=organisation.slug,
        name=organisation.name,
        country=organisation.country,
        region=organisation.region,
        logo_url=organisation.logo_url,
        website=organisation.website,
        contact_email=organisation.contact_email,
        members=[MemberRead(username=m.user.username, role=m.role) for m in organisation.members],
    )


class ChallengeCreate(BaseModel):
    """A challenge: an umbrella over problem statements."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=100_000)
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    final_at: AwareDatetime | None = None


class ProblemAttach(BaseModel):
    """Add a competition to a challenge as a problem statement of an organisation."""

    model_config = ConfigDict(extra="forbid")

    competition: str = Field(pattern=SLUG_PATTERN)
    organisation: str | None = Field(default=None, pattern=SLUG_PATTERN)
    level: str | None = Field(
        default=None, pattern=LEVEL_PATTERN, description="Y.3173 intelligence level, L0 to L5"
    )
    data_profile: DataProfile | None = None


class OrganisationBrief(BaseModel):
    """An organisation as a problem statement names it."""

    slug: str
    name: str
    country: str
    region: str
    logo_url: str


class ProblemRead(BaseModel):
    """A problem statement of a challenge."""

    competition: str
    title: str
    organisation: OrganisationBrief | None
    level: str
    data_profile: dict[str, Any]


class MilestoneRead(BaseModel):
    """A dated step of the challenge."""

    at: datetime
    label: str


class StatisticsRead(BaseModel):
    """How big a challenge is."""

    problems: int
    organisations: int
    registered: int
    teams: int
    people: int
    countries: int
    submissions: int


class ChallengeSummary(BaseModel):
    """A challenge in a list."""

    slug: str
    title: str
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    final_at: datetime | None
    created_at: datetime


class ChallengeRead(ChallengeSummary):
    """A challenge's page: problem statements by organisation and region, timeline, statistics."""

    description: str
    problems: list[ProblemRead]
    regions: dict[str, list[str]]
    """region -> the slugs of the organisations hosting problems there"""
    timeline: list[MilestoneRead]
    statistics: StatisticsRead


def organisation_brief(organisation: Any) -> OrganisationBrief | None:
    """The organisation's name and place, or None."""
    if organisation is None:
        return None
    return OrganisationBrief(
        slug=organisation.slug,
        name=organisation.name,
        country=organisation.country,
        region=organisation.region,
        logo_url=organisation.logo_url,
    )


def problem_read(row: Any) -> ProblemRead:
    """A problem statement as the API shows it (`row`: a `service.ProblemRow`)."""
    return ProblemRead(
        competition=row.competition.slug,
        title=row.competition.title,
        organisation=organisation_brief(row.problem.organisation),
        level=row.problem.level,
        data_profile=row.problem.data_profile,
    )


def challenge_summary(challenge: Any) -> ChallengeSummary:
    """A challenge in a list."""
    return ChallengeSummary(
        slug=challenge.slug,
        title=challenge.title,
        registration_opens_at=challenge.registration_opens_at,
        registration_closes_at=challenge.registration_closes_at,
        final_at=challenge.final_at,
        created_at=challenge.created_at,
    )


class RegistrationCreate(BaseModel):
    """A participant's profile for a challenge."""

    model_config = ConfigDict(extra="forbid")

    affiliation: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=100)
    category: Category


class RegistrationRead(BaseModel):
    """A registration to a challenge."""

    challenge: str
    username: str
    affiliation: str
    country: str
    category: Category
    created_at: datetime


def challenge_read(overview: Any) -> ChallengeRead:
    """A challenge's page as the API shows it (`overview`: a `service.Overview`)."""
    challenge = overview.challenge
    return ChallengeRead(
        **challenge_summary(challenge).model_dump(),
        description=challenge.description,
        problems=[problem_read(row) for row in overview.problems],
        regions={
            region: [g.organisation.slug for g in groups if g.organisation is not None]
            for region, groups in overview.regions.items()
        },
        timeline=[MilestoneRead(at=m.at, label=m.label) for m in overview.timeline],
        statistics=StatisticsRead(**vars(overview.statistics)),
    )


def registration_read(registration: Any, *, challenge: str) -> RegistrationRead:
    """A registration as the API shows it."""
    return RegistrationRead(
        challenge=challenge,
        username=registration.user.username,
        affiliation=registration.affiliation,
        country=registration.country,
        category=registration.category,
        created_at=registration.created_at,
    )


class ConditionsWrite(BaseModel):
    """What a restricted problem statement asks; all empty and false lifts the restriction."""

    model_config = ConfigDict(extra="forbid")

    terms: str = Field(
        default="", max_length=50_000, description="data-sharing terms to accept (Markdown)"
    )
    countries: list[Annotated[str, Field(min_length=2, max_length=100)]] = Field(
        default_factory=list, max_length=300, description="eligible countries; empty: any"
    )
    affiliations: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=1000, description="eligible affiliations; empty: any"
    )
    manual_approval: bool = False


class ConditionsRead(ConditionsWrite):
    """A problem statement's conditions, and whether it is restricted at all."""

    restricted: bool


def conditions_read(conditions: Any, *, restricted: bool) -> ConditionsRead:
    """The conditions as the API shows them (None: open to everyone)."""
    if conditions is None:
        return ConditionsRead(restricted=False)
    return ConditionsRead(
        terms=conditions.terms,
        countries=conditions.eligibility.get("countries", []),
        affiliations=conditions.eligibility.get("affiliations", []),
        manual_approval=conditions.manual_approval,
        restricted=restricted,
    )


class AdmissionRequest(BaseModel):
    """A participant asks to take part in a restricted problem statement."""

    model_config = ConfigDict(extra="forbid")

    accept_terms: bool = False


class AdmissionDecision(BaseModel):
    """A host admits or refuses a request."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["admit", "refuse"]
    reason: str = Field(default="", max_length=2000)


class AdmissionRead(BaseModel):
    """A request and where it stands."""

    username: str
    status: AdmissionStatus
    reason: str
    accepted_terms_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


def admission_read(admission: Any) -> AdmissionRead:
    """A request as the API shows it."""
    return AdmissionRead(
        username=admission.user.username,
        status=admission.status,
        reason=admission.reason,
        accepted_terms_at=admission.accepted_terms_at,
        decided_by=admission.decided_by.username if admission.decided_by else None,
        decided_at=admission.decided_at,
        created_at=admission.created_at,
    )

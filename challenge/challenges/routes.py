"""HTTP routes of challenges, organisations and registrations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from challenge.api.deps import CurrentUser, SessionDep
from challenge.challenges import admission, organisations, registration, service
from challenge.challenges.models import AdmissionStatus
from challenge.challenges.schemas import (
    AdmissionDecision,
    AdmissionRead,
    AdmissionRequest,
    ChallengeCreate,
    ChallengeRead,
    ChallengeSummary,
    ConditionsRead,
    ConditionsWrite,
    MemberCreate,
    MemberRead,
    OrganisationCreate,
    OrganisationRead,
    ProblemAttach,
    ProblemRead,
    RegistrationCreate,
    RegistrationRead,
    admission_read,
    challenge_read,
    challenge_summary,
    conditions_read,
    organisation_read,
    problem_read,
    registration_read,
)
from challenge.competitions import service as competitions
from challenge.errors import Forbidden, NotFound

router = APIRouter(prefix="/api/v1", tags=["challenges"])
UPDATED: dict[int | str, dict[str, Any]] = {200: {"description": "it existed; now updated"}}


@router.get("/challenges", response_model=list[ChallengeSummary])
def list_challenges(session: SessionDep) -> list[ChallengeSummary]:
    """Every challenge."""
    return [challenge_summary(c) for c in service.get_all(session)]


@router.post("/challenges", response_model=ChallengeRead, status_code=201)
def create_challenge(
    body: ChallengeCreate, session: SessionDep, user: CurrentUser
) -> ChallengeRead:
    """Create a challenge that groups problem statements of several organisations (hosts)."""
    challenge = service.create(session, actor=user, **body.model_dump())
    return challenge_read(service.overview(session, challenge=challenge))


@router.get("/challenges/{slug}", response_model=ChallengeRead)
def get_challenge(slug: str, session: SessionDep) -> ChallengeRead:
    """Problem statements by organisation and region, the timeline and the statistics."""
    challenge = service.get_or_raise(session, slug=slug)
    return challenge_read(service.overview(session, challenge=challenge))


@router.post("/challenges/{slug}/problems", response_model=ProblemRead, status_code=201)
def attach_problem(
    slug: str, body: ProblemAttach, session: SessionDep, user: CurrentUser
) -> ProblemRead:
    """Add a competition to the challenge as a problem statement of an organisation."""
    competition = competitions.get_or_raise(session, slug=body.competition)
    problem = service.attach(
        session,
        competition=competition,
        actor=user,
        challenge_slug=slug,
        organisation_slug=body.organisation,
        level=body.level,
        data_profile=None if body.data_profile is None else body.data_profile.model_dump(),
    )
    return problem_read(service.ProblemRow(problem, competition))


@router.post(
    "/challenges/{slug}/registrations",
    response_model=RegistrationRead,
    status_code=201,
    responses=UPDATED,
)
def register(
    slug: str, body: RegistrationCreate, session: SessionDep, user: CurrentUser, response: Response
) -> RegistrationRead:
    """Register to the challenge once (or update the profile), for all its problem statements."""
    challenge = service.get_or_raise(session, slug=slug)
    entry, created = registration.register(
        session, challenge=challenge, user=user, **body.model_dump()
    )
    if not created:
        response.status_code = 200
    return registration_read(entry, challenge=slug)


@router.get("/challenges/{slug}/registrations/me", response_model=RegistrationRead)
def my_registration(slug: str, session: SessionDep, user: CurrentUser) -> RegistrationRead:
    """The caller's registration to the challenge."""
    challenge = service.get_or_raise(session, slug=slug)
    entry = registration.get(session, challenge=challenge, user=user)
    if entry is None:
        raise NotFound(f"you are not registered to {slug!r}")
    return registration_read(entry, challenge=slug)


@router.get("/challenges/{slug}/registrations", response_model=list[RegistrationRead])
def list_registrations(slug: str, session: SessionDep, user: CurrentUser) -> list[RegistrationRead]:
    """Every registration (the challenge's organisers and admins)."""
    challenge = service.get_or_raise(session, slug=slug)
    if not service.is_organiser(user, challenge):
        raise Forbidden(f"only the organiser of {slug!r} or an admin sees its registrations")
    entries = registration.get_all(session, challenge=challenge)
    return [registration_read(r, challenge=slug) for r in entries]


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(session: SessionDep) -> list[OrganisationRead]:
    """Every organisation."""
    return [organisation_read(o) for o in organisations.get_all(session)]


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(
    body: OrganisationCreate, session: SessionDep, user: CurrentUser
) -> OrganisationRead:
    """Create a host organisation (hosts, admins); its creator becomes its first host."""
    return organisation_read(organisations.create(session, actor=user, **body.model_dump()))


@router.get("/organisations/{slug}", response_model=OrganisationRead)
def get_organisation(slug: str, session: SessionDep) -> OrganisationRead:
    """An organisation with its contacts and members."""
    return organisation_read(organisations.get_or_raise(session, slug=slug))


@router.post(
    "/organisations/{slug}/members", response_model=MemberRead, status_code=201, responses=UPDATED
)
def add_member(
    slug: str, body: MemberCreate, session: SessionDep, user: CurrentUser, response: Response
) -> MemberRead:
    """Add a host or judge: rights on this organisation's problem statements only."""
    organisation = organisations.get_or_raise(session, slug=slug)
    member, created = organisations.add_member(
        session, organisation=organisation, actor=user, username=body.username, role=body.role
    )
    if not created:
        response.status_code = 200
    return MemberRead(username=member.user.username, role=member.role)


@router.delete("/organisations/{slug}/members/{username}", status_code=204)
def remove_member(slug: str, username: str, session: SessionDep, user: CurrentUser) -> None:
    """Take a member off the organisation (it keeps at least one host)."""
    organisation = organisations.get_or_raise(session, slug=slug)
    organisations.remove_member(session, organisation=organisation, actor=user, username=username)


@router.get("/competitions/{slug}/conditions", response_model=ConditionsRead)
def get_conditions(slug: str, session: SessionDep) -> ConditionsRead:
    """What a problem statement asks before its data and submissions are open to a participant."""
    competition = competitions.get_or_raise(session, slug=slug)
    conditions = admission.conditions_of(session, competition=competition)
    return conditions_read(conditions, restricted=admission.is_restricted(conditions))


@router.put("/competitions/{slug}/conditions", response_model=ConditionsRead)
def set_conditions(
    slug: str, body: ConditionsWrite, session: SessionDep, user: CurrentUser
) -> ConditionsRead:
    """Restrict a problem statement (its hosts): terms, eligibility, manual approval; audited."""
    competition = competitions.get_or_raise(session, slug=slug)
    conditions = admission.set_conditions(
        session, competition=competition, actor=user, **body.model_dump()
    )
    return conditions_read(conditions, restricted=admission.is_restricted(conditions))


@router.post("/competitions/{slug}/admission", response_model=AdmissionRead)
def request_admission(
    slug: str, body: AdmissionRequest, session: SessionDep, user: CurrentUser
) -> AdmissionRead:
    """Ask to take part: admitted, queued for a host's approval, or refused with the reason."""
    competition = competitions.get_or_raise(session, slug=slug)
    return admission_read(
        admission.request(
            session, competition=competition, user=user, accept_terms=body.accept_terms
        )
    )


@router.get("/competitions/{slug}/admission", response_model=AdmissionRead)
def my_admission(slug: str, session: SessionDep, user: CurrentUser) -> AdmissionRead:
    """Where the caller's request stands."""
    competition = competitions.get_or_raise(session, slug=slug)
    found = admission.get(session, competition=competition, user=user)
    if found is None:
        raise NotFound(f"you have not asked to take part in {slug!r}")
    return admission_read(found)


@router.get("/competitions/{slug}/admissions", response_model=list[AdmissionRead])
def list_admissions(
    slug: str,
    session: SessionDep,
    user: CurrentUser,
    status: AdmissionStatus | None = Query(default=None),
) -> list[AdmissionRead]:
    """The requests (its staff); `?status=pending` is the approval queue."""
    competition = competitions.get_or_raise(session, slug=slug)
    found = admission.get_all(session, competition=competition, actor=user, status=status)
    return [admission_read(a) for a in found]


@router.post("/competitions/{slug}/admissions/{username}", response_model=AdmissionRead)
def decide_admission(
    slug: str, username: str, body: AdmissionDecision, session: SessionDep, user: CurrentUser
) -> AdmissionRead:
    """Admit or refuse a request (its hosts; a refusal says why); audited."""
    competition = competitions.get_or_raise(session, slug=slug)
    decided = admission.decide(
        session,
        competition=competition,
        actor=user,
        username=username,
        admit=body.decision == "admit",
        reason=body.reason,
    )
    return admission_read(decided)

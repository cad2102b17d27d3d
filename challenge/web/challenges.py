"""Challenge pages: the list, a challenge's problems by region and organisation, registration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import SessionDep
from challenge.challenges import (
    admission,
    certificates,
    finals,
    news,
    organisations,
    registration,
    service,
)
from challenge.challenges.models import Challenge
from challenge.challenges.schemas import RegistrationCreate
from challenge.competitions.staff import can_manage
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn, WebUser

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


@router.get("/challenges")
def challenges_page(request: Request, session: SessionDep, user: WebUser) -> Response:
    """Every challenge."""
    return render(request, "challenges.html", user=user, challenges=service.get_all(session))


def _page(
    request: Request,
    session: SessionDep,
    user: User | None,
    challenge: Challenge,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    ranking = (
        finals.ranking(session, challenge=challenge, user=user)
        if finals.can_see_ranking(session, challenge=challenge, user=user)
        else None
    )
    return render(
        request,
        "challenge.html",
        user=user,
        overview=service.overview(session, challenge=challenge),
        announcements=news.announcements(session, challenge=challenge),
        events=news.events(session, challenge=challenge),
        finalists=finals.finalists(session, challenge=challenge),
        ranking=ranking,
        certificates=[]
        if user is None
        else certificates.of_user(session, challenge=challenge, user_id=user.id),
        registration=None
        if user is None
        else registration.get(session, challenge=challenge, user=user),
        registered=request.query_params.get("done") == "registered",
        posts_to=_posts_to(session, user, challenge),
        error=error,
        status_code=status_code,
    )


def _posts_to(session: SessionDep, user: User | None, challenge: Challenge) -> list[str] | None:
    """Where the user may post: "" (the whole challenge) and problem slugs; None: nowhere."""
    if user is None:
        return None
    places = [""] if service.is_organiser(user, challenge) else []
    for row in service.problems(session, challenge=challenge):
        if places or can_manage(user, row.competition):
            places.append(row.competition.slug)
    return places or None


@router.get("/challenges/{slug}")
def challenge_page(slug: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """Problem statements by region and organisation, the timeline, statistics, registration."""
    return _page(request, session, user, service.get_or_raise(session, slug=slug))


@router.post("/challenges/{slug}/register", dependencies=[CSRF])
def register(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    affiliation: Annotated[str, Form(max_length=200)],
    country: Annotated[str, Form(max_length=100)],
    category: Annotated[str, Form(max_length=16)],
) -> Response:
    """Register to the challenge (or update the profile)."""
    challenge = service.get_or_raise(session, slug=slug)
    try:
        body = RegistrationCreate.model_validate(
            {"affiliation": affiliation.strip(), "country": country.strip(), "category": category}
        )
        registration.register(session, challenge=challenge, user=user, **body.model_dump())
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        page = _page(request, session, user, challenge, error=message, status_code=422)
        raise PageError(page) from exc
    except PlatformError as exc:
        page = _page(
            request, session, user, challenge, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/challenges/{slug}?done=registered", status_code=303)


@router.get("/organisations/{slug}")
def organisation_page(slug: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """An organisation: where it is, its contacts, its members."""
    organisation = organisations.get_or_raise(session, slug=slug)
    return render(request, "organisation.html", user=user, organisation=organisation)


@router.get("/challenges/{slug}/data-sharing")
def guideline_page(slug: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """The challenge's data-sharing guideline and each problem statement's terms."""
    challenge = service.get_or_raise(session, slug=slug)
    terms = []
    for row in service.problems(session, challenge=challenge):
        conditions = admission.conditions_of(session, competition=row.competition)
        if admission.is_restricted(conditions):
            terms.append((row, conditions))
    return render(request, "data_sharing.html", user=user, challenge=challenge, terms=terms)


@router.get("/certificates/{code}")
def certificate_page(code: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """Verify a certificate: who, what, which challenge, when."""
    certificate = certificates.get_or_raise(session, code=code)
    challenge = session.get(Challenge, certificate.challenge_id)
    return render(
        request,
        "certificate.html",
        user=user,
        certificate=certificate,
        challenge=challenge,
        title=certificates.TITLES[certificate.kind],
    )


@router.post("/challenges/{slug}/announce", dependencies=[CSRF])
def announce(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    body: Annotated[str, Form(max_length=50_000)] = "",
    competition: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Post an announcement (the organiser; a host for their problem statement)."""
    challenge = service.get_or_raise(session, slug=slug)
    try:
        news.announce(
            session,
            challenge=challenge,
            actor=user,
            title=title.strip(),
            body=body,
            competition_slug=competition or None,
        )
    except PlatformError as exc:
        page = _page(
            request, session, user, challenge, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/challenges/{slug}#news-h", status_code=303)


@router.post("/challenges/{slug}/events", dependencies=[CSRF])
def add_event(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    starts_at: Annotated[str, Form(max_length=40)],
    link_url: Annotated[str, Form(max_length=500)] = "",
    kind: Annotated[str, Form(max_length=16)] = "webinar",
    competition: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Schedule an event; `starts_at` is a UTC date and time (the form's local input)."""
    challenge = service.get_or_raise(session, slug=slug)
    try:
        fields = EventFields.model_validate(
            {
                "title": title.strip(),
                "starts_at": starts_at,
                "link_url": link_url.strip(),
                "kind": kind,
            }
        )
        news.add_event(
            session,
            challenge=challenge,
            actor=user,
            competition_slug=competition or None,
            description="",
            recording_url="",
            **fields.model_dump(),
        )
    except ValidationError as exc:
        message = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        page = _page(request, session, user, challenge, error=message, status_code=422)
        raise PageError(page) from exc
    except PlatformError as exc:
        page = _page(
            request, session, user, challenge, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/challenges/{slug}#events-h", status_code=303)


class EventFields(BaseModel):
    """The event form's fields, validated as the API validates them (times in UTC)."""

    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    link_url: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")
    kind: Literal["webinar", "workshop", "ceremony", "meeting"] = "webinar"

    @field_validator("starts_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

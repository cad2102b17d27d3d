"""Challenge pages: the list, a challenge's problems by region and organisation, registration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
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
        error=error,
        status_code=status_code,
    )


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

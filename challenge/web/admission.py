"""Restricted problem statements on the web: a participant's request, the host's approval queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import User
from challenge.api.deps import SessionDep
from challenge.challenges import admission
from challenge.challenges.models import AdmissionStatus
from challenge.competitions import service as competitions
from challenge.competitions import staff as staff_rules
from challenge.competitions.models import Competition
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _queue(
    request: Request,
    session: SessionDep,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    requests = admission.get_all(session, competition=competition, actor=user, status=None)
    return render(
        request,
        "admissions.html",
        user=user,
        competition=competition,
        conditions=admission.conditions_of(session, competition=competition),
        pending=[a for a in requests if a.status is AdmissionStatus.PENDING],
        decided=[a for a in requests if a.status is not AdmissionStatus.PENDING],
        manager=staff_rules.can_manage(user, competition),
        error=error,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/admissions")
def queue_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """The approval queue and the decisions taken (the competition's staff)."""
    return _queue(request, session, user, competitions.get_or_raise(session, slug=slug))


@router.post("/competitions/{slug}/admissions/{username}", dependencies=[CSRF])
def decide(
    slug: str,
    username: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    decision: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Admit or refuse one request."""
    competition = competitions.get_or_raise(session, slug=slug)
    try:
        admission.decide(
            session,
            competition=competition,
            actor=user,
            username=username,
            admit=decision == "admit",
            reason=reason,
        )
    except PlatformError as exc:
        page = _queue(
            request, session, user, competition, error=exc.message, status_code=exc.status_code
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{slug}/admissions", status_code=303)


@router.post("/competitions/{slug}/admission", dependencies=[CSRF])
def ask(
    slug: str,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    accept_terms: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A participant asks to take part; the competition page shows the outcome."""
    competition = competitions.get_or_raise(session, slug=slug)
    try:
        admission.request(
            session, competition=competition, user=user, accept_terms=accept_terms == "yes"
        )
    except PlatformError as exc:
        return RedirectResponse(
            f"/competitions/{slug}?admission_error={exc.code}#access-h", status_code=303
        )
    return RedirectResponse(f"/competitions/{slug}#access-h", status_code=303)

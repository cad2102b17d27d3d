"""Host pages: create a competition (built-in problem or bundle zip) and edit its phases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from challenge.accounts.models import Role, User
from challenge.accounts.service import require_role
from challenge.api.deps import RowId, SessionDep, SettingsDep
from challenge.api.forms import form_file, form_text, upload_form
from challenge.competitions import phases as phase_rules
from challenge.competitions import service as competitions
from challenge.competitions.bundle import SLUG_PATTERN, format_validation_error
from challenge.competitions.models import Competition
from challenge.competitions.schemas import CompetitionCreate
from challenge.competitions.staff import require_manager
from challenge.config import Settings
from challenge.errors import BadRequest, PlatformError, ValidationFailed
from challenge.problems import list_problems
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, CSRF_FIELD, LoggedIn, check_form_token

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _new_page(
    request: Request, user: User, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "host_new.html",
        user=user,
        problems=list_problems(),
        error=error,
        status_code=status_code,
    )


@router.get("/host/competitions/new")
def new_competition_page(request: Request, user: LoggedIn) -> Response:
    """The two ways to create a competition."""
    require_role(user, Role.HOST)
    return _new_page(request, user)


@router.post("/host/competitions/problem", dependencies=[CSRF])
def create_from_problem(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    problem: Annotated[str, Form(max_length=64)],
    slug: Annotated[str, Form(max_length=64)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    seed: Annotated[str, Form(max_length=12)] = "0",
    baseline: Annotated[bool, Form()] = False,
) -> Response:
    """Create a competition from a built-in problem's simulator."""
    require_role(user, Role.HOST)
    try:
        body = CompetitionCreate(
            problem=problem,
            slug=slug.strip() or None,
            title=title.strip() or None,
            seed=int(seed or 0) if (seed or "0").isdigit() else -1,
            baseline=baseline,
        )
        competition, _ = competitions.create_from_problem(
            session,
            settings=settings,
            owner=user,
            problem_id=body.problem,
            slug=body.slug,
            title=body.title,
            seed=body.seed,
            with_baseline=body.baseline,
        )
    except ValidationError as exc:
        message = format_validation_error(exc, "form")
        raise PageError(_new_page(request, user, error=message, status_code=422)) from exc
    except PlatformError as exc:
        page = _new_page(request, user, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{competition.slug}", status_code=303)


@router.post("/host/competitions/bundle")
async def create_from_bundle(
    request: Request, session: SessionDep, settings: SettingsDep, user: LoggedIn
) -> Response:
    """Create a competition from an uploaded host bundle zip (read once the host is known)."""
    require_role(user, Role.HOST)
    async with upload_form(request, file_field="bundle") as form:
        check_form_token(request, settings, form_text(form, CSRF_FIELD, max_length=128))
        bundle = form_file(form, "bundle")
        dry_run = form_text(form, "dry_run", default="", max_length=8) == "true"
        slug = form_text(form, "slug", max_length=64).strip() or None
        competition = await run_in_threadpool(
            _create_from_zip, request, session, settings, user, bundle, slug, dry_run
        )
    return RedirectResponse(f"/competitions/{competition.slug}", status_code=303)


def _create_from_zip(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    bundle: UploadFile | None,
    slug: str | None,
    dry_run: bool = False,
) -> Competition:
    try:
        if bundle is None:
            raise ValidationFailed("choose the bundle zip to upload")
        if slug is not None and not re.fullmatch(SLUG_PATTERN, slug):
            raise ValidationFailed(
                f"slug {slug!r}: 3 to 64 lowercase letters, digits and dashes, not starting or "
                "ending with a dash"
            )
        competition, _ = competitions.create_from_zip(
            session,
            settings=settings,
            owner=user,
            upload=bundle.file,
            slug=slug,
            dry_run=dry_run,
        )
    except PlatformError as exc:
        page = _new_page(request, user, error=exc.message, status_code=exc.status_code)
        raise PageError(page) from exc
    return competition


def _phases_page(
    request: Request,
    user: User,
    competition: Competition,
    *,
    error: str | None = None,
    error_phase: int | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "host_phases.html",
        user=user,
        competition=competition,
        error=error,
        error_phase=error_phase,
        status_code=status_code,
    )


@router.get("/competitions/{slug}/phases")
def phases_page(slug: str, request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """A form per phase: dates (UTC) and per-team limits."""
    competition = competitions.get_or_raise(session, slug=slug)
    require_manager(user, competition)
    return _phases_page(request, user, competition)


def parse_utc(value: str, *, field: str) -> datetime | None:
    """A `datetime-local` value read as UTC; empty means none."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadRequest(f"{field}: {value!r} is not a date and time (YYYY-MM-DDTHH:MM)") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.post("/competitions/{slug}/phases/{phase_id}", dependencies=[CSRF])
def update_phase(
    slug: str,
    phase_id: RowId,
    request: Request,
    session: SessionDep,
    user: LoggedIn,
    start_at: Annotated[str, Form(max_length=40)],
    max_per_day: Annotated[int, Form(ge=0, le=1_000_000)],
    max_total: Annotated[int, Form(ge=0, le=1_000_000)],
    max_pending: Annotated[int, Form(ge=0, le=1_000_000)],
    end_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Save one phase's dates and limits."""
    competition = competitions.get_or_raise(session, slug=slug)
    phase = phase_rules.get_or_raise(competition, phase_id=phase_id)
    try:
        start = parse_utc(start_at, field="start")
        if start is None:
            raise BadRequest("start: a phase needs a start date")
        change = phase_rules.PhaseChange(
            start_at=start,
            end_at=parse_utc(end_at, field="end"),
            max_per_day=max_per_day,
            max_total=max_total,
            max_pending=max_pending,
        )
        phase_rules.update(session, competition=competition, phase=phase, user=user, change=change)
    except PlatformError as exc:
        page = _phases_page(
            request,
            user,
            competition,
            error=exc.message,
            error_phase=phase_id,
            status_code=exc.status_code,
        )
        raise PageError(page) from exc
    return RedirectResponse(f"/competitions/{slug}/phases?saved={phase_id}", status_code=303)

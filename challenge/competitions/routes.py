"""HTTP routes of competitions."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import ValidationError

from challenge.accounts.models import Role
from challenge.accounts.service import require_role
from challenge.api.deps import CurrentUser, OptionalUser, PageDep, SessionDep, SettingsDep
from challenge.api.forms import form_file, form_text, upload_form
from challenge.challenges import admission
from challenge.competitions import lifecycle, service, staff
from challenge.competitions.bundle import SLUG_PATTERN, format_validation_error
from challenge.competitions.schemas import (
    CompetitionClone,
    CompetitionCreate,
    CompetitionRead,
    CompetitionSummary,
    CompetitionUpdate,
    StaffCreate,
    StaffRead,
    competition_read,
    competition_summary,
    staff_read,
)
from challenge.errors import BadRequest, ValidationFailed

router = APIRouter(prefix="/api/v1/competitions", tags=["competitions"])

CREATE_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": CompetitionCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "bundle": {"type": "string", "format": "binary"},
                        "dry_run": {
                            "type": "boolean",
                            "description": "run the bundle's own programs on its sample "
                            "submission first; a failure refuses the bundle with their logs",
                        },
                    },
                    "required": ["bundle"],
                }
            },
        },
        "required": True,
    }
}


@router.get(
    "",
    response_model=list[CompetitionSummary],
    responses={200: {"headers": {"X-Total-Count": {"description": "competitions that match"}}}},
)
def list_competitions(
    session: SessionDep,
    user: OptionalUser,
    paging: PageDep,
    response: Response,
    q: Annotated[str, Query(max_length=100, description="part of the slug or title")] = "",
) -> list[CompetitionSummary]:
    """The competitions the caller may see (drafts: their staff only), newest first, one page;
    the `X-Total-Count` header says how many match."""
    shown, total = lifecycle.search_visible(
        session, user=user, query=q, offset=paging.offset, limit=paging.per_page
    )
    paging.headers(response, total)
    return [CompetitionSummary(**competition_summary(c)) for c in shown]


@router.post("", response_model=CompetitionRead, status_code=201, openapi_extra=CREATE_BODY)
async def create_competition(
    request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> CompetitionRead:
    """Create a competition from a built-in problem (JSON) or a host bundle zip (multipart)."""
    require_role(user, Role.HOST)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with upload_form(request, file_field="bundle") as form:
            bundle = form_file(form, "bundle")
            if bundle is None:
                raise BadRequest(
                    "multipart upload needs a file field `bundle` (a zip of the bundle)"
                )
            dry_run = form_text(form, "dry_run", default="false", max_length=8).lower()
            if dry_run not in ("true", "false", "1", "0", "on", ""):
                raise ValidationFailed("dry_run: expected true or false")
            slug = form_text(form, "slug", max_length=64) or None
            if slug is not None and not re.fullmatch(SLUG_PATTERN, slug):
                raise ValidationFailed(
                    f"slug {slug!r}: 3 to 64 lowercase letters, digits and dashes, not starting "
                    "or ending with a dash"
                )
            competition, _ = await run_in_threadpool(
                service.create_from_zip,
                session,
                settings=settings,
                owner=user,
                upload=bundle.file,
                dry_run=dry_run in ("true", "1", "on"),
                slug=slug,
            )
        return competition_read(competition)
    if not content_type.startswith("application/json"):
        raise BadRequest('send JSON {"problem": ...} or multipart with a `bundle` zip')
    try:
        body = CompetitionCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise ValidationFailed(format_validation_error(exc, "body")) from exc
    competition, _ = await run_in_threadpool(
        service.create_from_problem,
        session,
        settings=settings,
        owner=user,
        problem_id=body.problem,
        slug=body.slug,
        title=body.title,
        seed=body.seed,
        size=body.size,
        with_baseline=body.baseline,
        challenge=body.challenge,
        organisation=body.organisation,
    )
    return competition_read(competition)


@router.get("/{slug}", response_model=CompetitionRead)
def get_competition(slug: str, session: SessionDep, user: OptionalUser) -> CompetitionRead:
    """A competition's description, phases, metrics, formats and data files."""
    return competition_read(lifecycle.get_visible_or_raise(session, slug=slug, user=user))


@router.patch("/{slug}", response_model=CompetitionRead)
def update_competition(
    slug: str, body: CompetitionUpdate, session: SessionDep, user: CurrentUser
) -> CompetitionRead:
    """Change the title, description, status (draft, published, archived), team size, limits
    or phases (add, change, or delete one without submissions); its hosts and admins."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    return competition_read(
        lifecycle.update(session, competition=competition, actor=user, change=body)
    )


@router.post("/{slug}/clone", response_model=CompetitionRead, status_code=201)
def clone_competition(
    slug: str, body: CompetitionClone, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> CompetitionRead:
    """Copy a competition (data, labels, intent, description, phases) as a new draft under a
    new slug; the caller becomes its host. Its hosts and admins."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    copy = lifecycle.clone(
        session,
        settings=settings,
        competition=competition,
        actor=user,
        slug=body.slug,
        title=body.title,
    )
    return competition_read(copy)


@router.get("/{slug}/data/{name}", response_class=FileResponse)
def download_data(
    slug: str, name: str, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """A public data file (train, test features, sample submission)."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    admission.require_admitted(session, competition=competition, user=user)
    path = service.data_file(settings, competition, name=name)
    return FileResponse(path, filename=name)


@router.get("/{slug}/staff", response_model=list[StaffRead])
def list_staff(slug: str, session: SessionDep, user: CurrentUser) -> list[StaffRead]:
    """The competition's hosts and judges (for its staff and admins)."""
    competition = service.get_or_raise(session, slug=slug)
    staff.require_staff(user, competition)
    return [staff_read(m) for m in staff.get_all(competition)]


@router.post(
    "/{slug}/staff",
    response_model=StaffRead,
    status_code=201,
    responses={200: {"description": "the user was staff already; their role is now this one"}},
)
def add_staff(
    slug: str, body: StaffCreate, session: SessionDep, user: CurrentUser, response: Response
) -> StaffRead:
    """Assign a user as host or judge of this competition only (its hosts and admins)."""
    competition = service.get_or_raise(session, slug=slug)
    member, created = staff.add(
        session, competition=competition, actor=user, username=body.username, role=body.role
    )
    if not created:
        response.status_code = 200
    return staff_read(member)


@router.delete("/{slug}/staff/{username}", status_code=204)
def remove_staff(slug: str, username: str, session: SessionDep, user: CurrentUser) -> None:
    """Take a user off the competition's staff (a competition keeps at least one host)."""
    competition = service.get_or_raise(session, slug=slug)
    staff.remove(session, competition=competition, actor=user, username=username)

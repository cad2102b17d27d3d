"""The notifications page: the list, mark all read, which kinds to get by email; and the
announcement form of a competition's hosts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.api.deps import SessionDep, SettingsDep
from challenge.competitions import lifecycle
from challenge.errors import ValidationFailed
from challenge.notifications import events, service
from challenge.notifications.models import NotificationKind
from challenge.notifications.schemas import AnnouncementCreate
from challenge.web.rendering import render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, LoggedIn

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
PER_PAGE = 50


@router.get("/notifications")
def notifications_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Your notifications, newest first, and your email choices."""
    rows, total, unread = service.search(
        session, user=user, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    return render(
        request,
        "notifications.html",
        user=user,
        rows=rows,
        total=total,
        unread=unread,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        kinds=[k.value for k in NotificationKind],
        muted={k.value for k in service.muted_kinds(session, user=user)},
        mail=settings.mail_enabled,
        done=request.query_params.get("done"),
    )


@router.post("/notifications/read", dependencies=[CSRF])
def read_all(session: SessionDep, user: LoggedIn) -> Response:
    """Mark every notification read."""
    service.mark_read(session, user=user)
    return RedirectResponse("/notifications?done=read", status_code=303)


@router.post("/notifications/email", dependencies=[CSRF])
async def email_choices(request: Request, session: SessionDep, user: LoggedIn) -> Response:
    """Save the kinds to get by email (the boxes ticked); the rest are muted."""
    form = await request.form()
    wanted = {str(v) for v in form.getlist("email")}
    unknown = wanted - {k.value for k in NotificationKind}
    if unknown:
        raise ValidationFailed(f"unknown kinds of notification: {', '.join(sorted(unknown))}")
    muted = [k for k in NotificationKind if k.value not in wanted]
    service.set_muted_kinds(session, user=user, kinds=muted)
    return RedirectResponse("/notifications?done=email", status_code=303)


@router.post("/competitions/{slug}/announce", dependencies=[CSRF])
def announce(
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    user: LoggedIn,
    title: Annotated[str, Form(max_length=150)],
    body: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Notify every competitor of the competition (its hosts)."""
    competition = lifecycle.get_visible_or_raise(session, slug=slug, user=user)
    try:
        message = AnnouncementCreate.model_validate({"title": title.strip(), "body": body})
    except ValidationError as exc:
        raise ValidationFailed("the announcement needs a title (at most 150 characters)") from exc
    events.announce(
        session,
        settings=settings,
        competition=competition,
        actor=user,
        title=message.title,
        body=message.body,
    )
    return RedirectResponse(f"/competitions/{slug}/edit?announced=1", status_code=303)

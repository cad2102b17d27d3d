"""Templates, the page renderer (with the CSRF cookie) and the filters the templates use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from challenge.accounts.models import User
from challenge.api.cookies import set_cookie
from challenge.competitions.staff import can_manage, is_staff
from challenge.config import Settings
from challenge.web.markdown_render import render_markdown
from challenge.web.security import CSRF_COOKIE, CSRF_FIELD, csrf_seed, csrf_token
from challenge.web.timing import phase_state

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _datetime(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _formatted(value: Any, spec: str) -> str:
    """A board column's value in its number format (a Python format spec such as `.4f`, `d`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _number(value)
    try:
        if spec.endswith("d"):
            return format(round(value), spec)
        return format(value, spec)
    except ValueError:
        return _number(value)


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


TEMPLATES.env.filters.update(
    markdown=render_markdown, dt=_datetime, num=_number, size=_size, fmt=_formatted
)
TEMPLATES.env.globals.update(
    phase_state=phase_state, csrf_field=CSRF_FIELD, is_staff=is_staff, can_manage=can_manage
)


def render(
    request: Request,
    template: str,
    *,
    user: User | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page; sets the browser's CSRF cookie on its first visit."""
    settings: Settings = request.app.state.settings
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"user": user, "csrf": csrf_token(request, settings), **context},
        status_code=status_code,
    )
    if CSRF_COOKIE not in request.cookies:
        set_cookie(response, request, CSRF_COOKIE, csrf_seed(request), samesite="strict")
    return response


class PageError(Exception):
    """Carries a rendered page out of a route, so the request's transaction still rolls back."""

    def __init__(self, response: Response) -> None:
        super().__init__("page error")
        self.response = response

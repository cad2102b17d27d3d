"""FastAPI dependencies: settings, the request's session (commits on success), the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import User
from challenge.api.cookies import TOKEN_COOKIE
from challenge.api.csrf import check_cookie_request
from challenge.config import Settings
from challenge.db.session import transaction
from challenge.errors import Unauthenticated

__all__ = [
    "TOKEN_COOKIE",
    "BaseUrl",
    "CurrentUser",
    "OptionalUser",
    "PageDep",
    "SessionDep",
    "SettingsDep",
]


def get_app_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def public_base(request: Request, settings: SettingsDep) -> str:
    """The site's address for links sent to people: `MLCHALLENGE_PUBLIC_URL`, else the request's."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


BaseUrl = Annotated[str, Depends(public_base)]


def get_db(settings: SettingsDep) -> Iterator[Session]:
    """A session per request (`transaction`): commit when the route returns, roll back when it
    raises; work registered with `after_commit` runs once committed."""
    with transaction(settings.database_url) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def bearer_token(request: Request) -> str | None:
    """The caller's token: the bearer header, else the web cookie."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("use the header `Authorization: Bearer <token>`")
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE)


def optional_user(request: Request, session: SessionDep, settings: SettingsDep) -> User | None:
    """The caller, if a token was given (a bad token is still an error).

    A token taken from the login cookie on a state-changing request must come with the CSRF
    token or a same-origin `Origin` (`challenge.api.csrf`); a bearer header needs neither.
    """
    token = bearer_token(request)
    if token is None:
        return None
    if "authorization" not in request.headers:
        check_cookie_request(request, settings)
    return accounts.authenticate_token(session, token=token)


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The caller; a token is required."""
    if user is None:
        raise Unauthenticated(
            "this needs you to log in: `mlchallenge login` (the CLI keeps the token), the page "
            "/login, or an API token in `Authorization: Bearer <token>` (make one on /account)"
        )
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a numeric id")]


class Paging:
    """`page` and `per_page` query parameters, and the headers that tell the total."""

    def __init__(
        self,
        page: Annotated[int, Query(ge=1, le=1_000_000, description="page number, from 1")] = 1,
        per_page: Annotated[int, Query(ge=1, le=500, description="rows per page")] = 100,
    ) -> None:
        self.page = page
        self.per_page = per_page

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    def headers(self, response: Response, total: int) -> None:
        """`X-Total-Count`, and `X-Page`/`X-Per-Page`, on a list response."""
        response.headers["X-Total-Count"] = str(total)
        response.headers["X-Page"] = str(self.page)
        response.headers["X-Per-Page"] = str(self.per_page)


PageDep = Annotated[Paging, Depends()]

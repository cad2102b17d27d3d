"""FastAPI dependencies: settings, the request's session (commits on success), the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import User
from challenge.api.cookies import TOKEN_COOKIE
from challenge.api.csrf import check_cookie_request
from challenge.config import Settings
from challenge.db.session import transaction
from challenge.errors import Unauthenticated

__all__ = ["TOKEN_COOKIE", "BaseUrl", "CurrentUser", "OptionalUser", "SessionDep", "SettingsDep"]


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
        raise Unauthenticated("this needs an API token: `Authorization: Bearer <token>`")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a numeric id")]

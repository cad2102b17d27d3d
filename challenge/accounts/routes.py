"""HTTP routes of accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from challenge.accounts import service
from challenge.accounts.models import Role
from challenge.accounts.schemas import (
    LoginRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserWithToken,
)
from challenge.api.cookies import delete_cookie, set_cookie
from challenge.api.deps import TOKEN_COOKIE, CurrentUser, SessionDep, bearer_token
from challenge.api.ratelimit import limiter, rate_limit

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post(
    "/users", response_model=UserWithToken, status_code=201, dependencies=[rate_limit("tokens")]
)
def create_user(body: UserCreate, session: SessionDep, user: CurrentUser) -> UserWithToken:
    """Create a user with a role and return its first API token (admin only)."""
    service.require_role(user, Role.ADMIN)
    created, token = service.create(
        session, username=body.username, email=body.email, password=body.password, role=body.role
    )
    return UserWithToken(user=UserRead.model_validate(created), token=token)


@router.get("/users/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    """The caller."""
    return UserRead.model_validate(user)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, session: SessionDep, user: CurrentUser, response: Response) -> None:
    """Revoke the token used for this request and forget the web cookie."""
    service.revoke_token(session, token=bearer_token(request) or "")
    delete_cookie(response, request, TOKEN_COOKIE)


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    dependencies=[rate_limit("login")],
    responses={429: {"description": "too many attempts; the Retry-After header says when"}},
)
def login(
    body: LoginRequest, session: SessionDep, request: Request, response: Response
) -> TokenResponse:
    """Exchange a username and password for an API token (also set as a cookie for the web)."""
    limiter(request).check("login_user", body.username.strip().lower())
    user, token = service.login(session, username=body.username, password=body.password)
    set_cookie(response, request, TOKEN_COOKIE, token)
    return TokenResponse(token=token, user=UserRead.model_validate(user))

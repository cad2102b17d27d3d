"""HTTP routes of accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from challenge.accounts import directory, passwords, registration, service, tokens
from challenge.accounts.models import Role
from challenge.accounts.schemas import (
    AdminUserRead,
    InvitationCreate,
    LinkRead,
    LoginRequest,
    Message,
    PasswordChange,
    RegisterRequest,
    ResetConfirm,
    ResetRequest,
    TokenCreate,
    TokenCreated,
    TokenRead,
    TokenResponse,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
    UserWithToken,
)
from challenge.api.cookies import delete_cookie, set_cookie
from challenge.api.deps import (
    TOKEN_COOKIE,
    BaseUrl,
    CurrentUser,
    RowId,
    SessionDep,
    SettingsDep,
    bearer_token,
)
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
    user, token = service.login(
        session, username=body.username, password=body.password, token_name=body.token_name
    )
    if body.token_name == "web":
        set_cookie(response, request, TOKEN_COOKIE, token)
    return TokenResponse(token=token, user=UserRead.model_validate(user))


@router.post(
    "/auth/register",
    response_model=UserWithToken,
    status_code=201,
    dependencies=[rate_limit("register")],
    responses={403: {"description": "registration is closed or by invitation only"}},
)
def register(body: RegisterRequest, session: SessionDep, settings: SettingsDep) -> UserWithToken:
    """Make your own account (participant, or the invitation's role) and get a first token."""
    created, token = registration.register(
        session,
        settings=settings,
        username=body.username,
        email=body.email,
        password=body.password,
        invite=body.invite,
    )
    return UserWithToken(user=UserRead.model_validate(created), token=token)


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordChange, session: SessionDep, user: CurrentUser) -> None:
    """Change your password (the current one is checked)."""
    passwords.change(session, user=user, current=body.current_password, new=body.new_password)


@router.post(
    "/auth/password-reset",
    response_model=Message,
    status_code=202,
    dependencies=[rate_limit("tokens")],
)
def request_password_reset(
    body: ResetRequest, session: SessionDep, settings: SettingsDep, base: BaseUrl
) -> Message:
    """Email a reset link to this address if it has an account (the answer does not tell)."""
    if passwords.request_reset(session, settings=settings, email=body.email, base_url=base):
        return Message(message="if this address has an account, a reset link is on its way")
    return Message(
        message="this server sends no email; ask an admin for a reset link (admin page "
        "/admin/users)"
    )


@router.post("/auth/password-reset/confirm", status_code=204, dependencies=[rate_limit("tokens")])
def confirm_password_reset(body: ResetConfirm, session: SessionDep) -> None:
    """Set a new password with a reset link's secret; every token of the account is revoked."""
    passwords.reset(session, secret=body.token, new=body.password)


@router.get("/users/me/tokens", response_model=list[TokenRead])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    """Your API tokens that still work (never their secrets)."""
    return [TokenRead.model_validate(row) for row in tokens.get_all(session, user=user)]


@router.post(
    "/users/me/tokens",
    response_model=TokenCreated,
    status_code=201,
    dependencies=[rate_limit("tokens")],
)
def create_token(body: TokenCreate, session: SessionDep, user: CurrentUser) -> TokenCreated:
    """A new named token; its secret is in the answer, this once."""
    row, secret = tokens.create(
        session, user=user, name=body.name, expires_in_days=body.expires_in_days
    )
    return TokenCreated(**TokenRead.model_validate(row).model_dump(), token=secret)


@router.delete("/users/me/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, session: SessionDep, user: CurrentUser) -> None:
    """Revoke one of your tokens."""
    tokens.revoke(session, user=user, token_id=token_id)


@router.get("/users", response_model=UserPage)
def list_users(
    session: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=100, description="part of a username or email")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserPage:
    """Users, searched and paged, with the total that match (admin only)."""
    rows, total = directory.search(
        session, admin=user, query=q, offset=(page - 1) * per_page, limit=per_page
    )
    items = [AdminUserRead.model_validate(row) for row in rows]
    return UserPage(items=items, total=total, page=page, per_page=per_page)


@router.patch("/users/{user_id}", response_model=AdminUserRead)
def update_user(
    user_id: RowId, body: UserUpdate, session: SessionDep, user: CurrentUser
) -> AdminUserRead:
    """Change a user's role, or deactivate or reactivate the account (admin only)."""
    changed = directory.update(
        session, admin=user, user_id=user_id, role=body.role, is_active=body.is_active
    )
    return AdminUserRead.model_validate(changed)


@router.post("/users/{user_id}/reset-link", response_model=LinkRead, status_code=201)
def make_reset_link(
    user_id: RowId, session: SessionDep, settings: SettingsDep, user: CurrentUser, base: BaseUrl
) -> LinkRead:
    """A one-time password reset link to hand to the user (admin only)."""
    target = service.get_or_raise(session, user_id=user_id)
    link, address = passwords.reset_link(
        session, settings=settings, admin=user, user=target, base_url=base
    )
    return LinkRead(url=address, expires_at=link.expires_at)


@router.post("/invitations", response_model=LinkRead, status_code=201)
def invite(
    body: InvitationCreate,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    base: BaseUrl,
) -> LinkRead:
    """An invitation link with a role (admin only); emailed when an address is given and SMTP
    is configured."""
    link, address, mailed = registration.invite(
        session, settings=settings, inviter=user, base_url=base, role=body.role, email=body.email
    )
    return LinkRead(url=address, expires_at=link.expires_at, emailed=mailed)

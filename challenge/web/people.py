"""Getting in on the web: sign up, one-time login links, forgotten passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from challenge.accounts import links, passwords, registration
from challenge.accounts.models import LinkKind, User
from challenge.accounts.schemas import RegisterRequest
from challenge.api.cookies import set_cookie
from challenge.api.deps import TOKEN_COOKIE, BaseUrl, SessionDep, SettingsDep
from challenge.api.ratelimit import rate_limit
from challenge.config import Registration
from challenge.errors import PlatformError
from challenge.web.rendering import PageError, render
from challenge.web.routing import HtmlRoute
from challenge.web.security import CSRF, WebUser

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def _signup_page(
    request: Request,
    user: User | None,
    policy: Registration,
    *,
    invite: str,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "signup.html",
        user=user,
        policy=policy.value,
        invite=invite,
        form=form or {},
        error=error,
        status_code=status_code,
    )


@router.get("/signup")
def signup_page(
    request: Request,
    user: WebUser,
    settings: SettingsDep,
    invite: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """The sign-up form (says so when registration is closed or by invitation only)."""
    return _signup_page(request, user, settings.sign_up, invite=invite)


@router.post("/signup", dependencies=[CSRF, rate_limit("register")])
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=256)],
    invite: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Make the account, log in, and go to the competitions."""
    form = {"username": username, "email": email}
    try:
        body = RegisterRequest.model_validate(
            {
                "username": username.strip(),
                "email": email.strip(),
                "password": password,
                "invite": invite or None,
            }
        )
        _, token = registration.register(
            session,
            settings=settings,
            username=body.username,
            email=body.email,
            password=body.password,
            invite=body.invite,
        )
    except ValidationError as exc:
        page = _signup_page(
            request,
            None,
            settings.sign_up,
            invite=invite,
            form=form,
            error=_messages(exc),
            status_code=422,
        )
        raise PageError(page) from exc
    except PlatformError as exc:
        page = _signup_page(
            request,
            None,
            settings.sign_up,
            invite=invite,
            form=form,
            error=exc.message,
            status_code=exc.status_code,
        )
        raise PageError(page) from exc
    response = RedirectResponse("/?welcome=1", status_code=303)
    set_cookie(response, request, TOKEN_COOKIE, token)
    return response


@router.get("/login/link/{secret}")
def login_link_page(secret: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """A one-time login link: a button (so that link previews do not use it up)."""
    link = links.peek(session, kind=LinkKind.LOGIN, secret=secret)
    return render(request, "login_link.html", user=user, target=link, secret=secret, error=None)


@router.post("/login/link/{secret}", dependencies=[CSRF])
def login_with_link(
    secret: str,
    request: Request,
    session: SessionDep,
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Use the link: log in, and set the password given (optional)."""
    link = links.peek(session, kind=LinkKind.LOGIN, secret=secret)
    try:
        if password:
            passwords.check_new(password)
        user, token = links.log_in(session, secret=secret)
        if password:
            passwords.set_password(session, user=user, new=password)
    except PlatformError as exc:
        page = render(
            request,
            "login_link.html",
            user=None,
            target=link,
            secret=secret,
            error=exc.message,
            status_code=exc.status_code,
        )
        raise PageError(page) from exc
    response = RedirectResponse("/account?done=welcome", status_code=303)
    set_cookie(response, request, TOKEN_COOKIE, token)
    return response


@router.get("/password/forgot")
def forgot_page(request: Request, user: WebUser, settings: SettingsDep) -> Response:
    """Ask for a reset link by email (or learn that an admin has to make one)."""
    return render(
        request, "password_forgot.html", user=user, mail=settings.mail_enabled, sent=False
    )


@router.post("/password/forgot", dependencies=[CSRF, rate_limit("tokens")])
def forgot(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    base: BaseUrl,
    email: Annotated[str, Form(max_length=254)],
) -> Response:
    """Send the reset link (the page says the same whether or not the address is known)."""
    passwords.request_reset(session, settings=settings, email=email, base_url=base)
    return render(request, "password_forgot.html", user=None, mail=settings.mail_enabled, sent=True)


@router.get("/password/reset/{secret}")
def reset_page(secret: str, request: Request, session: SessionDep, user: WebUser) -> Response:
    """The form that sets a new password with a reset link."""
    link = links.peek(session, kind=LinkKind.RESET, secret=secret)
    return render(request, "password_reset.html", user=user, target=link, error=None)


@router.post("/password/reset/{secret}", dependencies=[CSRF, rate_limit("tokens")])
def reset(
    secret: str,
    request: Request,
    session: SessionDep,
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    """Set the new password, then log in with it."""
    try:
        passwords.reset(session, secret=secret, new=password)
    except PlatformError as exc:
        link = links.peek(session, kind=LinkKind.RESET, secret=secret)
        page = render(
            request,
            "password_reset.html",
            user=None,
            target=link,
            error=exc.message,
            status_code=exc.status_code,
        )
        raise PageError(page) from exc
    return RedirectResponse("/login?reset=1", status_code=303)

"""Logging in and out (pages) and the current user (JSON).

- ``GET /login``: the form. It carries a pre-session CSRF token twice, in the
  ``kdt_login_csrf`` cookie and a hidden field (double submit), so another site cannot
  log a browser into an account of its choosing.
- ``POST /login``: checks the pair, then the credentials; sets ``kdt_session`` and
  redirects to ``next`` (paths on this site only) or ``/``. Wrong credentials re-render
  the form with status 401 (a disabled account gets the same answer, so it never confirms a
  password); after repeated failures (``tutor/accounts/login_throttle.py``) the form comes
  back with 429 and ``Retry-After`` without checking the password. The address counted is
  the peer's, or ``X-Forwarded-For``'s from ``KDT_TRUSTED_PROXIES`` only
  (``api/client_address.py``).
- ``POST /logout``: CSRF-checked; ends the session and clears the cookie.
- ``GET /api/auth/me``: the caller (session cookie or bearer token) as ``UserPublic``.

Scripts do not log in with a password: they use an API token from
``kdt-tutor user token USERNAME`` as ``Authorization: Bearer kdt_…``.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentUserDep,
    OptionalAuthDep,
    check_csrf,
    clear_session_cookie,
    safe_next,
    set_session_cookie,
)
from api.client_address import client_address
from api.deps import AccountServiceDep, LoginThrottleDep, SettingsDep
from api.i18n import pick_lang, translator
from api.schemas.accounts import UserPublic
from api.schemas.common import ERROR_RESPONSES
from api.templating import render
from tutor.accounts.login_throttle import TooManyAttemptsError
from tutor.accounts.users import MAX_PASSWORD_CHARS
from tutor.errors import AuthenticationError
from tutor.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERROR_RESPONSES)
page_router = APIRouter(tags=["auth"], include_in_schema=False)

LOGIN_CSRF_SECONDS = 2 * 3600


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUserDep) -> UserPublic:
    return UserPublic.from_user(user)


def _login_form(
    request: Request,
    *,
    settings: Settings,
    next_url: str,
    status: int = 200,
    error: str | None = None,
    username: str = "",
) -> HTMLResponse:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status=status,
        csrf_field=CSRF_FIELD,
        login_csrf=csrf,
        next_url=safe_next(next_url),
        error=error,
        username=username,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        max_age=LOGIN_CSRF_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.resolved_cookie_secure,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@page_router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, auth: OptionalAuthDep, next: str = ""):
    if auth is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, settings=settings, next_url=next)


@page_router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    accounts: AccountServiceDep,
    settings: SettingsDep,
    throttle: LoginThrottleDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD_CHARS)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    t = translator(pick_lang(request))
    form = {"settings": settings, "next_url": next, "username": username}
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        return _login_form(request, status=403, error=t("login_expired"), **form)
    address = client_address(request, trusted=settings.trusted_proxy_networks)
    try:
        throttle.attempt(username, address)  # counted as a failure until it succeeds
        user = accounts.authenticate(username, password)
    except TooManyAttemptsError as exc:
        response = _login_form(request, status=429, error=t("login_throttled"), **form)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationError:
        # A disabled account gets this answer too, right password or not: it confirms nothing.
        return _login_form(request, status=401, error=t("login_failed"), **form)
    throttle.succeeded(username, address)
    # A new session on every login (never reuse one a visitor arrived with).
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_session(old)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, accounts.create_session(user), settings=settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@page_router.post("/logout")
def logout(
    request: Request,
    accounts: AccountServiceDep,
    settings: SettingsDep,
    auth: OptionalAuthDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    x_csrf_token: Annotated[str | None, Header()] = None,
):
    check_csrf(auth, x_csrf_token or csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings=settings)
    return response

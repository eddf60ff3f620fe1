"""Who is asking: session cookies, bearer tokens, roles and CSRF, as FastAPI dependencies.

Credentials, in this order:
1. ``Authorization: Bearer kdt_…``, an API token for scripts (``kdt-tutor user token``).
   No CSRF check: a browser never adds this header on its own.
2. The ``kdt_session`` cookie, set by ``POST /login``. HttpOnly, SameSite=Lax, Path=/,
   Secure when ``settings.resolved_cookie_secure``. Writes authenticated by it must echo
   the session's CSRF token: the hidden form field ``csrf_token`` or the header
   ``X-CSRF-Token`` (pages get it from ``<meta name="csrf-token">``).

JSON routes use ``CurrentUserDep`` / ``require_access(action, resource)``: no credentials
give 401, a role the access policy (``tutor/accounts/access.py``) never lets do it 403. Pages use
``PageUserDep`` / ``require_page_access(...)``: no credentials redirect to
``/login?next=<this page>``. Which course a caller may act on is the policy's too
(``Access(user).course_for(...)``), asked by the routes.

Every dependency here leaves ``request.state.user`` and ``request.state.csrf_token`` set
for the templates (``base.html`` shows the user and the logout button from them).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import AccountServiceDep, SettingsDep
from api.request_limits import form_limits
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.errors import AuthenticationError, PermissionDeniedError
from tutor.settings import Settings

SESSION_COOKIE = "kdt_session"
LOGIN_CSRF_COOKIE = "kdt_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Auth:
    """The authenticated caller: the user, how they proved it, the session's CSRF token."""

    user: User
    via: Literal["session", "token"]
    csrf_token: str | None = None  # None for bearer tokens: they need no CSRF check


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def optional_auth(request: Request, accounts: AccountServiceDep) -> Auth | None:
    """The caller, or None. An invalid or revoked credential counts as none."""
    auth: Auth | None = None
    bearer = _bearer(request)
    if bearer is not None:
        user = accounts.user_for_token(bearer)
        auth = Auth(user=user, via="token") if user else None
    elif token := request.cookies.get(SESSION_COOKIE):
        live = accounts.session(token)
        if live is not None:
            auth = Auth(user=live.user, via="session", csrf_token=live.csrf_token)
    request.state.user = auth.user if auth else None
    request.state.csrf_token = auth.csrf_token if auth else None
    return auth


OptionalAuthDep = Annotated[Auth | None, Depends(optional_auth)]


def current_auth(request: Request, auth: OptionalAuthDep) -> Auth:
    if auth is not None:
        return auth
    if _bearer(request) is not None:
        raise AuthenticationError("invalid or revoked API token")
    raise AuthenticationError(
        "log in first: send the kdt_session cookie or an 'Authorization: Bearer' API token"
    )


CurrentAuthDep = Annotated[Auth, Depends(current_auth)]


def current_user(auth: CurrentAuthDep) -> User:
    return auth.user


def optional_user(auth: OptionalAuthDep) -> User | None:
    return auth.user if auth else None


CurrentUserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]


def require_access(action: str, resource: str) -> Callable[..., User]:
    """A dependency giving the current user if the access policy lets their role do
    ``action`` on ``resource`` in some course (else 403); the course is checked by the route.

    ``user: Annotated[User, Depends(require_access("read", "analytics"))]``
    """
    Access(None).scope(action, resource)  # an unknown rule fails at import, not per request

    def dependency(user: CurrentUserDep) -> User:
        Access(user).require_role(action, resource)
        return user

    return dependency


# --- CSRF -------------------------------------------------------------------------------
def check_csrf(auth: Auth | None, supplied: str | None) -> None:
    """Raise PermissionDeniedError unless a cookie-authenticated write echoes its CSRF token."""
    if auth is None or auth.via != "session":
        return
    if not supplied or not auth.csrf_token or not hmac.compare_digest(supplied, auth.csrf_token):
        raise PermissionDeniedError("missing or wrong CSRF token; reload the page and try again")


async def require_csrf(request: Request, auth: CurrentAuthDep, settings: SettingsDep) -> Auth:
    """For writes: the caller, after the CSRF check (header, else the form field)."""
    supplied = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not supplied and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # Starlette keeps this parse for the route: parse with the app's limits (20 files),
        # never the defaults (1000), or the route's own limits would never be applied.
        value = (await request.form(**form_limits(settings))).get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    check_csrf(auth, supplied)
    return auth


CsrfAuthDep = Annotated[Auth, Depends(require_csrf)]


def require_chat_allowance(request: Request, auth: CsrfAuthDep) -> Auth:
    """For questions to the tutor: the caller, within ``KDT_CHAT_PER_MINUTE`` (else 429 with
    ``Retry-After``). Counted per user, in this process (``tutor/rate_limit.py``)."""
    request.app.state.chat_limiter.hit(auth.user.id)  # RateLimitedError when over
    return auth


ChatAuthDep = Annotated[Auth, Depends(require_chat_allowance)]


# --- pages ------------------------------------------------------------------------------
class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/logout")):
        return default
    return value


def login_url(next_url: str | None) -> str:
    target = safe_next(next_url)
    return "/login" if target == "/" else f"/login?{urlencode({'next': target})}"


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def page_user(request: Request, auth: OptionalAuthDep) -> User:
    if auth is None:
        raise LoginRequired(_here(request))
    return auth.user


PageUserDep = Annotated[User, Depends(page_user)]


def require_page_access(action: str, resource: str) -> Callable[..., User]:
    """Like ``require_access`` for pages: login redirect when anonymous, 403 page when not
    allowed."""
    Access(None).scope(action, resource)

    def dependency(user: PageUserDep) -> User:
        Access(user).require_role(action, resource)
        return user

    return dependency


def install_auth_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(_request: Request, exc: LoginRequired):
        return RedirectResponse(login_url(exc.next_url), status_code=303)


# --- cookies ----------------------------------------------------------------------------
def set_session_cookie(response: Response, token: str, *, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.resolved_cookie_secure,
    )


def clear_session_cookie(response: Response, *, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.resolved_cookie_secure,
    )

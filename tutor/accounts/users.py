"""Accounts, roles, browser sessions and API tokens.

- Roles: ``trainee`` (belongs to a course, the cohort), ``instructor`` (a course is
  optional), ``admin`` (no course).
- Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``); a hash made with
  older parameters is replaced on the next successful login.
- Session and API tokens are random (``secrets``) and shown once; the database keeps only
  their SHA-256, so a leaked database does not hand out logins.

Nothing from SQLAlchemy leaves this module: callers get the frozen dataclasses below.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tutor.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from tutor.store import api_tokens, as_utc, create_schema, users, web_sessions

ROLES = ("trainee", "instructor", "admin")
USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,40}")
COURSE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
MAX_DISPLAY_NAME_CHARS = 100
TOKEN_PREFIX = "kdt_"

# One message for an unknown user and a wrong password, so the answer does not tell
# which usernames exist.
BAD_CREDENTIALS = "wrong username or password"


class UsernameTakenError(InvalidInputError):
    """``create_user`` with a username that already exists."""

    code = "username_taken"


class AccountDisabledError(AuthenticationError):
    """Right password, but the account is disabled. Its message is the generic
    ``BAD_CREDENTIALS``: an answer that said "disabled" would confirm the password."""

    code = "account_disabled"


class AdminLockoutError(ConflictError):
    """A change that would leave no active admin, or an admin disabling or demoting
    themselves (HTTP 409); nothing was changed."""

    code = "last_admin"


def other_active_admins(user_id: int):
    """SQL: how many active admins there are besides ``user_id`` (a scalar subquery, so a
    guarded UPDATE or DELETE checks it in the same statement)."""
    return (
        select(func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.disabled.is_(False), users.c.id != user_id)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    course: str | None
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class WebSession:
    """A live browser session: whose it is and the CSRF token its forms must echo."""

    user: User
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        role=m["role"],
        course=m["course"],
        disabled=bool(m["disabled"]),
        created_at=as_utc(m["created_at"]),
    )


def normalize_username(username: str) -> str:
    return username.strip().lower()


def _check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidInputError(
            f"invalid username {username!r}: use 3-40 characters from a-z, 0-9, '.', '_', '-'"
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInputError(f"password too short: use at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInputError(f"password too long: at most {MAX_PASSWORD_CHARS} characters")


def _check_role_and_course(role: str, course: str | None) -> str | None:
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
    course = (course or "").strip() or None
    if course is not None and not COURSE_PATTERN.fullmatch(course):
        raise InvalidInputError(
            f"invalid course id {course!r}: letters, digits, '.', '_', '-' (e.g. python-basics)"
        )
    if role == "trainee" and course is None:
        raise InvalidInputError("a trainee belongs to a course: give the course id")
    if role == "admin" and course is not None:
        raise InvalidInputError("an admin has no course; leave the course out")
    return course


class AccountService:
    """Users, sessions and API tokens in SQL (the tables of ``tutor.store``).

    ``clock`` returns the current aware UTC time (tests pass a fake one); ``hasher`` is an
    argon2 ``PasswordHasher`` (argon2id with the library's defaults unless given).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        session_days: int = 7,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.session_ttl = timedelta(days=session_days)
        self.hasher = hasher or PasswordHasher()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._schema_ready = False

    def _ready(self) -> Engine:
        # Tables are created on first use, so building the service touches no database.
        if not self._schema_ready:
            create_schema(self.engine)
            self._schema_ready = True
        return self.engine

    @cached_property
    def _dummy_hash(self) -> str:
        return self.hasher.hash(secrets.token_urlsafe(16))

    # --- users ------------------------------------------------------------------------
    def create_user(
        self,
        username: str,
        password: str,
        *,
        role: str,
        course: str | None = None,
        display_name: str | None = None,
    ) -> User:
        name = _check_username(username)
        course = _check_role_and_course(role, course)
        _check_password(password)
        display = (display_name or "").strip() or name
        if any(ord(ch) < 32 for ch in display):
            raise InvalidInputError("display name: no control characters (NUL, newlines)")
        if len(display) > MAX_DISPLAY_NAME_CHARS:
            raise InvalidInputError(
                f"display name too long: at most {MAX_DISPLAY_NAME_CHARS} characters"
            )
        values = {
            "username": name,
            "display_name": display,
            "role": role,
            "course": course,
            "password_hash": self.hasher.hash(password),
            "disabled": False,
            "created_at": self.clock(),
        }
        taken = UsernameTakenError(f"user {name!r} already exists")
        if self._find(name) is not None:
            raise taken
        try:
            with self._ready().begin() as conn:
                conn.execute(insert(users).values(**values))
        except IntegrityError as exc:  # a concurrent create of the same name
            raise taken from exc
        return self.get_user(name)

    def _find(self, username: str):
        name = normalize_username(username)
        with self._ready().connect() as conn:
            return conn.execute(select(users).where(users.c.username == name)).first()

    def get_user(self, username: str) -> User:
        row = self._find(username)
        if row is None:
            raise NotFoundError(f"no user {normalize_username(username)!r}")
        return _user(row)

    def user_by_id(self, user_id: int) -> User:
        with self._ready().connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFoundError(f"no user {user_id}")
        return _user(row)

    def enable(self, username: str) -> User:
        """Undo ``disable``: the user can log in again. Sessions ended and API tokens revoked
        by ``disable`` stay so: the user logs in afresh and asks for new tokens."""
        user = self.get_user(username)
        self._update(user.id, disabled=False)
        return self.get_user(user.username)

    def list_users(self, *, role: str | None = None, course: str | None = None) -> list[User]:
        query = select(users).order_by(users.c.username)
        if role is not None:
            query = query.where(users.c.role == role)
        if course is not None:
            query = query.where(users.c.course == course)
        with self._ready().connect() as conn:
            return [_user(r) for r in conn.execute(query)]

    def set_role(
        self, username: str, role: str, *, course: str | None = None, by: User | None = None
    ) -> User:
        """Change the role; ``course`` replaces the course (kept when omitted, if allowed).
        An admin ``by`` may not demote themselves, and nobody the last active admin
        (``AdminLockoutError``)."""
        user = self.get_user(username)
        if course is None and role != "admin":
            course = user.course
        course = _check_role_and_course(role, course)
        if user.role == "admin" and role != "admin":
            self._guarded_admin_change(user, by=by, action="demote", role=role, course=course)
        else:
            self._update(user.id, role=role, course=course)
        return self.get_user(user.username)

    def set_password(self, username: str, password: str) -> None:
        """Replace the password and end the user's browser sessions."""
        _check_password(password)
        user = self.get_user(username)
        self._update(user.id, password_hash=self.hasher.hash(password))
        self._end_sessions_of(user.id)

    def disable(self, username: str, *, by: User | None = None) -> User:
        """Block logins, end the user's sessions and revoke their API tokens (the account is
        kept; ``enable`` lets them log in again, with new tokens). An admin ``by`` may not
        disable themselves, and nobody the last active admin (``AdminLockoutError``)."""
        user = self.get_user(username)
        if user.role == "admin" and not user.disabled:
            self._guarded_admin_change(user, by=by, action="disable", disabled=True)
        else:
            self._update(user.id, disabled=True)
        self._end_sessions_of(user.id)
        with self._ready().begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.user_id == user.id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
        return self.get_user(user.username)

    def _guarded_admin_change(self, user: User, *, by: User | None, action: str, **values) -> None:
        """Apply ``values`` to the admin ``user`` only if another active admin remains,
        checked in the same UPDATE (two admins demoting each other at once leave one)."""
        if by is not None and by.id == user.id:
            raise AdminLockoutError(
                f"you cannot {action} your own account; ask another admin to do it"
            )
        with self._ready().begin() as conn:
            result = conn.execute(
                update(users)
                .where(users.c.id == user.id, other_active_admins(user.id) >= 1)
                .values(**values)
            )
        if not result.rowcount:
            raise AdminLockoutError(
                f"{user.username!r} is the last active admin; make another admin first "
                f"(kdt-tutor user add NAME --role admin) before you {action} this one"
            )

    def _update(self, user_id: int, **values) -> None:
        with self._ready().begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))

    def authenticate(self, username: str, password: str) -> User:
        """The user with these credentials, or ``AuthenticationError`` (one generic message)."""
        valid_name = USERNAME_PATTERN.fullmatch(normalize_username(username))
        row = self._find(username) if valid_name else None
        stored = row._mapping["password_hash"] if row is not None else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise AuthenticationError(BAD_CREDENTIALS)
        user = _user(row)
        if user.disabled:
            raise AccountDisabledError(BAD_CREDENTIALS)
        if self.hasher.check_needs_rehash(stored):
            self._update(user.id, password_hash=self.hasher.hash(password))
        return user

    # --- browser sessions -------------------------------------------------------------
    def create_session(self, user: User) -> str:
        """A new session for ``user``; returns the token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._ready().begin() as conn:
            # Housekeeping: the user's expired sessions go when a new one starts.
            conn.execute(
                delete(web_sessions).where(
                    web_sessions.c.user_id == user.id, web_sessions.c.expires_at <= now
                )
            )
            conn.execute(
                insert(web_sessions).values(
                    token_hash=_digest(token),
                    user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    expires_at=now + self.session_ttl,
                )
            )
        return token

    def session(self, token: str) -> WebSession | None:
        """The live session of ``token``; None when unknown, expired or the user is disabled."""
        if not token:
            return None
        query = (
            select(users, web_sessions.c.csrf_token, web_sessions.c.expires_at)
            .join(web_sessions, web_sessions.c.user_id == users.c.id)
            .where(web_sessions.c.token_hash == _digest(token))
        )
        with self._ready().connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        expires_at = as_utc(row._mapping["expires_at"])
        user = _user(row)
        if expires_at <= self.clock() or user.disabled:
            return None
        return WebSession(user=user, csrf_token=row._mapping["csrf_token"], expires_at=expires_at)

    def user_for_session(self, token: str) -> User | None:
        live = self.session(token)
        return live.user if live else None

    def end_session(self, token: str) -> None:
        with self._ready().begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _digest(token)))

    def _end_sessions_of(self, user_id: int) -> None:
        with self._ready().begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

    def purge_expired_sessions(self) -> int:
        with self._ready().begin() as conn:
            result = conn.execute(
                delete(web_sessions).where(web_sessions.c.expires_at <= self.clock())
            )
        return result.rowcount or 0

    # --- API tokens -------------------------------------------------------------------
    def create_token(self, user: User, name: str = "api") -> str:
        """A new bearer token ``kdt_…`` for scripts; shown once, stored as a hash."""
        label = name.strip()
        if "\x00" in label:
            raise InvalidInputError("token name: no NUL characters")
        if not label or len(label) > 100:
            raise InvalidInputError("token name: 1-100 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._ready().begin() as conn:
            conn.execute(
                insert(api_tokens).values(
                    token_hash=_digest(token),
                    user_id=user.id,
                    name=label,
                    created_at=self.clock(),
                    revoked_at=None,
                )
            )
        return token

    def user_for_token(self, token: str) -> User | None:
        """The owner of a live API token; None when unknown, revoked or the user is disabled."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        query = (
            select(users)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None))
        )
        with self._ready().connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        user = _user(row)
        return None if user.disabled else user

    def revoke_token(self, token: str) -> bool:
        """Revoke a token by its value; False when no live token matched."""
        with self._ready().begin() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
        return bool(result.rowcount)

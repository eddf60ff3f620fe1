"""AccountService on SQLite in tmp_path: hashing, validation, sessions, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from knowledge.registry import make_engine
from tutor.accounts.privacy import TraineeData
from tutor.accounts.users import (
    BAD_CREDENTIALS,
    AccountDisabledError,
    AccountService,
    AdminLockoutError,
    User,
    UsernameTakenError,
)
from tutor.errors import AuthenticationError, InvalidInputError, NotFoundError

# Cheap argon2id parameters keep the suite fast; the default hasher is tested once below.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{(tmp_path / 'kdt.db').as_posix()}"


@pytest.fixture
def accounts(db_url, clock) -> AccountService:
    return AccountService(make_engine(db_url), session_days=7, hasher=FAST, clock=clock)


def _trainee(accounts: AccountService, name: str = "trainee1") -> User:
    return accounts.create_user(
        name, "correct horse", role="trainee", course="python-basics", display_name="Kim Minji"
    )


def _raw_database(db_url: str) -> bytes:
    path = db_url.removeprefix("sqlite:///")
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as f:
                data += f.read()
        except FileNotFoundError:
            pass
    return data


def test_create_user_returns_a_frozen_domain_user(accounts) -> None:
    user = _trainee(accounts)

    assert isinstance(user, User)
    assert (user.username, user.role, user.course) == ("trainee1", "trainee", "python-basics")
    assert user.display_name == "Kim Minji"
    assert user.disabled is False
    assert user.created_at.tzinfo is not None
    with pytest.raises(AttributeError):
        user.role = "admin"  # type: ignore[misc]
    assert not hasattr(user, "password_hash")


def test_password_is_stored_as_an_argon2id_hash(accounts, db_url) -> None:
    _trainee(accounts)

    from sqlalchemy import select

    from tutor.store import users

    with accounts.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert b"correct horse" not in _raw_database(db_url)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "ab"}, "invalid username"),
        ({"username": "Bad Name!"}, "invalid username"),
        ({"username": "x" * 41}, "invalid username"),
        ({"role": "boss"}, "unknown role 'boss'; valid: trainee, instructor, admin"),
        ({"password": "short"}, "password too short: use at least 8 characters"),
        ({"course": None}, "a trainee belongs to a course"),
        ({"role": "admin"}, "an admin has no course"),
        ({"course": "../etc"}, "invalid course id"),
    ],
)
def test_create_user_rejects_bad_input_with_a_clear_message(accounts, kwargs, message) -> None:
    values = {
        "username": "newuser",
        "password": "long enough",
        "role": "trainee",
        "course": "python-basics",
    } | kwargs

    with pytest.raises(InvalidInputError, match=message):
        accounts.create_user(
            values["username"], values["password"], role=values["role"], course=values["course"]
        )
    assert accounts.list_users() == []


def test_usernames_are_case_insensitive_and_unique(accounts) -> None:
    _trainee(accounts)

    with pytest.raises(UsernameTakenError, match="user 'trainee1' already exists"):
        accounts.create_user("Trainee1", "another pass", role="admin")
    assert accounts.get_user("TRAINEE1").username == "trainee1"


def test_instructor_course_is_optional_and_admin_has_none(accounts) -> None:
    teacher = accounts.create_user("teacher", "long enough", role="instructor")
    admin = accounts.create_user("root", "long enough", role="admin")

    assert teacher.course is None and admin.course is None
    assert [u.username for u in accounts.list_users()] == ["root", "teacher"]
    assert [u.username for u in accounts.list_users(role="admin")] == ["root"]


def test_authenticate_accepts_the_right_password(accounts) -> None:
    created = _trainee(accounts)

    assert accounts.authenticate("trainee1", "correct horse") == created
    assert accounts.authenticate(" Trainee1 ", "correct horse").id == created.id


@pytest.mark.parametrize(
    ("username", "password"),
    [("trainee1", "wrong horse"), ("nobody", "correct horse"), ("x", ""), ("", "")],
)
def test_wrong_password_and_unknown_user_get_the_same_error(
    accounts, username, password
) -> None:
    _trainee(accounts)

    with pytest.raises(AuthenticationError) as info:
        accounts.authenticate(username, password)
    assert str(info.value) == BAD_CREDENTIALS


def test_disabled_user_cannot_log_in_and_loses_sessions_and_tokens(accounts) -> None:
    user = _trainee(accounts)
    session = accounts.create_session(user)
    token = accounts.create_token(user, "script")

    accounts.disable("trainee1")

    with pytest.raises(AccountDisabledError):
        accounts.authenticate("trainee1", "correct horse")
    assert accounts.user_for_session(session) is None
    assert accounts.user_for_token(token) is None
    assert accounts.get_user("trainee1").disabled


def test_login_rehashes_a_hash_made_with_old_parameters(db_url, clock) -> None:
    engine = make_engine(db_url)
    AccountService(engine, hasher=FAST, clock=clock).create_user(
        "old", "long enough", role="admin"
    )
    current = PasswordHasher()  # the library defaults, stronger than FAST
    accounts = AccountService(engine, hasher=current, clock=clock)

    from sqlalchemy import select

    from tutor.store import users

    def stored() -> str:
        with engine.connect() as conn:
            return conn.execute(select(users.c.password_hash)).scalar_one()

    assert current.check_needs_rehash(stored())
    accounts.authenticate("old", "long enough")
    assert not current.check_needs_rehash(stored())
    accounts.authenticate("old", "long enough")  # the new hash verifies


def test_set_role_and_set_password(accounts) -> None:
    user = _trainee(accounts)
    session = accounts.create_session(user)

    accounts.create_user("boss", "admin password", role="admin")  # trainee1 is not the last
    promoted = accounts.set_role("trainee1", "instructor")
    assert (promoted.role, promoted.course) == ("instructor", "python-basics")
    assert accounts.set_role("trainee1", "admin").course is None
    with pytest.raises(InvalidInputError, match="a trainee belongs to a course"):
        accounts.set_role("trainee1", "trainee")
    assert accounts.set_role("trainee1", "trainee", course="data-101").course == "data-101"

    with pytest.raises(InvalidInputError, match="too short"):
        accounts.set_password("trainee1", "short")
    accounts.set_password("trainee1", "a new password")
    assert accounts.authenticate("trainee1", "a new password").id == user.id
    with pytest.raises(AuthenticationError):
        accounts.authenticate("trainee1", "correct horse")
    assert accounts.user_for_session(session) is None  # a password change logs out

    with pytest.raises(NotFoundError, match="no user 'ghost'"):
        accounts.set_role("ghost", "admin")


def test_sessions_resolve_until_they_expire(accounts, clock) -> None:
    user = _trainee(accounts)
    token = accounts.create_session(user)

    live = accounts.session(token)
    assert live is not None and live.user == user
    assert live.expires_at == clock.now + timedelta(days=7)
    assert len(live.csrf_token) >= 32
    assert accounts.user_for_session(token) == user

    clock.now += timedelta(days=7) - timedelta(seconds=1)
    assert accounts.user_for_session(token) == user
    clock.now += timedelta(seconds=1)
    assert accounts.user_for_session(token) is None
    assert accounts.purge_expired_sessions() == 1


def test_each_session_has_its_own_token_and_csrf_token(accounts) -> None:
    user = _trainee(accounts)
    first, second = accounts.create_session(user), accounts.create_session(user)

    assert first != second
    assert accounts.session(first).csrf_token != accounts.session(second).csrf_token


def test_end_session_and_unknown_tokens(accounts) -> None:
    token = accounts.create_session(_trainee(accounts))

    accounts.end_session(token)

    assert accounts.user_for_session(token) is None
    assert accounts.user_for_session("") is None
    assert accounts.user_for_session("not-a-session") is None


def test_api_tokens_work_until_revoked(accounts) -> None:
    user = _trainee(accounts)
    token = accounts.create_token(user, "grading script")

    assert token.startswith("kdt_") and len(token) > 40
    assert accounts.user_for_token(token) == user
    assert accounts.user_for_token(token + "x") is None
    assert accounts.user_for_token("kdt_") is None
    assert accounts.revoke_token(token) is True
    assert accounts.user_for_token(token) is None
    assert accounts.revoke_token(token) is False


def test_tokens_and_passwords_never_reach_the_database_in_clear(accounts, db_url) -> None:
    user = _trainee(accounts)
    session = accounts.create_session(user)
    api_token = accounts.create_token(user, "ci")

    raw = _raw_database(db_url)

    assert raw, "expected the SQLite file to exist"
    for secret in ("correct horse", session, api_token, api_token.removeprefix("kdt_")):
        assert secret.encode() not in raw
    import hashlib

    assert hashlib.sha256(session.encode()).hexdigest().encode() in raw


def test_building_the_service_touches_no_database(tmp_path) -> None:
    url = f"sqlite:///{(tmp_path / 'lazy.db').as_posix()}"
    AccountService(make_engine(url))

    assert not (tmp_path / "lazy.db").exists()


def test_the_last_active_admin_cannot_be_disabled_demoted_or_removed(accounts) -> None:
    boss = accounts.create_user("boss", "admin password", role="admin")
    chief = accounts.create_user("chief", "admin password", role="admin")

    with pytest.raises(AdminLockoutError, match="your own account"):
        accounts.disable("boss", by=boss)
    with pytest.raises(AdminLockoutError, match="your own account"):
        accounts.set_role("boss", "instructor", by=boss)
    accounts.disable("chief", by=boss)  # another admin remains: allowed
    with pytest.raises(AdminLockoutError, match="last active admin"):
        accounts.disable("boss")
    with pytest.raises(AdminLockoutError, match="last active admin"):
        accounts.set_role("boss", "trainee", course="py")
    with pytest.raises(AdminLockoutError, match="last active admin"):
        TraineeData(accounts.engine).delete(boss.id)
    assert accounts.get_user("boss").role == "admin" and not accounts.get_user("boss").disabled
    accounts.enable("chief")
    accounts.set_role("boss", "instructor")  # chief is active again
    assert accounts.get_user("boss").role == "instructor" and chief.role == "admin"


def test_disable_revokes_tokens_and_enable_does_not_revive_them(accounts) -> None:
    user = _trainee(accounts)
    old = accounts.create_token(user, "script")
    accounts.disable("trainee1")
    accounts.enable("trainee1")

    assert accounts.user_for_token(old) is None
    assert accounts.user_for_token(accounts.create_token(user, "new")).id == user.id
    assert accounts.authenticate("trainee1", "correct horse").id == user.id


def test_a_disabled_account_is_refused_with_the_wrong_password_message(accounts) -> None:
    _trainee(accounts)
    accounts.disable("trainee1")
    with pytest.raises(AccountDisabledError) as right:
        accounts.authenticate("trainee1", "correct horse")
    with pytest.raises(AuthenticationError) as wrong:
        accounts.authenticate("trainee1", "wrong horse")
    assert str(right.value) == str(wrong.value)


def test_nul_and_control_characters_are_refused_in_names(accounts) -> None:
    with pytest.raises(InvalidInputError, match="control characters"):
        accounts.create_user("kim", "long enough", role="admin", display_name="K\x00im")
    user = accounts.create_user("kim", "long enough", role="admin")
    with pytest.raises(InvalidInputError, match="NUL"):
        accounts.create_token(user, "a\x00b")

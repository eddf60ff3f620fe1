"""Login, logout, sessions, API tokens, roles and CSRF through FastAPI's TestClient."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CsrfAuthDep, PageUserDep, require_access
from api.deps import get_account_service
from knowledge.registry import make_engine
from tests.web_app import FAST_HASHER, EmptyKnowledgeBase
from tutor.accounts.users import AccountService, User
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse"


@pytest.fixture
def accounts(tmp_path) -> AccountService:
    service = AccountService(make_engine(f"sqlite:///{tmp_path / 'kdt.db'}"), hasher=FAST_HASHER)
    service.create_user(
        "trainee1", PASSWORD, role="trainee", course="python-basics", display_name="Kim Minji"
    )
    service.create_user("instructor1", PASSWORD, role="instructor", course="python-basics")
    return service


def _app(accounts: AccountService, settings: Settings):
    services = build_services(settings, kb=EmptyKnowledgeBase())
    app = create_app(services=services, warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: accounts

    def instructors_only(user: Annotated[User, Depends(require_access("read", "analytics"))]):
        return {"username": user.username}

    def write_something(auth: CsrfAuthDep):
        return {"username": auth.user.username, "via": auth.via}

    def members_page(user: PageUserDep):
        return {"username": user.username}

    app.add_api_route("/api/test/instructors", instructors_only, methods=["GET"])
    app.add_api_route("/api/test/write", write_something, methods=["POST"])
    app.add_api_route("/test/members", members_page, methods=["GET"])
    return app


@pytest.fixture
def app(accounts, tmp_path):
    return _app(accounts, Settings(env="test", data_dir=tmp_path))


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


def login(client: TestClient, username: str, password: str = PASSWORD, **extra):
    page = client.get("/login")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.cookies.get("kdt_login_csrf") == csrf
    form = {"username": username, "password": password, "csrf_token": csrf, **extra}
    return client.post("/login", data=form, follow_redirects=False)


def _set_cookie(response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


def test_login_page_renders_in_korean_and_english(client) -> None:
    ko = client.get("/login", params={"lang": "ko"})
    en = client.get("/login", params={"lang": "en"})

    assert ko.status_code == en.status_code == 200
    assert "KDT 튜터 로그인" in ko.text and "아이디" in ko.text and "비밀번호" in ko.text
    assert "Log in to KDT Tutor" in en.text and "Username" in en.text and "Password" in en.text
    assert 'type="password"' in en.text and 'name="csrf_token"' in en.text
    assert "HttpOnly" in _set_cookie(en, "kdt_login_csrf")
    assert en.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "Wrong username or password."),
        ("ko", "아이디 또는 비밀번호가 올바르지 않습니다."),
    ],
)
def test_wrong_password_rerenders_the_form_with_401(client, lang, message) -> None:
    client.cookies.set("kdt_lang", lang)

    for username in ("trainee1", "nobody"):
        response = login(client, username, "wrong password")
        assert response.status_code == 401
        assert message in response.text
        assert f'value="{username}"' in response.text  # the username is kept
        assert client.cookies.get("kdt_session") is None


def test_login_sets_an_httponly_session_cookie_and_me_returns_the_user(client) -> None:
    response = login(client, "trainee1")

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = _set_cookie(response, "kdt_session")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Path=/" in cookie and "Secure" not in cookie  # plain http works outside prod
    assert "Max-Age=604800" in cookie
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == {
        "id": me.json()["id"],
        "username": "trainee1",
        "display_name": "Kim Minji",
        "role": "trainee",
        "course": "python-basics",
    }


def test_session_cookie_is_secure_in_prod(accounts, tmp_path) -> None:
    app = _app(accounts, Settings(env="prod", data_dir=tmp_path))
    client = TestClient(app, base_url="https://testserver")  # Secure cookies need https

    response = login(client, "trainee1")

    assert response.status_code == 303
    assert "Secure" in _set_cookie(response, "kdt_session")
    assert client.get("/api/auth/me").json()["username"] == "trainee1"


def test_login_without_the_csrf_pair_is_refused(client) -> None:
    form = {"username": "trainee1", "password": PASSWORD, "csrf_token": "made-up"}

    response = client.post("/login", data=form, follow_redirects=False)

    assert response.status_code == 403
    assert "expired" in response.text or "만료" in response.text
    assert client.cookies.get("kdt_session") is None


def test_login_redirects_to_a_relative_next(client) -> None:
    response = login(client, "trainee1", next="/health?lang=en")

    assert response.headers["location"] == "/health?lang=en"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example/x", "/\\evil.example", "http:/evil", "javascript:x"],
)
def test_open_redirect_targets_are_ignored(client, target) -> None:
    response = login(client, "trainee1", next=target)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_anonymous_api_calls_get_401_json(client) -> None:
    response = client.get("/api/auth/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_protected_page_redirects_to_login_with_next(client) -> None:
    response = client.get("/test/members", params={"x": "1"}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftest%2Fmembers%3Fx%3D1"
    login_page = client.get(response.headers["location"])
    assert 'name="next" value="/test/members?x=1"' in login_page.text
    assert login(client, "trainee1", next="/test/members?x=1").headers["location"] == (
        "/test/members?x=1"
    )
    assert client.get("/test/members").json() == {"username": "trainee1"}


def test_pages_show_the_logged_in_user_and_a_logout_button(client, accounts) -> None:
    anonymous = client.get("/health", params={"lang": "en"})
    assert 'data-testid="login-link"' in anonymous.text
    assert "Kim Minji" not in anonymous.text

    login(client, "trainee1")
    page = client.get("/health", params={"lang": "ko"})

    assert "Kim Minji" in page.text and "훈련생" in page.text and "로그아웃" in page.text
    csrf = accounts.session(client.cookies.get("kdt_session")).csrf_token
    assert f'<meta name="csrf-token" content="{csrf}">' in page.text
    assert f'name="csrf_token" value="{csrf}"' in page.text


def test_logout_needs_the_csrf_token_and_ends_the_session(client, accounts) -> None:
    login(client, "trainee1")
    token = client.cookies.get("kdt_session")

    refused = client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.get("/api/auth/me").status_code == 200

    csrf = accounts.session(token).csrf_token
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'kdt_session=""' in _set_cookie(response, "kdt_session")
    assert accounts.user_for_session(token) is None
    assert client.get("/api/auth/me").status_code == 401


def test_bearer_token_authenticates_until_revoked(client, accounts) -> None:
    token = accounts.create_token(accounts.get_user("instructor1"), "grader")
    headers = {"Authorization": f"Bearer {token}"}

    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["role"] == "instructor"

    accounts.revoke_token(token)
    revoked = client.get("/api/auth/me", headers=headers)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["message"] == "invalid or revoked API token"
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_require_access_gives_403_to_a_trainee_and_200_to_an_instructor(app, accounts) -> None:
    trainee, instructor = TestClient(app), TestClient(app)
    login(trainee, "trainee1")
    login(instructor, "instructor1")

    assert TestClient(app).get("/api/test/instructors").status_code == 401
    denied = trainee.get("/api/test/instructors")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    assert "instructor or admin" in denied.json()["error"]["message"]
    allowed = instructor.get("/api/test/instructors")
    assert allowed.status_code == 200 and allowed.json() == {"username": "instructor1"}


def test_cookie_json_writes_need_the_csrf_header_bearer_writes_do_not(client, accounts) -> None:
    login(client, "trainee1")
    csrf = accounts.session(client.cookies.get("kdt_session")).csrf_token

    assert client.post("/api/test/write", json={}).status_code == 403
    ok = client.post("/api/test/write", json={}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["via"] == "session"
    form_ok = client.post("/api/test/write", data={"csrf_token": csrf})
    assert form_ok.status_code == 200

    token = accounts.create_token(accounts.get_user("instructor1"), "ci")
    bearer = TestClient(client.app).post(
        "/api/test/write", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert bearer.status_code == 200 and bearer.json()["via"] == "token"


def test_a_disabled_account_cannot_log_in_and_its_session_ends(client, accounts) -> None:
    login(client, "trainee1")
    accounts.disable("trainee1")

    assert client.get("/api/auth/me").status_code == 401
    response = login(TestClient(client.app), "trainee1")
    assert response.status_code == 401
    assert "disabled" in response.text or "중지" in response.text


def test_login_page_redirects_when_already_logged_in(client) -> None:
    login(client, "trainee1")

    response = client.get("/login", params={"next": "/health"}, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/health"


def test_repeated_wrong_passwords_lock_the_account_with_429(client) -> None:
    for _ in range(5):
        assert login(client, "trainee1", "wrong-password").status_code == 401
    # Locked: even the right password is not checked now.
    locked = login(client, "trainee1", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "kdt_session" not in locked.cookies
    assert client.get("/api/auth/me").status_code == 401

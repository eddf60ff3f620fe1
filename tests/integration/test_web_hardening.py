"""Issue 14's web findings, through the real app: body limits before authentication, the
upload file count, security headers, login throttling behind a NAT and proxies, a disabled
account's answer, admin self-lockout, the 404 page's language link, NUL bytes and the chat
rate limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CsrfAuthDep
from api.deps import get_account_service, get_chat_service, get_learner_service
from knowledge.errors import NotFoundError
from knowledge.registry import make_engine
from tests.web_app import FAST_HASHER, EmptyKnowledgeBase
from tutor.accounts.users import AccountService
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse"
TEMPLATES = Path(__file__).parents[2] / "api" / "templates"


class _NoConversations:
    def get(self, conversation_id: str, *, user_id: int):
        raise NotFoundError(f"no conversation {conversation_id}")


class StubChat:
    """Only what the chat routes touch before answering: an unknown conversation is a 404."""

    store = _NoConversations()


@pytest.fixture
def accounts(tmp_path) -> AccountService:
    service = AccountService(make_engine(f"sqlite:///{tmp_path / 'kdt.db'}"), hasher=FAST_HASHER)
    service.create_user("trainee1", PASSWORD, role="trainee", course="py")
    service.create_user("boss", PASSWORD, role="admin")
    return service


@pytest.fixture
def make_client(accounts, tmp_path):
    def build(**overrides) -> TestClient:
        settings = Settings(env="test", data_dir=tmp_path, **overrides)
        app = create_app(services=build_services(settings, kb=EmptyKnowledgeBase()), warm_up=False)
        app.dependency_overrides[get_account_service] = lambda: accounts
        app.dependency_overrides[get_chat_service] = lambda: StubChat()
        app.dependency_overrides[get_learner_service] = lambda: None  # unused before a 404

        async def form_write(auth: CsrfAuthDep):
            return {"username": auth.user.username}

        app.add_api_route("/api/test/form-write", form_write, methods=["POST"])
        return TestClient(app)

    return build


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def bearer(accounts: AccountService, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(accounts.get_user(username))}"}


def login(client: TestClient, username: str, password: str = PASSWORD, **headers):
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"username": username, "password": password, "csrf_token": csrf}
    return client.post("/login", data=form, headers=headers, follow_redirects=False)


def session_csrf(client: TestClient) -> str:
    page = client.get("/chat")
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


# --- item 3: request size limits ------------------------------------------------------------
def test_an_oversized_body_is_refused_before_authentication(make_client) -> None:
    client = make_client(max_body_kb=4)
    big = b'{"message": "' + b"x" * 8000 + b'"}'

    declared = client.post("/api/chat", content=big, headers={"Content-Type": "application/json"})
    streamed = client.post(  # no Content-Length: counted as it streams
        "/api/chat",
        content=iter([big[:3000], big[3000:6000], big[6000:]]),
        headers={"Content-Type": "application/json"},
    )
    small = client.post("/api/chat", json={"message": "hi"})

    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "too_large"
        assert "4 KB" in response.json()["error"]["message"]
    assert small.status_code == 401  # under the limit: on to authentication


def test_each_kind_of_route_has_its_own_limit(make_client) -> None:
    client = make_client(max_body_kb=4, review_max_kb=16, upload_max_mb=0.05, upload_max_files=2)
    body = b"x" * 20_000  # over 4 KB, under reviews' 2 * 16 KB + 64 KB and uploads' 2*50 KB + 1 MB
    headers = {"Content-Type": "application/json"}

    assert client.post("/api/chat", content=body, headers=headers).status_code == 413
    assert client.post("/login", content=body, headers=headers).status_code == 413
    # Read, then refused for what it is (not JSON: 422; no credentials: 401), not for its size.
    assert client.post("/api/reviews", content=body, headers=headers).status_code == 422
    assert client.post("/api/kb/uploads", content=body, headers=headers).status_code == 401
    huge = {**headers, "Content-Length": str(3 * 1024 * 1024)}
    refused = client.post("/api/kb/uploads", content=b"x", headers=huge)
    assert refused.status_code == 413 and "MB" in refused.json()["error"]["message"]


def test_a_form_with_more_files_than_the_limit_is_refused_at_parse(make_client, accounts) -> None:
    client = make_client(upload_max_files=3)
    assert login(client, "boss").status_code == 303
    csrf = session_csrf(client)
    files = [("files", (f"f{i}.md", b"# x\n", "text/markdown")) for i in range(4)]

    # The CSRF check parses the form first (token as a form field): with the app's limits.
    too_many = client.post("/api/test/form-write", data={"csrf_token": csrf}, files=files)
    allowed = client.post("/api/test/form-write", data={"csrf_token": csrf}, files=files[:3])
    # FastAPI's own parse of File parameters (the review upload) uses the same limits,
    # before authentication.
    anonymous = TestClient(client.app).post("/api/reviews/upload", files=files)

    assert too_many.status_code == 400 and "Too many files" in too_many.text
    assert allowed.status_code == 200, allowed.text
    assert anonymous.status_code == 400 and "Too many files" in anonymous.text


# --- item 6: security headers -------------------------------------------------------------
def test_pages_cannot_be_framed_and_allow_no_inline_script(client) -> None:
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))

    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["style-src"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    api = client.get("/api/auth/me")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers


def test_templates_have_no_inline_script_or_handler() -> None:
    """What the CSP would block: inline handlers, javascript: URLs, inline <script> code,
    <style> elements (JSON data blocks are not run)."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name
        assert "<style" not in text, template.name
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)


# --- item 7: login throttling ---------------------------------------------------------------
def test_x_forwarded_for_is_ignored_without_trusted_proxies(make_client, accounts) -> None:
    client = make_client(login_max_address_failures=3)
    for i in range(3):  # a sprayer changing its claimed address every time
        forged = {"X-Forwarded-For": f"198.51.100.{i}"}
        assert login(client, f"guess{i}", "wrong", **forged).status_code == 401
    again = login(client, "guess9", "wrong", **{"X-Forwarded-For": "198.51.100.99"})
    assert again.status_code == 429  # all counted against the real peer


def test_x_forwarded_for_is_believed_from_a_trusted_proxy(accounts, tmp_path) -> None:
    settings = Settings(
        env="test", data_dir=tmp_path, trusted_proxies="10.0.0.0/8", login_max_address_failures=3
    )
    app = create_app(services=build_services(settings, kb=EmptyKnowledgeBase()), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: accounts
    proxy = TestClient(app, client=("10.0.0.2", 5000))
    for i in range(3):
        hops = {"X-Forwarded-For": f"203.0.113.{i}, 10.0.0.7"}  # client, then an inner proxy
        assert login(proxy, f"guess{i}", "wrong", **hops).status_code == 401
    # Three clients, one failure each: none is locked.
    assert login(proxy, "trainee1", **{"X-Forwarded-For": "203.0.113.0"}).status_code == 303


def test_a_classroom_behind_one_address_is_not_locked_out_by_a_sprayer(make_client) -> None:
    client = make_client(login_max_address_failures=3)
    assert login(client, "trainee1").status_code == 303  # logged in from the classroom before
    sprayer = TestClient(client.app)
    for i in range(3):
        assert login(sprayer, f"guess{i}", "wrong").status_code == 401
    assert login(sprayer, "guess9", "wrong").status_code == 429  # the sprayer is stopped
    assert login(TestClient(client.app), "trainee1").status_code == 303  # the trainee is not


def test_a_disabled_account_answers_as_a_wrong_password_does(client, accounts) -> None:
    accounts.disable("trainee1")
    right = login(TestClient(client.app), "trainee1", PASSWORD)
    wrong = login(TestClient(client.app), "trainee1", "not the password")

    def error(response) -> str:
        return re.search(r'data-testid="login-error"[^>]*>([^<]*)<', response.text).group(1)

    assert right.status_code == wrong.status_code == 401
    assert error(right) == error(wrong)
    assert "kdt_session" not in right.cookies


# --- item 8: admin foot-guns ----------------------------------------------------------------
def test_an_admin_cannot_disable_or_demote_themselves_nor_the_last_admin(client, accounts):
    boss = accounts.get_user("boss")
    headers = bearer(accounts, "boss")

    for change in ({"disabled": True}, {"role": "instructor", "course": "py"}):
        refused = client.patch(f"/api/admin/users/{boss.id}", json=change, headers=headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "last_admin"
        assert "your own account" in refused.json()["error"]["message"]
    deleted = client.delete(f"/api/admin/users/{boss.id}", headers=headers)
    assert deleted.status_code == 422
    assert not accounts.get_user("boss").disabled and accounts.get_user("boss").role == "admin"

    second = accounts.create_user("chief", PASSWORD, role="admin")
    other = bearer(accounts, "chief")
    ok = client.patch(f"/api/admin/users/{boss.id}", json={"disabled": True}, headers=other)
    assert ok.status_code == 200 and ok.json()["disabled"] is True
    # chief is now the only active admin: nobody may take that away.
    assert accounts.get_user("chief").id == second.id
    with pytest.raises(Exception, match="last active admin"):
        accounts.disable("chief")


def test_re_enabling_does_not_revive_old_api_tokens(client, accounts) -> None:
    old = bearer(accounts, "trainee1")
    assert client.get("/api/auth/me", headers=old).status_code == 200
    boss = bearer(accounts, "boss")
    trainee = accounts.get_user("trainee1")

    client.patch(f"/api/admin/users/{trainee.id}", json={"disabled": True}, headers=boss)
    client.patch(f"/api/admin/users/{trainee.id}", json={"disabled": False}, headers=boss)

    assert client.get("/api/auth/me", headers=old).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(accounts, "trainee1")).status_code == 200


# --- item 12 --------------------------------------------------------------------------------
def test_the_404_pages_language_link_stays_on_this_site(client) -> None:
    page = client.get("http://testserver//evil.example/x?q=1", headers={"Accept": "text/html"})
    href = re.search(r'class="lang-switch" href="([^"]+)"', page.text).group(1)

    assert page.status_code == 404
    assert href.startswith("/evil.example/x?") and not href.startswith("//")
    assert "q=1" in href and "lang=" in href


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "where"),
    [
        ("post", "/api/admin/users", {"json": {"username": "nul", "password": "long enough",
                                               "role": "admin", "display_name": "a\x00b"}},
         "display_name"),
        ("patch", "/api/conversations/abc", {"json": {"title": "x\x00"}}, "title"),
        ("post", "/api/chat", {"json": {"message": "what is \x00?"}}, "message"),
        ("get", "/api/admin/users", {"params": {"course": "py\x00"}}, "course"),
    ],
)  # fmt: skip
def test_nul_characters_are_refused_with_a_clear_422(client, accounts, method, path, kwargs, where):
    response = getattr(client, method)(path, headers=bearer(accounts, "boss"), **kwargs)

    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert where in message and "NUL" in message
    assert [u.username for u in accounts.list_users()] == ["boss", "trainee1"]


def test_chat_is_rate_limited_per_user_with_retry_after(make_client, accounts) -> None:
    client = make_client(chat_per_minute=2)
    kim, boss = bearer(accounts, "trainee1"), bearer(accounts, "boss")
    ask = {"message": "hello", "conversation_id": "missing"}

    answers = [client.post("/api/chat", json=ask, headers=kim).status_code for _ in range(3)]
    limited = client.post("/api/chat", json=ask, headers=kim)
    regenerate = client.post("/api/conversations/missing/regenerate", headers=kim)

    assert answers == [404, 404, 429]
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "rate_limited"
    assert regenerate.status_code == 429
    assert client.post("/api/chat", json=ask, headers=boss).status_code == 404  # per user

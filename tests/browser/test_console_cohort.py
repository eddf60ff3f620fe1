"""The console's cohort page in real Chromium against a real server: an instructor logs in,
opens /console/cohort on seeded data, the heatmap SVG renders (every cell visible, Korean
labels drawn with a Korean font), a trainee's row leads to their drill-down, a CSV downloads.
Screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from knowledge.registry import make_engine
from tests.browser.conftest import ARTIFACTS, serving
from tutor.accounts.users import AccountService
from tutor.chat.answering import Citation
from tutor.chat.conversations import ConversationStore
from tutor.learning.service import LearnerService
from tutor.learning.skill_map import load_course
from tutor.review.review_store import ReviewStore
from tutor.review.types import SourceFile

pytestmark = pytest.mark.browser

COURSE_ID = "py-cohort"
PASSWORD = "correct horse battery"
SKILLS = [  # id, English, Korean, level
    ("variables", "Variables", "변수", 1),
    ("loops", "Loops", "반복문", 1),
    ("conditions", "Conditions", "조건문", 1),
    ("lists", "Lists", "리스트", 2),
    ("dicts", "Dictionaries", "딕셔너리", 2),
    ("functions", "Functions", "함수", 2),
]
# username, display name, right answers per skill (None: no answer on that skill)
TRAINEES = [
    ("kim", "김민지", [4, 4, 4, 4, 4, 4]),
    ("lee", "이서준", [4, 3, 2, 1, None, None]),
    ("park", "박지우", [2, 1, None, None, None, None]),
    ("choi", "최하은", [0, 0, 0, None, None, None]),  # wrong answers only: stuck
    ("jung", "정도윤", [None] * 6),
]


def write_course(root) -> None:
    (root / "lessons").mkdir(parents=True)
    lines = [f"id: {COURSE_ID}", "title: Python cohort", "skills:"]
    lines += [f"  {s}: {{name: {en}, name_ko: {ko}, level: {lv}}}" for s, en, ko, lv in SKILLS]
    lines += ["levels:"]
    for lv in (1, 2):
        lines.append(f"  {lv}: [{', '.join(s for s, *_, level in SKILLS if level == lv)}]")
    (root / "course.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = []
    for n, (skill, en, ko, lv) in enumerate(SKILLS, start=1):
        (root / "lessons" / f"0{n}-{skill}.md").write_text(
            f"---\ntitle: {ko}\nkind: lesson\nlevel: {lv}\nskills: [{skill}]\nlang: ko\n---\n"
            f"# {ko}\n\n## 기본\n\n이 레슨은 파이썬의 {ko}({en})을 다룹니다.\n",
            encoding="utf-8",
        )
        for k in range(2):
            items.append({"id": f"{skill}-{k}", "skills": [skill], "lang": "ko",
                          "question": f"{ko} 문제 {k}", "options": ["가", "나", "다"],
                          "answer_index": 0})  # fmt: skip
    (root / "quiz.jsonl").write_text(
        "\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8"
    )


def seed(data_dir, course_dir) -> dict[str, int]:
    url = f"sqlite:///{(data_dir / 'kdt.db').as_posix()}"
    accounts = AccountService(make_engine(url))
    accounts.create_user("teacher", PASSWORD, role="instructor", course=COURSE_ID,
                         display_name="강사")  # fmt: skip
    old = AccountService(make_engine(url), clock=lambda: datetime.now(UTC) - timedelta(days=30))
    skill_map, items = load_course(course_dir)
    now = [datetime.now(UTC) - timedelta(days=3)]
    learner = LearnerService(make_engine(url), skill_maps=lambda _c: skill_map,
                             items=lambda _c: items, clock=lambda: now[0])  # fmt: skip
    ids, n = {}, 0
    for username, name, answers in TRAINEES:
        service = old if username == "jung" else accounts
        ids[username] = service.create_user(
            username, PASSWORD, role="trainee", course=COURSE_ID, display_name=name
        ).id
        for (skill, *_), right in zip(SKILLS, answers, strict=True):
            if right is None:
                continue
            for k in range(4):
                n += 1
                learner.record_answer(ids[username], COURSE_ID, item_id=f"{skill}-{k % 2}",
                                      chosen_index=0 if k < right else 1,
                                      submission_id=f"b{n}")  # fmt: skip
    chats = ConversationStore(make_engine(url))
    conv = chats.create(user_id=ids["lee"], course=COURSE_ID, title="반복문 질문")
    chats.add_message(conv.id, role="user", content="for 문은 언제 쓰나요?")
    doc = f"{COURSE_ID}/lessons/02-loops.md"
    chats.add_message(
        conv.id, role="assistant", content="시퀀스의 항목마다 반복할 때 씁니다 [1].",
        citations=(Citation(1, f"{doc}#1", doc, "반복문", ("반복문", "기본"), 1, 3, "인용"),),
    )  # fmt: skip
    reviews = ReviewStore(make_engine(url))
    record = reviews.create(
        user_id=ids["lee"], course=COURSE_ID, exercise_id=None,
        files=(SourceFile("main.py", "def f(x=[]):\n    return x\n"),), level=1, lang="ko",
        static={"findings": [{"code": "B006", "title": "Mutable default argument", "line": 1}],
                "hidden": []}, timings={},
    )  # fmt: skip
    reviews.complete(record.id, verdict="no_tests", tests=None, suspicious=[], narrative="",
                     notices=[], timings={})  # fmt: skip
    return ids


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    course = root / COURSE_ID
    write_course(course)
    data_dir = root / "var"
    with serving(data_dir, course) as url:  # ingests, then serves
        yield url, seed(data_dir, course)


def _platform_fonts(page, selector: str) -> dict[str, int]:
    """The fonts Chromium actually drew the element's text with: family -> glyphs."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def test_an_instructor_sees_the_heatmap_and_drills_down(server, page) -> None:
    url, ids = server
    page.goto(f"{url}/console/cohort?lang=ko")
    page.wait_for_url("**/login**")  # the console needs a login
    page.fill("#username", "teacher")
    page.fill("#password", PASSWORD)
    page.click("form[data-testid=login-form] button[type=submit]")
    page.wait_for_url("**/console/cohort**")

    heatmap = page.locator("[data-testid=cohort-heatmap] svg")
    heatmap.wait_for()
    rows = heatmap.locator("g.row")
    assert rows.count() == len(TRAINEES)
    cells = heatmap.locator("g.row rect")
    assert cells.count() == len(TRAINEES) * len(SKILLS)
    for i in (0, cells.count() - 1):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["width"] >= 10 and box["height"] >= 10
        assert cells.nth(i).is_visible()
    # By username: choi, jung, kim, lee, park. kim mastered everything; jung never answered.
    fills = [[r.get_attribute("fill") for r in rows.nth(i).locator("rect").all()]
             for i in range(rows.count())]  # fmt: skip
    assert fills[2] == ["#0c2c84"] * 6
    assert fills[1] == ["#eeeeee"] * 6
    # Korean skill names and trainee names are drawn, with a Korean font (fonts-nanum).
    labels = heatmap.locator("text").all_text_contents()
    assert any(t.startswith("반복문") for t in labels)
    assert any(t.startswith("김민지") for t in labels)
    for selector in ("svg a text", "svg > g text"):  # the first trainee, the first skill
        fonts = _platform_fonts(page, f"[data-testid=cohort-heatmap] {selector}")
        assert any("nanum" in family.lower() for family, n in fonts.items() if n), fonts
    label = heatmap.locator("a text").first.bounding_box()
    assert label is not None and label["width"] > 20  # drawn, not collapsed

    # The other sections are there; the stuck table names choi (wrong answers) and jung.
    assert page.locator("[data-testid=chart-levels] svg").is_visible()
    assert page.locator("[data-testid=chart-achievements] svg polyline").count() >= 1
    assert "반복문" in page.locator("[data-testid=topics-table]").inner_text()
    stuck = page.locator("[data-testid=stuck-row]")
    assert {stuck.nth(i).get_attribute("data-username") for i in range(stuck.count())} >= {
        "choi", "jung",
    }  # fmt: skip
    assert "연속 틀렸습니다" in page.locator("[data-testid=stuck-table]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-cohort-ko.png"), full_page=True)

    # A CSV export downloads with its file name.
    with page.expect_download() as download:
        page.click("[data-testid=csv-heatmap]")
    assert download.value.suggested_filename == f"{COURSE_ID}-mastery.csv"
    text = download.value.path().read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("user_id,username,display_name,level,variables (변수)")

    # A trainee's row in the heatmap opens the drill-down: conversation, messages, review.
    heatmap.locator("a", has_text="이서준").click()
    page.wait_for_url(f"**/console/cohort/trainee/{ids['lee']}**")
    conversation = page.locator("[data-testid=conversation]").first
    assert "반복문 질문" in conversation.inner_text()
    assert "for 문은 언제 쓰나요?" in conversation.inner_text()
    assert page.locator("[data-testid=trainee-review]").count() == 1
    assert "B006" in page.locator("[data-testid=trainee-reviews]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-cohort-trainee-ko.png"), full_page=True)

"""The learning dashboard in real Chromium against a real server: log in as a trainee, take
the placement quiz, answer practice items, watch mastery and the recommendation change,
switch to Korean; the chat page's level badge shows the learner model's level."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS, add_user, log_in, serving
from tests.starter_course import starter_course_yaml

pytestmark = pytest.mark.browser

COURSE_ID = "py-starter"
USERNAME = "trainee1"
PASSWORD = "correct horse battery"

COURSE_YAML = starter_course_yaml(COURSE_ID)

# (file stem, English title, Korean title, level, skill, prerequisites)
LESSONS = [
    ("01-variables", "Variables", "변수", 1, "variables", []),
    ("02-loops", "Loops", "반복문", 1, "loops", ["variables"]),
    ("03-lists", "Lists", "리스트", 2, "lists", ["loops"]),
    ("04-functions", "Functions", "함수", 2, "functions", ["variables"]),
]

# skill -> (question, options, answer index, explanation), in English and in Korean
QUESTIONS = {
    "variables": [
        ("Which line assigns 5 to `x`?", ["x == 5", "x = 5", "5 = x"], 1,
         "A single `=` assigns; `==` compares."),
        ("What does `type(\"42\")` give?", ["int", "str", "float"], 1,
         "Anything in quotes is a string, even digits."),
        ("What is a variable?", ["A name for a value", "A loop", "A file"], 0,
         "A variable is a name that refers to a value."),
        ("`x = 3` 다음 `x = x + 1` 이면 x는?", ["3", "4", "5"], 1,
         "오른쪽 `x + 1`을 먼저 계산해 4를 x에 다시 할당합니다."),
    ],
    "loops": [
        ("How many times does `for i in range(3)` run?", ["2", "3", "4"], 1,
         "`range(3)` gives 0, 1 and 2: three numbers."),
        ("Which keyword leaves a loop early?", ["stop", "break", "exit"], 1,
         "`break` ends the innermost loop at once."),
        ("Which loop repeats while a condition holds?", ["for", "while", "if"], 1,
         "A `while` loop checks its condition before every round."),
        ("`for` 문이 반복하는 대상은?", ["시퀀스의 각 항목", "조건식", "함수 이름"], 0,
         "`for` 문은 리스트나 문자열 같은 시퀀스의 항목마다 본문을 실행합니다."),
    ],
    "lists": [
        ("Which method adds an item at the end of a list?", ["add", "append", "push"], 1,
         "`append` adds one item at the end."),
        ("What is the index of the first item?", ["0", "1", "-1"], 0,
         "Python counts positions from 0."),
        ("How do you get the number of items in `xs`?", ["xs.size", "len(xs)", "count(xs)"], 1,
         "`len()` returns the number of items."),
        ("리스트를 만드는 괄호는?", ["()", "[]", "{}"], 1,
         "리스트는 대괄호 `[]` 안에 값을 씁니다."),
    ],
    "functions": [
        ("Which keyword defines a function?", ["def", "fun", "function"], 0,
         "`def` starts a function definition."),
        ("What does a function without `return` give back?", ["0", "None", "False"], 1,
         "Without `return`, a function returns `None`."),
        ("Which keyword sends a value back to the caller?", ["return", "give", "yield back"], 0,
         "`return` ends the function and hands the value back."),
        ("함수를 호출하려면?", ["함수 이름만 쓴다", "이름 뒤에 ()를 붙인다", "def를 쓴다"], 1,
         "함수 이름 뒤에 괄호를 붙여야 실행됩니다."),
    ],
}


def quiz_items() -> list[dict]:
    items = []
    for stem, _title, _ko, _level, skill, _pre in LESSONS:
        for n, (question, options, answer, why) in enumerate(QUESTIONS[skill], start=1):
            items.append({
                "id": f"{skill}-{n}", "lesson_id": stem, "skills": [skill],
                "question": question, "options": options, "answer_index": answer,
                "lang": "ko" if n == 4 else "en", "explanation": why,
            })
    return items


ITEMS = {item["id"]: item for item in quiz_items()}
LEVEL = {"variables": 1, "loops": 1, "lists": 2, "functions": 2}


def write_course(root) -> None:
    (root / "lessons").mkdir(parents=True)
    (root / "lessons-ko").mkdir()
    (root / "course.yaml").write_text(COURSE_YAML, encoding="utf-8")
    for stem, title, title_ko, level, skill, pre in LESSONS:
        for folder, name, lang, text in (
            ("lessons", title, "en", f"This lesson teaches {title.lower()} in Python."),
            ("lessons-ko", title_ko, "ko", f"이 레슨은 파이썬의 {title_ko}을 다룹니다."),
        ):
            (root / folder / f"{stem}.md").write_text(
                f"---\ntitle: {name}\nkind: lesson\nlevel: {level}\nskills: [{skill}]\n"
                f"prerequisites: {json.dumps(pre)}\nlang: {lang}\n---\n# {name}\n\n{text}\n",
                encoding="utf-8",
            )
    (root / "quiz.jsonl").write_text(
        "\n".join(json.dumps(i, ensure_ascii=False) for i in quiz_items()) + "\n",
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("learn")
    course = root / COURSE_ID
    write_course(course)
    data_dir = root / "var"
    add_user(data_dir, USERNAME, password=PASSWORD, course=COURSE_ID, name="Kim Minji")
    with serving(data_dir, course) as url:
        yield url


def _log_in(page, server: str) -> None:
    log_in(page, server, (USERNAME, PASSWORD), "/learn?lang=en")  # the dashboard needs a login


def _answer(page, *, right: bool) -> dict:
    """Answer the item on the quiz card; returns it (from the course file, by its id)."""
    quiz = page.locator("[data-testid=quiz]")
    page.locator("[data-testid=quiz-check]").wait_for()
    item = ITEMS[quiz.get_attribute("data-item-id")]
    # The answer key and the explanation are not in the page before answering.
    assert item["explanation"] not in page.content()
    assert "answer_index" not in page.content()
    choice = item["answer_index"] if right else (item["answer_index"] + 1) % len(item["options"])
    page.locator("[data-testid=quiz-option]").nth(choice).click()
    page.click("[data-testid=quiz-check]")
    page.locator("#quiz[data-synced='1']").wait_for()
    verdict = page.locator("[data-testid=feedback-verdict]").inner_text()
    assert ("Correct" in verdict or "정답입니다" in verdict) is right
    assert item["explanation"].replace("`", "") in page.locator(
        "[data-testid=feedback-explanation]"
    ).inner_text()
    right_option = page.locator("[data-testid=quiz-option].right")
    assert right_option.count() == 1
    assert item["options"][item["answer_index"]].replace("`", "") in right_option.inner_text()
    return item


def _bars(page) -> dict[str, int]:
    rows = page.locator("[data-testid=skill-row]")
    return {
        rows.nth(i).get_attribute("data-skill"): int(
            rows.nth(i).locator("[data-testid=skill-pct]").inner_text().rstrip("%")
        )
        for i in range(rows.count())
    }


def test_placement_then_practice_in_english_and_korean(server: str, page) -> None:
    _log_in(page, server)
    assert page.locator("h1.learn-title").inner_text() == "My learning"
    assert page.locator("[data-testid=learn-level]").inner_text() == "Lv2"  # the default
    assert "placement quiz" in page.locator("[data-testid=level-source]").inner_text()
    assert page.locator("[data-testid=skill-row]").count() == 4
    first_bars = _bars(page)
    assert set(first_bars) == set(LEVEL)

    # The placement quiz: knows level 1, not level 2.
    page.click("[data-testid=placement-start]")
    assert "Placement" in page.locator("[data-testid=quiz-tag]").text_content()
    for _ in range(12):
        page.locator("[data-testid=quiz-check], [data-testid=placement-result]").first.wait_for()
        if page.locator("[data-testid=placement-result]").count():
            break
        item_id = page.locator("[data-testid=quiz]").get_attribute("data-item-id")
        _answer(page, right=LEVEL[ITEMS[item_id]["skills"][0]] == 1)
        page.click("[data-testid=quiz-next]")
    result = page.locator("[data-testid=placement-result]")
    result.wait_for()
    assert "Lv1" in result.inner_text()
    assert page.locator("[data-testid=learn-level]").inner_text() == "Lv1"
    assert "placement" in page.locator("[data-testid=level-source]").inner_text()
    recommended = page.locator("[data-testid=next-lesson-title]").inner_text()
    assert recommended in {"Lists", "Functions"}
    reason = page.locator("[data-testid=next-lesson-reason]").inner_text()
    assert recommended in reason
    link = page.locator("[data-testid=next-lesson-link]").get_attribute("href")
    assert link.startswith("/?q=") and COURSE_ID in link
    after_placement = _bars(page)
    assert after_placement["variables"] > first_bars["variables"]

    # Practice: right answers raise mastery until the recommendation moves on.
    page.click("[data-testid=practice-start]")
    changed = False
    for _ in range(16):
        before = _bars(page)
        item = _answer(page, right=True)
        skill = item["skills"][0]
        change = page.locator("[data-testid=mastery-change]").first.inner_text()
        assert "→" in change
        assert _bars(page)[skill] >= before[skill]
        if page.locator("[data-testid=next-lesson-title]").inner_text() != recommended:
            changed = True
            break
        page.click("[data-testid=quiz-next]")
    assert changed, "the recommendation never changed"
    now = _bars(page)
    assert any(now[s] > after_placement[s] for s in now)
    assert page.locator("[data-testid=skill-row].is-mastered").count() >= 1
    assert page.locator("[data-testid=achievement]").count() >= 1  # Lv1 reached by mastery
    assert page.locator("[data-testid=learn-error]").is_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "learn-en.png"), full_page=True)

    # Korean: labels, skill names and the reason; the quiz offers a practice item.
    page.click("[data-testid=lang-switch]")
    page.wait_for_url("**lang=ko**")
    assert page.locator("h1.learn-title").inner_text() == "나의 학습"
    assert "기술별 숙달도" in page.locator("[data-testid=mastery-chart]").inner_text()
    names = page.locator("[data-testid=skill-row] .skill-name").all_inner_texts()
    assert names == ["변수", "반복문", "리스트", "함수"]
    assert page.locator("[data-testid=next-lesson]").locator("h2").inner_text() == "다음 추천 학습"
    reason_ko = page.locator("[data-testid=next-lesson-reason]").inner_text()
    assert any("\uac00" <= ch <= "\ud7a3" for ch in reason_ko)
    assert page.locator("[data-testid=quiz-tag]").text_content() in {"연습", "복습"}
    _answer(page, right=False)
    assert "정답:" in page.locator("[data-testid=feedback-right]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "learn-ko.png"), full_page=True)

    # The chat page's level badge shows the learner model's level.
    level = page.locator("[data-testid=learn-level]").inner_text()
    page.goto(f"{server}/chat")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=level-badge]').textContent !== 'Lv?'"
    )
    assert page.locator("[data-testid=level-badge]").inner_text() == level


def test_the_dashboard_needs_login(server: str, page) -> None:
    page.goto(server + "/learn")
    assert "/login?next=%2Flearn" in page.url

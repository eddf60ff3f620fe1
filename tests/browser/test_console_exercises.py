"""The console's exercises page in real Chromium against a real server (tests in bubblewrap):
an instructor writes a new exercise, runs its tests against a wrong solution (refused, the
failing test shown), fixes the solution, saves, and finds the exercise in the list; then
adds a quiz question. Screenshots are kept as artifacts."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS, add_user, serving

pytestmark = pytest.mark.browser

COURSE_ID = "author-course"
USERNAME = "teacher1"
PASSWORD = "correct horse battery"

LESSON = """\
---
title: Strings
kind: lesson
level: 1
skills: [strings]
lang: en
---
# Strings

A string is text. `text.upper()` gives it in capitals, `len(text)` counts its characters.
"""

SOLUTION = "def shout(text):\n    return text.upper() + '!'\n"
WRONG = "def shout(text):\n    return text + '!'\n"
TESTS = json.dumps(
    {
        "function": "shout",
        "cases": [
            {"input": ["hi"], "expected": "HI!"},
            {"input": [""], "expected": "!"},
            {"input": ["Ok"], "expected": "OK!"},
        ],
    },
    indent=2,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("exercises-page")
    course = root / COURSE_ID
    (course / "lessons").mkdir(parents=True)
    (course / "course.yaml").write_text(
        f"id: {COURSE_ID}\nskills:\n  strings: {{name: Strings, name_ko: 문자열, level: 1}}\n",
        encoding="utf-8",
    )
    (course / "lessons" / "01-strings.md").write_text(LESSON, encoding="utf-8")
    data_dir = root / "var"
    add_user(data_dir, USERNAME, password=PASSWORD, course=COURSE_ID, role="instructor")
    with serving(data_dir, course) as url:
        yield url, data_dir


def _set_code(page, name: str, code: str) -> None:
    page.evaluate(
        "([name, code]) => document.querySelector(`textarea[name=${name}]`)"
        ".nextElementSibling.CodeMirror.setValue(code)",
        [name, code],
    )


def test_an_instructor_writes_checks_and_saves_an_exercise(server, page) -> None:
    url, data_dir = server
    page.goto(f"{url}/console/exercises?lang=en")
    page.wait_for_url("**/login**")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("form[data-testid=login-form] button[type=submit]")
    page.wait_for_url("**/console/exercises**")
    page.locator("#authoring-app[data-ready='1']").wait_for()
    assert page.locator("[data-testid=tab-exercises]").get_attribute("class") == "active"
    assert page.locator("[data-testid=ex-row]").count() == 0

    page.click("[data-testid=ex-new]")
    page.locator("#authoring-app[data-exercise-form-ready='1']").wait_for()
    page.fill("[data-testid=ex-id]", "ex-shout")
    page.fill("[data-testid=ex-title]", "Shout it")
    page.select_option("[data-testid=ex-level]", "1")
    page.fill("[data-testid=ex-skills]", "strings")
    page.fill("[data-testid=ex-statement]", "Write `shout(text)`: the text in capitals with `!`.")
    _set_code(page, "starter", "def shout(text):\n    pass\n")
    _set_code(page, "solution", WRONG)
    _set_code(page, "tests_json", TESTS)
    # The code fields are CodeMirror editors with Python highlighting.
    assert page.locator(".authoring-code .CodeMirror").count() == 4
    assert page.locator(".authoring-code .cm-keyword").count() >= 1

    page.click("[data-testid=ex-check]")
    result = page.locator("[data-testid=ex-check-result][data-ok='0']")
    result.wait_for(timeout=60_000)
    verdict = page.locator("[data-testid=ex-check-verdict]").inner_text()
    assert "1 of 3 tests" in verdict
    failed = page.locator("[data-testid=ex-check-case][data-status=failed]")
    assert failed.count() == 2
    assert "'HI!'" in failed.first.inner_text()  # the expected value is shown

    # Saving a failing exercise is refused, with the same failing tests.
    page.click("[data-testid=ex-save]")
    page.locator("[data-testid=ex-error]").wait_for(timeout=60_000)
    assert "does not pass its tests" in page.locator("[data-testid=ex-error]").inner_text()
    assert page.locator("[data-testid=ex-check-case][data-status=failed]").count() == 2
    page.screenshot(path=str(ARTIFACTS / "console-exercise-refused.png"), full_page=True)
    assert not (data_dir / "authored" / COURSE_ID / "exercises" / "ex-shout").exists()

    _set_code(page, "solution", SOLUTION)
    page.click("[data-testid=ex-check]")
    page.locator("[data-testid=ex-check-result][data-ok='1']").wait_for(timeout=60_000)
    assert "passes all 3 tests" in page.locator("[data-testid=ex-check-verdict]").inner_text()

    page.click("[data-testid=ex-save]")
    page.wait_for_url("**saved=ex-shout**", timeout=60_000)
    page.locator("#authoring-app[data-ready='1']").wait_for()
    assert (
        "Saved and indexed: exercise ex-shout"
        in page.locator("[data-testid=authoring-saved]").inner_text()
    )
    row = page.locator("[data-testid=ex-row][data-id=ex-shout]")
    assert "Shout it" in row.inner_text() and "written here" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-exercise-saved.png"), full_page=True)
    assert (data_dir / "authored" / COURSE_ID / "exercises" / "ex-shout" / "tests.json").is_file()

    # Opening it again loads what was saved.
    row.locator("[data-testid=ex-edit]").click()
    page.locator("[data-testid=ex-form]:not([hidden])").wait_for()
    assert page.locator("[data-testid=ex-id]").input_value() == "ex-shout"
    assert "upper()" in page.locator("textarea[name=solution] + .CodeMirror").inner_text()

    # A quiz question: the answer is picked from the options typed.
    page.click("[data-testid=quiz-new]")
    page.fill("[data-testid=quiz-id]", "str-1")
    page.fill("[data-testid=quiz-skills]", "strings")
    page.fill("[data-testid=quiz-question]", "What does `'ab'.upper()` return?")
    page.fill("[data-testid=quiz-options]", "'ab'\n'AB'\n'Ab'")
    page.select_option("[data-testid=quiz-answer]", "1")
    page.fill("[data-testid=quiz-explanation]", "upper() capitalises every letter.")
    page.click("[data-testid=quiz-save]")
    page.locator("[data-testid=quiz-row][data-id=str-1]").wait_for(timeout=30_000)
    assert "'AB'" in page.locator("[data-testid=quiz-row][data-id=str-1]").inner_text()

    # The page speaks Korean too.
    page.goto(f"{url}/console/exercises?lang=ko")
    page.locator("#authoring-app[data-ready='1']").wait_for()
    assert page.locator("[data-testid=tab-exercises]").inner_text() == "실습·퀴즈"
    assert page.locator("[data-testid=ex-new]").inner_text() == "새 실습"
    page.screenshot(path=str(ARTIFACTS / "console-exercises-ko.png"), full_page=True)

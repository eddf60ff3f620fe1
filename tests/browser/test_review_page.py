"""The code review page in real Chromium against a real server (tests in bubblewrap): a
trainee picks an exercise, submits a buggy solution, sees the failing test, the highlighted
suspicious line and a finding anchored to its line, then resubmits a fixed version that
passes, with the diff against the first attempt; the page also speaks Korean."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS, add_user, log_in, serving

pytestmark = pytest.mark.browser

COURSE_ID = "rev-course"
USERNAME = "coder1"
PASSWORD = "correct horse battery"

LESSON = """\
---
title: Counting with loops
kind: lesson
level: 1
skills: [loops]
lang: en
---
# Counting with loops

## Counting matches

To count the items that match a condition, start a counter at 0 and add 1 inside an if
statement in the loop. The comparison operators (<, >, ==) decide which items count.
"""

EXERCISE = """\
---
title: Count the positives
kind: exercise
level: 1
skills: [loops]
exercise: ex-positives
lang: en
---
# Count the positives

Write `count_positive(numbers)`: how many numbers in the list are greater than zero.
"""

SOLUTION = """\
def count_positive(numbers):
    count = 0
    for n in numbers:
        if n > 0:
            count += 1
    return count
"""

# Line 5 is the bug: `>=` counts zeros too (line 3 is an unused variable).
BUGGY = """\
def count_positive(numbers):
    count = 0
    unused = 42
    for n in numbers:
        if n >= 0:
            count += 1
    return count
"""

TESTS = {
    "function": "count_positive",
    "cases": [
        {"input": [[]], "expected": 0},
        {"input": [[1, 2, 3]], "expected": 3},
        {"input": [[-1, 0, 1]], "expected": 1},
        {"input": [[0, 0]], "expected": 0},
        {"input": [[-5, 5]], "expected": 1},
    ],
}


def write_course(root) -> None:
    files = {
        "course.yaml": (
            f"id: {COURSE_ID}\nskills:\n  loops: {{name: Loops, name_ko: 반복문, level: 1}}\n"
        ),
        "lessons/01-counting.md": LESSON,
        "exercises/ex-positives/exercise.md": EXERCISE,
        "exercises/ex-positives/solution.py": SOLUTION,
        "exercises/ex-positives/starter.py": "def count_positive(numbers):\n    pass\n",
        "exercises/ex-positives/tests.json": json.dumps(TESTS),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-page")
    course = root / COURSE_ID
    write_course(course)
    data_dir = root / "var"
    add_user(data_dir, USERNAME, password=PASSWORD, course=COURSE_ID, name="Lee Jun")
    with serving(data_dir, course) as url:
        yield url


def _log_in(page, server: str, path: str) -> None:
    log_in(page, server, (USERNAME, PASSWORD), path)
    page.locator("#review-app[data-editor-ready='1']").wait_for()
    # The exercise list, the exercise named in the address and its history load after the editor.
    page.locator("#review-app[data-exercises-ready='1']").wait_for()


def _set_code(page, code: str) -> None:
    page.evaluate("code => document.querySelector('.CodeMirror').CodeMirror.setValue(code)", code)


def _wait_for_verdict(page, expected: str) -> None:
    page.locator(f"[data-testid=review-verdict][data-verdict='{expected}']").wait_for(
        timeout=60_000
    )


def test_submit_buggy_see_the_failing_test_and_line_then_fix_it(server: str, page) -> None:
    _log_in(page, server, "/review?lang=en&exercise=ex-positives")
    assert page.locator("h1.learn-title").inner_text() == "Code review"
    assert page.locator("#review-exercise").input_value() == "ex-positives"
    # The starter code is loaded into the editor (line numbers and Python highlighting).
    page.wait_for_function(
        "() => document.querySelector('.CodeMirror').CodeMirror.getValue()"
        ".includes('def count_positive')"
    )
    assert "def count_positive" in page.locator(".CodeMirror").inner_text()
    assert page.locator(".CodeMirror-linenumber").count() >= 2
    assert page.locator(".CodeMirror .cm-keyword").count() >= 1

    _set_code(page, BUGGY)
    page.click("[data-testid=review-submit]")
    _wait_for_verdict(page, "failed")

    cases = page.locator("[data-testid=review-case]")
    statuses = [cases.nth(i).get_attribute("data-status") for i in range(cases.count())]
    assert len(statuses) == 5 and statuses.count("failed") == 2
    failing = page.locator("[data-testid=review-case][data-status=failed]").first.inner_text()
    assert "count_positive" in failing or "[" in failing  # the input is shown
    # The suspicious line is highlighted in the editor and listed with a question.
    suspicious = page.locator("[data-testid=review-suspicious]")
    assert suspicious.count() >= 1
    lines = [int(suspicious.nth(i).get_attribute("data-line")) for i in range(suspicious.count())]
    assert 5 in lines  # `if n >= 0:`
    assert page.locator(".CodeMirror .cm-suspicious").count() >= 1
    highlighted = page.evaluate(
        "() => Array.from(document.querySelectorAll('.CodeMirror-code > div'))"
        ".map((d, i) => d.querySelector('.cm-suspicious') ? i + 1 : 0).filter(Boolean)"
    )
    assert 5 in highlighted
    # A static finding anchored to its line (the unused variable on line 3), with a gutter mark.
    findings = page.locator("[data-testid=review-finding]")
    assert findings.count() >= 1
    assert "3" in [findings.nth(i).get_attribute("data-line") for i in range(findings.count())]
    assert page.locator(".review-gutter").count() >= 1
    narrative = page.locator("[data-testid=review-narrative]").inner_text()
    assert "3 of 5 tests pass" in narrative
    assert "n > 0" not in narrative  # never the solution
    page.screenshot(path=str(ARTIFACTS / "review-failed.png"), full_page=True)

    _set_code(page, SOLUTION)
    page.click("[data-testid=review-submit]")
    _wait_for_verdict(page, "passed")
    cases = page.locator("[data-testid=review-case]")
    assert all(cases.nth(i).get_attribute("data-status") == "passed" for i in range(cases.count()))
    assert page.locator(".CodeMirror .cm-suspicious").count() == 0
    page.locator("[data-testid=review-diff]").evaluate("el => el.parentElement.open = true")
    assert "+        if n > 0:" in page.locator("[data-testid=review-diff]").inner_text()
    attempts = page.locator("[data-testid=review-attempt]")
    assert attempts.count() == 2
    page.screenshot(path=str(ARTIFACTS / "review-passed.png"), full_page=True)

    # The first attempt can be opened again from the history.
    attempts.nth(1).locator("button").click()
    _wait_for_verdict(page, "failed")
    assert "unused = 42" in page.locator(".CodeMirror").inner_text()


def test_the_review_page_speaks_korean(server: str, page) -> None:
    _log_in(page, server, "/review?lang=ko&exercise=ex-positives")
    assert page.locator("h1.learn-title").inner_text() == "코드 리뷰"
    _set_code(page, BUGGY)
    page.click("[data-testid=review-submit]")
    _wait_for_verdict(page, "failed")

    assert (
        "테스트 5개 중 3개를 통과했습니다"
        in page.locator("[data-testid=review-narrative]").inner_text()
    )
    assert "번 줄" in page.locator("[data-testid=review-suspicious]").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "review-ko.png"), full_page=True)

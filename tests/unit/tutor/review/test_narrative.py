"""The composed (offline) review text and the guard that keeps solutions out of reviews."""

from __future__ import annotations

from tests.sum_evens import BUGGY, SOLUTION, failed_run
from tutor.review.narrative import ReviewFacts, compose_offline, guard_text
from tutor.review.submission import files_diff
from tutor.review.types import SourceFile


def facts(**changes) -> ReviewFacts:
    base = dict(
        lang="en",
        level=1,
        files=(SourceFile("solution.py", BUGGY),),
        exercise="Sum of evens",
        tests=failed_run(),
        findings=[
            {
                "line": 2,
                "title": "Unused variable",
                "explanation": "It is never read.",
                "folded": 0,
                "severity": "warning",
                "category": "bug",
            }
        ],
        hidden_count=4,
        suspicious=[
            {
                "file": "solution.py",
                "line": 4,
                "code": "total += n",
                "question": "Which numbers reach this line?",
            }
        ],
        links=[{"n": 1, "title": "Conditionals", "heading": "if statements"}],
        withheld=(SOLUTION,),
    )
    base.update(changes)
    return ReviewFacts(**base)


def test_the_composed_review_leads_with_tests_then_the_failure_then_the_line() -> None:
    text = compose_offline(facts())

    assert text.startswith("1 of 2 tests pass.")
    assert text.index("First failing test: case 2") < text.index("Line 4 `total += n`")
    assert "- Input: sum_evens([1, 2])" in text and "- Expected: 2" in text
    assert "- Got: 3" in text
    assert "Which numbers reach this line?" in text
    assert "4 more findings are available" in text
    assert "[1] Conditionals › if statements" in text


def test_korean_review_speaks_korean() -> None:
    text = compose_offline(facts(lang="ko"))

    assert text.startswith("테스트 2개 중 1개를 통과했습니다.")
    assert "4번 줄" in text and "기대한 값: 2" in text


def test_level_4_drops_the_explanations_of_findings() -> None:
    assert "It is never read." in compose_offline(facts(level=1))
    assert "It is never read." not in compose_offline(facts(level=4))


def test_all_passing_without_findings_says_move_on() -> None:
    passed = {
        "verdict": "passed",
        "message": "",
        "cases": [
            {"name": "case 1", "status": "passed", "input": "", "expected": "0", "actual": "0"}
        ],
    }

    text = compose_offline(facts(tests=passed, findings=[], hidden_count=0, suspicious=[]))

    assert text.startswith("All 1 tests pass.")
    assert "move on to the next exercise" in text


def test_static_only_review_says_there_were_no_tests() -> None:
    text = compose_offline(facts(tests=None, suspicious=[]))

    assert text.startswith("There are no tests to run for this code")


def test_guard_removes_solution_lines_the_trainee_did_not_write() -> None:
    leaked = "Try this on line 4:\n        if n % 2 == 0:\nthen add."

    text, changed = guard_text(leaked, facts())

    assert changed
    assert "n % 2 == 0" not in text
    assert "[withheld: part of the solution]" in text


def test_guard_keeps_quotes_of_the_trainees_own_lines() -> None:
    quoted = "Look at line 3:\n```python\n    for n in numbers:\n```\nWhich n reach line 4?"

    text, changed = guard_text(quoted, facts())

    assert not changed
    assert text == quoted


def test_guard_drops_code_blocks_that_are_not_the_trainees_code() -> None:
    rewritten = "Here is a fix:\n```python\nreturn sum(n for n in numbers if n % 2 == 0)\n```"

    text, changed = guard_text(rewritten, facts(withheld=()))

    assert changed
    assert "sum(n for n" not in text


def test_diff_against_the_previous_attempt_shows_changed_added_and_removed_files() -> None:
    before = [SourceFile("a.py", "x = 1\ny = 2\n"), SourceFile("old.py", "z = 3\n")]
    after = [SourceFile("a.py", "x = 1\ny = 3\n"), SourceFile("new.py", "w = 4\n")]

    diff = files_diff(before, after, 1, 2)

    assert "--- attempt 1/a.py\n+++ attempt 2/a.py\n" in diff
    assert "-y = 2\n+y = 3\n" in diff
    assert "--- attempt 1/old.py\n+++ /dev/null\n" in diff and "-z = 3\n" in diff
    assert "--- /dev/null\n+++ attempt 2/new.py\n" in diff and "+w = 4\n" in diff

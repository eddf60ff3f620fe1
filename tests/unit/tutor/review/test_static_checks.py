"""Static review: per-level rule sets, syntax explanations (en/ko), bandit, radon, folding,
caps, and robustness on bad input. Real ruff, bandit and radon; nothing mocked."""

from __future__ import annotations

import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from tutor.errors import InvalidInputError
from tutor.review import static_checks
from tutor.review.static_checks import (
    CAPS,
    MAX_TOTAL_CHARS,
    StaticReview,
    review_static,
    rule_set,
)
from tutor.review.types import Finding, SourceFile

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def review(text: str, *, level: int, lang: str = "en", name: str = "solution.py") -> StaticReview:
    return review_static([SourceFile(name, text)], level=level, lang=lang)


def everything(result: StaticReview) -> list[Finding]:
    return list(result.findings) + list(result.hidden)


def codes(result: StaticReview) -> set[str]:
    return {f.code for f in everything(result)}


def selects(level: int, code: str) -> bool:
    return any(code.startswith(selector) for selector in rule_set(level))


# --- rule sets per level -----------------------------------------------------------------------
def test_rule_sets_grow_with_the_level() -> None:
    for lower, higher in ((1, 2), (2, 3), (3, 4)):
        assert set(rule_set(lower)) < set(rule_set(higher))
    # likely bugs from Lv1, line length only at Lv4
    assert selects(1, "B006") and selects(1, "F821") and selects(1, "F841")
    assert [lv for lv in (1, 2, 3, 4) if selects(lv, "E501")] == [4]


@pytest.mark.parametrize("level", [0, 5, -1, True])
def test_a_level_outside_1_to_4_is_a_programmer_error(level: int) -> None:
    with pytest.raises(InvalidInputError):
        rule_set(level)
    with pytest.raises(InvalidInputError):
        review("x = 1\n", level=level)


MUTABLE_DEFAULT = "def add(item, items=[]):\n    items.append(item)\n    return items\n"


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_a_mutable_default_argument_is_shown_from_lv1(level: int) -> None:
    result = review(MUTABLE_DEFAULT, level=level)
    [finding] = [f for f in result.findings if f.code == "B006"]
    assert (finding.tool, finding.line, finding.column) == ("ruff", 1, 21)
    assert (finding.category, finding.severity) == ("bug", "warning")
    assert "default" in finding.explanation.lower()
    assert finding.concept


def test_a_mutable_default_argument_explained_in_korean() -> None:
    [finding] = [f for f in review(MUTABLE_DEFAULT, level=1, lang="ko").findings]
    assert finding.code == "B006"
    assert HANGUL.search(finding.title) and HANGUL.search(finding.explanation)
    assert "None" in finding.explanation  # the fix it points at: a None default


def test_line_length_is_style_only_at_lv4() -> None:
    text = "def greet():\n    return '" + "a" * 120 + "'\n"
    for level in (1, 2, 3):
        assert "E501" not in codes(review(text, level=level))
    [finding] = [f for f in everything(review(text, level=4)) if f.code == "E501"]
    assert (finding.line, finding.category, finding.severity) == (2, "style", "info")


def test_lv2_adds_common_mistakes_that_lv1_does_not_show() -> None:
    text = "def check(x):\n    if x == None:\n        return 0\n    return 1\n"
    assert "E711" not in codes(review(text, level=1))
    [finding] = [f for f in review(text, level=2).findings if f.code == "E711"]
    assert finding.line == 2


def test_lv3_adds_idioms() -> None:
    text = (
        "def is_adult(age):\n    if age >= 18:\n        return True\n"
        "    else:\n        return False\n"
    )
    assert "SIM103" not in codes(review(text, level=2))
    [finding] = [f for f in everything(review(text, level=3)) if f.code == "SIM103"]
    assert (finding.line, finding.category) == (2, "idiom")


# --- syntax errors -----------------------------------------------------------------------------
SYNTAX_CASES = [
    # (source, line Python names, the case's English title)
    ("x = 1\ny = 2\nif x > y\n    print(x)\n", 3, "Missing colon"),
    ("total = 0\nnums = [1, 2,\nprint(total)\n", 2, "Bracket never closed"),
    ("name = 'Kim\nprint(name)\n", 1, "String never closed"),
    ("def f():\nreturn 1\n", 2, "Indented block expected"),
    ("x = 1\n    y = 2\n", 2, "Unexpected indentation"),
    ("x = 3\nif x = 3:\n    pass\n", 2, "'=' where '==' was meant"),
    ("print 'hello'\n", 1, "print needs parentheses"),
    ("x = 1\ny = (x\uff09\n", 2, "Character Python cannot read"),
    ("if a:\n    pass\nelse if b:\n    pass\n", 3, "Use elif, not else if"),
    ("x = 1\nclass = 'A'\n", 2, "Keyword used as a name"),
    ("for i in range(3):\n    pass\nbreak\n", 3, "'break' outside a loop"),
    ("items = [1 2 3]\n", 1, "Missing comma?"),
]


@pytest.mark.parametrize(("text", "line", "title"), SYNTAX_CASES)
def test_syntax_errors_are_explained_at_their_line_in_english(
    text: str, line: int, title: str
) -> None:
    result = review(text, level=1)
    assert not result.syntax_ok
    [finding] = result.findings
    assert (finding.tool, finding.code, finding.category, finding.severity) == (
        "python",
        "E999",
        "syntax",
        "error",
    )
    assert (finding.line, finding.title) == (line, title)
    explanation = finding.explanation.lower()
    assert f"line {line}" in explanation or f"line {line - 1}" in explanation
    assert finding.concept


@pytest.mark.parametrize(("text", "line", "title"), SYNTAX_CASES)
def test_syntax_errors_are_explained_at_their_line_in_korean(
    text: str, line: int, title: str
) -> None:
    [finding] = review(text, level=1, lang="ko").findings
    assert finding.line == line
    assert HANGUL.search(finding.title) and finding.title != title
    assert f"{line}번째 줄" in finding.explanation or f"{line - 1}번째 줄" in finding.explanation


def test_the_expected_block_names_the_line_that_opened_it() -> None:
    [finding] = review("def f():\nreturn 1\n", level=1).findings
    assert "after line 1" in finding.explanation


def test_the_unreadable_character_is_named() -> None:
    [finding] = review("y = (1\uff09\n", level=1).findings
    assert "U+FF09" in finding.explanation


def test_a_file_with_a_syntax_error_skips_the_other_tools_and_says_so() -> None:
    text = "def add(item, items=[]):\n    return undefined\nif True\n    pass\n"
    result = review(text, level=4)
    assert [f.code for f in everything(result)] == ["E999"]  # no B006, no F821
    assert result.complexity == {}
    assert any("solution.py" in note and "skipped" in note for note in result.notes)
    assert "once it has no syntax error" in result.findings[0].explanation


def test_a_syntax_error_in_one_file_does_not_stop_the_others() -> None:
    files = [SourceFile("a.py", "if x\n"), SourceFile("b.py", MUTABLE_DEFAULT)]
    result = review_static(files, level=1)
    assert not result.syntax_ok
    assert {(f.file, f.code) for f in result.findings} == {("a.py", "E999"), ("b.py", "B006")}
    assert result.complexity == {"b.py:add": 1}


# --- bandit ------------------------------------------------------------------------------------
def test_bandit_finds_eval_of_input_at_lv1() -> None:
    result = review("value = eval(input())\nprint(value)\n", level=1)
    [finding] = [f for f in result.findings if f.tool == "bandit"]
    assert (finding.code, finding.line, finding.category) == ("B307", 1, "security")
    assert "literal_eval" in finding.explanation


def test_bandit_finds_shell_true_as_an_error() -> None:
    text = "import subprocess\n\n\ndef run(name):\n    subprocess.call('ls ' + name, shell=True)\n"
    result = review(text, level=1, lang="ko")
    [finding] = [f for f in result.findings if f.code == "B602"]
    assert (finding.line, finding.severity, finding.category) == (5, "error", "security")
    assert HANGUL.search(finding.explanation)
    # `import subprocess` (B404, low severity) is noise before Lv4
    assert "B404" not in codes(result)
    assert "B404" in codes(review(text, level=4))


def test_asserts_are_not_security_findings() -> None:
    text = "def test_add():\n    assert 1 + 1 == 2\n"
    assert "B101" not in codes(review(text, level=4))


def test_suppression_comments_do_not_hide_the_lesson() -> None:
    text = (
        "# ruff: noqa\ndef add(item, items=[]):  # noqa: B006\n    return eval(input())  # nosec\n"
    )
    result = review(text, level=1)
    assert {(f.code, f.line) for f in result.findings} == {("B006", 2), ("B307", 3)}


def test_random_is_a_security_note_only_at_lv4() -> None:
    text = "import random\n\nroll = random.randint(1, 6)\nprint(roll)\n"
    assert "B311" not in codes(review(text, level=2))
    [finding] = [f for f in everything(review(text, level=4)) if f.code == "B311"]
    assert (finding.line, finding.severity) == (3, "info")


# --- radon -------------------------------------------------------------------------------------
def branches(name: str, n: int, indent: str = "") -> str:
    """A function with n sequential ifs: cyclomatic complexity n + 1."""
    body = "".join(f"{indent}    if x == {i}:\n{indent}        y += {i}\n" for i in range(n))
    return f"{indent}def {name}(x):\n{indent}    y = 0\n{body}{indent}    return y\n"


def test_complexity_is_always_reported_and_a_finding_only_above_the_level_limit() -> None:
    text = branches("classify", 8) + "\n\nclass Grader:\n" + branches("grade", 2, "    ")
    for level in (1, 2, 3):
        result = review(text, level=level)
        assert result.complexity == {"solution.py:classify": 9, "solution.py:Grader.grade": 3}
        assert "C901" not in codes(result)
    [finding] = [f for f in everything(review(text, level=4)) if f.code == "C901"]
    assert (finding.tool, finding.category, finding.line) == ("radon", "complexity", 1)
    assert "classify" in finding.explanation and "9" in finding.explanation
    assert finding.end_line == 2 + 2 * 8 + 1


def test_an_extreme_function_is_flagged_even_at_lv1() -> None:
    result = review(branches("huge", 25), level=1)
    assert result.complexity == {"solution.py:huge": 26}
    [finding] = [f for f in result.findings if f.code == "C901"]
    assert finding.severity == "warning"


# --- noise control -----------------------------------------------------------------------------
def test_the_same_rule_on_many_lines_folds_into_one_at_the_first_line() -> None:
    text = "def f(a, b, c, d, e):\n" + "".join(
        f"    if {v} == None:\n        return 0\n" for v in "abcde"
    )
    text += "    return 1\n"
    [finding] = [f for f in review(text, level=2).findings if f.code == "E711"]
    assert (finding.line, finding.folded) == (2, 4)
    assert "lines 4, 6, 8, 10" in finding.explanation
    [korean] = [f for f in review(text, level=2, lang="ko").findings if f.code == "E711"]
    assert "4, 6, 8, 10번째 줄" in korean.explanation


def test_two_tools_on_the_same_line_fold() -> None:
    text = "try:\n    x = int('1')\nexcept:\n    pass\n"
    result = review(text, level=4)
    at_line_3 = [f for f in everything(result) if f.line == 3]
    assert len(at_line_3) == 1  # ruff E722 (bare except) + bandit B110 (except: pass)
    assert at_line_3[0].folded == 1


CAP_FILE = """def f(items=[]):
    total = 0
    total = total
    unused = 5
    if total is 1:
        total == 2
    d = {"a": 1, "a": 2}
    return missing + d["a"] + len(items)
"""


def test_the_cap_keeps_the_most_important_and_hides_the_rest() -> None:
    result = review(CAP_FILE, level=1)
    assert len(result.findings) == CAPS[1] == 5
    # the error first (it will fail at run time), then the likely bugs by line
    assert [(f.code, f.line) for f in result.findings] == [
        ("F821", 8),
        ("B006", 1),
        ("PLW0127", 3),
        ("F841", 4),
        ("F632", 5),
    ]
    assert [(f.code, f.line) for f in result.hidden] == [("B015", 6), ("F601", 7)]


def test_every_finding_has_a_concept_and_an_explanation_in_both_languages() -> None:
    text = CAP_FILE + "\nvalue = eval(input())\n" + branches("big", 9)
    for lang in ("en", "ko"):
        found = everything(review(text, level=4, lang=lang))
        assert len(found) >= 8
        for finding in found:
            assert finding.concept.strip() and finding.title.strip()
            assert finding.explanation.strip()
            assert finding.line >= 1 and finding.end_line >= finding.line


def test_a_rule_without_a_korean_note_is_marked_as_english() -> None:
    [finding] = [f for f in everything(review("import os, sys\n", level=4, lang="ko"))
                 if f.code == "E401"]  # fmt: skip
    assert finding.explanation.startswith("(영어 설명)")


def test_the_review_is_json_serialisable() -> None:
    result = review(CAP_FILE, level=4, lang="ko")
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert len(data["findings"]) == len(result.findings)
    assert Finding.from_dict(data["findings"][0]) == result.findings[0]


# --- robustness --------------------------------------------------------------------------------
def test_no_files_and_empty_files() -> None:
    empty = review_static([], level=1)
    assert (empty.findings, empty.hidden, empty.syntax_ok, empty.complexity) == ((), (), True, {})
    blank = review("", level=4)
    assert (blank.findings, blank.syntax_ok, blank.complexity) == ((), True, {})


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("PK\x03\x04\x00\x00binary\x00", "Not a text file"),
        ("x = 1\nname = '\udcff'\n", "Text that cannot be read"),
        ("Dear teacher, here is my homework.\n", "Syntax error"),
        ("x = " + "(" * 300 + ")" * 300 + "\n", "Nested too deeply"),
        ("x = " + "-" * 100_000 + "1\n", "Nested too deeply"),
    ],
)
def test_garbage_becomes_a_syntax_finding_not_an_exception(text: str, title: str) -> None:
    result = review(text, level=1)
    [finding] = result.findings
    assert (finding.code, finding.title) == ("E999", title)
    assert not result.syntax_ok


def test_the_nul_byte_is_found_on_its_line() -> None:
    [finding] = review("x = 1\ny = 2\nz\x00 = 3\n", level=1).findings
    assert finding.line == 3


def test_a_huge_line_and_a_byte_order_mark() -> None:
    text = "\ufeffdata = '" + "x" * 200_000 + "'\n"
    result = review(text, level=4)
    assert result.syntax_ok
    assert [f.code for f in everything(result)] == ["E501"]


def test_a_long_file_folds_its_repeats() -> None:
    text = "".join(f"def f{i}(items=[]):\n    return items\n\n\n" for i in range(1250))
    result = review(text, level=1)
    assert len(text.splitlines()) == 5000
    [finding] = result.findings
    assert (finding.code, finding.line, finding.folded) == ("B006", 1, 1249)
    assert len(result.complexity) == 1250


def test_an_oversized_submission_is_not_reviewed_and_says_so() -> None:
    files = [SourceFile("big.py", "x = 1\n" * (MAX_TOTAL_CHARS // 6 + 1)),
             SourceFile("small.py", MUTABLE_DEFAULT)]  # fmt: skip
    result = review_static(files, level=1)
    assert [(f.file, f.code) for f in result.findings] == [("small.py", "B006")]
    assert any("big.py" in note for note in result.notes)


def test_odd_file_names_are_reported_as_given() -> None:
    for name in ("../../etc/passwd", "과제 1.py", "", "notes.txt", "a\\b.py"):
        [finding] = review(MUTABLE_DEFAULT, level=1, name=name).findings
        assert (finding.file, finding.code) == (name, "B006")


def test_two_files_with_the_same_name_are_both_reviewed() -> None:
    files = [SourceFile("main.py", MUTABLE_DEFAULT), SourceFile("main.py", "print(missing)\n")]
    result = review_static(files, level=1)
    assert {f.code for f in result.findings} == {"B006", "F821"}


def test_concurrent_reviews_give_the_same_findings_as_one_at_a_time() -> None:
    texts = [CAP_FILE, "value = eval(input())\n", "try:\n    x = 1\nexcept:\n    pass\n"]
    alone = [review(text, level=4) for text in texts]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda i: review(texts[i % 3], level=4), range(12)))
    for i, result in enumerate(together):
        assert (result.findings, result.hidden) == (alone[i % 3].findings, alone[i % 3].hidden)


def test_every_lv1_and_lv2_rule_and_syntax_case_has_korean_text() -> None:
    notes = static_checks._notes()
    explicit = [code for code in rule_set(2) if re.fullmatch(r"[A-Z]+\d{3,4}", code)]
    assert len(explicit) > 40
    missing = [code for code in explicit if not static_checks._note("ruff", code).get("ko")]
    assert missing == []
    cases = {case for case, _ in static_checks._SYNTAX_CASES} | {"generic", "else_if"}
    for case in cases | {"keyword_as_name", "bad_text"}:
        note = notes["syntax"][case]
        assert HANGUL.search(note["ko"]) and note["en"] and note["title"]["ko"]
        assert note["concept"]["en"]


def test_tools_that_cannot_run_become_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/kdt-review")
    result = review_static(
        [SourceFile("a.py", MUTABLE_DEFAULT), SourceFile("b.py", "if x\n")], level=1
    )
    assert [(f.file, f.code) for f in result.findings] == [("b.py", "E999")]
    assert any("could not check a.py" in note for note in result.notes)

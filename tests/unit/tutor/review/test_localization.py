"""Fault localization: Ochiai maths, ranks with ties against us, mutation, questions."""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import replace

import pytest

from eval.review_bench import bug_targets, found_within
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.localization import (
    MutationOptions,
    guiding_question,
    ochiai_ranking,
    ochiai_scores,
    rank_lines,
    statement_kinds,
    tied_ranks,
)
from tutor.review.mutation import line_mutants
from tutor.review.sandbox import SandboxLimits, build_sandbox
from tutor.review.types import CaseResult, CaseStatus, SourceFile, SuspiciousLine, TestRun

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def case(name: str, status: CaseStatus, lines: Sequence[int], *, file: str = "a.py", **kw):
    return CaseResult(name=name, status=status, lines=frozenset((file, n) for n in lines), **kw)


def run_of(*cases: CaseResult, executable: Sequence[int] = (), file: str = "a.py") -> TestRun:
    return TestRun(
        verdict="failed" if any(c.status != "passed" for c in cases) else "passed",
        cases=cases,
        executable=frozenset((file, n) for n in executable),
    )


# --- Ochiai -----------------------------------------------------------------------------
def test_ochiai_on_a_hand_made_spectrum() -> None:
    cases = [
        case("t1", "failed", [1, 2, 3]),
        case("t2", "timeout", [1, 3]),  # a timed-out test is a failing test; its lines count
        case("t3", "passed", [1, 2]),
        case("t4", "passed", [1]),
    ]
    lines = [("a.py", n) for n in (1, 2, 3, 4)]
    scores = ochiai_scores(cases, lines)
    # failing = 2. line 1: ef 2, ep 2 -> 2/sqrt(2*4); line 2: ef 1, ep 1 -> 1/sqrt(2*2);
    # line 3: ef 2, ep 0 -> 2/sqrt(2*2) = 1; line 4: never run -> 0
    assert scores[("a.py", 1)] == pytest.approx(0.70710678)
    assert scores[("a.py", 2)] == pytest.approx(0.5)
    assert scores[("a.py", 3)] == pytest.approx(1.0)
    assert scores[("a.py", 4)] == 0.0


def test_ochiai_is_zero_everywhere_without_a_failing_test() -> None:
    cases = [case("t1", "passed", [1, 2])]
    assert set(ochiai_scores(cases, [("a.py", 1), ("a.py", 2)]).values()) == {0.0}


def test_ties_take_the_tied_groups_last_position() -> None:
    assert tied_ranks([0.9, 0.5, 0.5, 0.1]) == [1, 3, 3, 4]
    assert tied_ranks([0.7, 0.7, 0.7]) == [3, 3, 3]
    assert tied_ranks([]) == []


def test_ochiai_ranking_counts_ties_against_us() -> None:
    run = run_of(
        case("t1", "failed", [1, 2, 3]),
        case("t2", "failed", [1, 2, 3]),
        case("t3", "passed", [1]),
        executable=[1, 2, 3, 4],
    )
    ranked = {s.line: s for s in ochiai_ranking(run)}
    # lines 2 and 3: 2/sqrt(2*2) = 1.0, tied -> both at position 2
    assert ranked[2].rank == ranked[3].rank == 2
    assert ranked[2].score == 1.0
    assert ranked[1].rank == 3 and ranked[1].score == pytest.approx(2 / math.sqrt(6), abs=1e-4)
    assert ranked[4].rank == 4 and ranked[4].score == 0.0


def test_ochiai_ranking_is_empty_when_every_test_passes() -> None:
    assert ochiai_ranking(run_of(case("t1", "passed", [1]), executable=[1])) == ()


# --- the benchmark's scoring rules ---------------------------------------------------------
def test_missing_code_counts_the_line_before_and_the_next_code_line() -> None:
    text = "def f(xs):\n    out = []\n\n    # a comment\n    return out\n"
    assert bug_targets(text, bug_lines=(), missing_after=(2,)) == {2, 5}
    assert bug_targets(text, bug_lines=(5,), missing_after=()) == {5}
    # code missing after the last line: only that line
    assert bug_targets(text, bug_lines=(), missing_after=(5,)) == {5}


def test_found_within_reads_ranks_that_already_count_ties() -> None:
    ranked = [
        SuspiciousLine("a.py", 4, 1.0, 1),
        SuspiciousLine("a.py", 7, 0.5, 3),
        SuspiciousLine("a.py", 8, 0.5, 3),
    ]
    assert found_within(ranked, frozenset({4}), 1, file="a.py")
    assert not found_within(ranked, frozenset({7}), 1, file="a.py")
    assert found_within(ranked, frozenset({7}), 3, file="a.py")
    assert not found_within(ranked, frozenset({4}), 1, file="b.py")


# --- statement kinds and questions ---------------------------------------------------------
KINDS_SOURCE = textwrap.dedent(
    '''\
    def walk(xs, k):
        """Docs."""
        total = 0
        for x in xs:
            if x > k:
                total += x
            while k > 0:
                k = k - 1
        print(total)
        last = xs[len(xs) - 1]
        return walk(xs[1:], k)
    '''
)


def test_statement_kinds() -> None:
    kinds = statement_kinds(KINDS_SOURCE)
    assert kinds == {
        1: "def",
        3: "init",
        4: "loop",
        5: "condition",
        6: "arith",
        7: "while",
        8: "arith",
        9: "call",
        10: "index",
        11: "recursion",
    }
    assert statement_kinds("def broken(:\n") == {}


@pytest.mark.parametrize(
    ("kind", "en_word", "ko_word"),
    [
        ("condition", "condition", "조건"),
        ("while", "loop", "반복문"),
        ("loop", "loop", "반복문"),
        ("return", "give back", "돌려주나요"),
        ("recursion", "call", "호출"),
        ("index", "index", "인덱스"),
        ("arith", "compute", "계산"),
        ("call", "add or change", "추가"),
        ("init", "start from", "시작"),
    ],
)
def test_a_question_per_statement_kind_in_both_languages(kind, en_word, ko_word) -> None:
    failing = CaseResult("t1", "failed", input="[3, 1]", expected="[1, 3]", actual="[3, 1]")
    en = guiding_question(kind, line=7, case=failing, lang="en")
    ko = guiding_question(kind, line=7, case=failing, lang="ko")
    assert "line 7" in en.lower() and "[3, 1]" in en and en_word in en
    assert not HANGUL.search(en)
    assert "7번째 줄" in ko and "[3, 1]" in ko and ko_word in ko
    assert HANGUL.search(ko)


def test_questions_follow_what_the_failing_test_did() -> None:
    empty = CaseResult("t1", "failed", input="[]", expected="0")
    hung = CaseResult("t2", "timeout", input="[5]")
    raised = CaseResult("t3", "error", input="[2]", error="IndexError: list index out of range")
    assert "empty" in guiding_question("arith", line=3, case=empty)
    nested = CaseResult("t4", "failed", input="flatten([[1, []], 2])", expected="[1, 2]")
    assert "empty" not in guiding_question("arith", line=3, case=nested)
    assert "empty" in guiding_question("arith", line=3, case=replace(nested, input="f([], 2)"))
    assert "비어" in guiding_question("arith", line=3, case=empty, lang="ko")
    assert "never finished" in guiding_question("while", line=4, case=hung)
    assert "IndexError" in guiding_question("index", line=5, case=raised)
    assert "expect ('[1, 3]')" not in guiding_question("return", line=2, case=None)
    assert "failing test's input" in guiding_question("return", line=2, case=None)


# --- mutants -----------------------------------------------------------------------------
MUTANT_SOURCE = textwrap.dedent(
    """\
    def find(xs, target):
        lo, hi = 0, len(xs)
        while lo <= hi:
            mid = (lo + hi) // 2
            if xs[mid] == target and not lo:
                return mid
            elif xs[mid] < target:
                lo = mid
            else:
                hi -= 1
        return flag(-1, True)
    """
)


@pytest.mark.parametrize("line", [2, 3, 4, 5, 6, 7, 8, 10, 11])
def test_every_mutant_compiles_and_differs_on_exactly_its_line(line) -> None:
    mutants = line_mutants(MUTANT_SOURCE, line, limit=40)
    assert mutants
    original = MUTANT_SOURCE.splitlines()
    texts = set()
    for m in mutants:
        ast.parse(m.text)
        changed = [
            i + 1
            for i, (a, b) in enumerate(zip(original, m.text.splitlines(), strict=True))
            if a != b
        ]
        assert changed == [line], (m.operator, m.text.splitlines()[line - 1])
        assert m.line == line
        texts.add(m.text)
    assert len(texts) == len(mutants)  # no duplicates


def test_mutants_include_the_classic_operators() -> None:
    def variants(line: int) -> set[str]:
        return {
            m.text.splitlines()[line - 1].strip()
            for m in line_mutants(MUTANT_SOURCE, line, limit=60)
        }

    assert "while lo < hi:" in variants(3)  # relational operator
    assert "mid = (lo - hi) // 2" in variants(4)  # arithmetic operator
    assert "if xs[mid] == target or not lo:" in variants(5)  # and <-> or
    assert "lo = mid + 1" in variants(8)  # a variable moved by one
    assert "hi += 1" in variants(10)  # augmented assignment
    assert "hi -= 2" in variants(10)  # constant moved by one
    assert "return flag(True, -1)" in variants(11)  # arguments swapped
    assert "return flag(-1, False)" in variants(11)  # boolean constant


def test_limit_and_lines_without_mutants() -> None:
    assert len(line_mutants(MUTANT_SOURCE, 4, limit=3)) == 3
    assert line_mutants(MUTANT_SOURCE, 9) == ()  # "else:" holds nothing to mutate
    assert line_mutants(MUTANT_SOURCE, 99) == ()
    assert line_mutants("def broken(:\n    pass\n", 1) == ()
    assert line_mutants(MUTANT_SOURCE, 4, limit=0) == ()


# --- rank_lines --------------------------------------------------------------------------
SCALE = textwrap.dedent(
    """\
    def scale(xs, k):
        out = []
        for x in xs:
            y = x * k
            out.append(y + 1)
        return out
    """
)
SCALE_TESTS = {
    "function": "scale",
    "cases": [
        {"input": [[1, 2], 3], "expected": [3, 6]},
        {"input": [[2], 5], "expected": [10]},
        {"input": [[], 2], "expected": []},
    ],
}
# per-test coverage of SCALE as the sandbox reports it
SCALE_RUN = TestRun(
    verdict="failed",
    cases=(
        case("c1", "failed", [2, 3, 4, 5, 6], file="s.py", input="[1, 2], 3", expected="[3, 6]"),
        case("c2", "failed", [2, 3, 4, 5, 6], file="s.py", input="[2], 5", expected="[10]"),
        case("c3", "passed", [2, 3, 6], file="s.py", input="[], 2", expected="[]"),
    ),
    executable=frozenset(("s.py", n) for n in range(1, 7)),
)


class ScriptedVariants:
    """A sandbox stand-in with scripted replies: every variant that changes line ``n`` gets
    ``replies[n]`` (``None`` when unscripted: 'not run'). Records each variant's line."""

    def __init__(self, original: str, replies: dict[int, tuple[CaseStatus, ...] | None]):
        self.original = original.splitlines()
        self.replies = replies
        self.lines: list[int] = []
        self.budgets: list[float] = []

    def __call__(self, *, target: str, variants: Sequence[str], budget_s: float):
        self.budgets.append(budget_s)
        out = []
        for text in variants:
            changed = [
                i + 1
                for i, (a, b) in enumerate(zip(self.original, text.splitlines(), strict=True))
                if a != b
            ]
            assert len(changed) == 1
            self.lines.append(changed[0])
            out.append(self.replies.get(changed[0]))
        return out


def test_without_mutation_the_spectrum_and_statement_kind_decide() -> None:
    ranked = rank_lines(SCALE_RUN, files=[SourceFile("s.py", SCALE)])
    # lines 4 and 5: run by both failing tests, by no passing one (Ochiai 1.0); the
    # arithmetic line 4 goes before the call on line 5
    assert [(s.line, s.rank) for s in ranked[:2]] == [(4, 1), (5, 2)]
    assert ranked[0].question and ranked[0].reason.startswith("run by 2 of 2 failing")
    assert all(s.line != 1 for s in ranked)  # the def line comes last, outside the top 5


def test_a_mutant_that_makes_failing_tests_pass_lifts_its_line() -> None:
    runner = ScriptedVariants(SCALE, {5: ("passed", "passed", "passed")})
    ranked = rank_lines(SCALE_RUN, files=[SourceFile("s.py", SCALE)], run_variants=runner)
    assert (ranked[0].line, ranked[0].rank) == (5, 1)
    # (1.0 mutation + 0.5 * 1.0 Ochiai + 0.0006 kind) / 1.511
    assert ranked[0].score == pytest.approx(0.9931, abs=1e-4)
    assert 0 <= ranked[-1].score < ranked[0].score
    assert "changing this line" in ranked[0].reason
    assert 1 not in runner.lines  # never a def line
    assert set(runner.lines) <= {2, 3, 4, 5, 6}


def test_mutants_not_run_leave_the_spectrum_ranking() -> None:
    runner = ScriptedVariants(SCALE, {})
    ranked = rank_lines(
        SCALE_RUN,
        files=[SourceFile("s.py", SCALE)],
        run_variants=runner,
        mutation=MutationOptions(lines=2, per_line=3, budget_s=1.5),
    )
    assert [s.line for s in ranked[:2]] == [4, 5]
    assert sorted(set(runner.lines)) == [4, 5]  # only the two top candidates
    assert len(runner.lines) <= 6
    assert 0 < runner.budgets[0] <= 1.5


def test_a_mutant_that_breaks_passing_tests_scores_lower() -> None:
    # line 4's mutant fixes one failing test and breaks the passing one: 1/sqrt(2*2) = 0.5
    runner = ScriptedVariants(
        SCALE, {4: ("passed", "failed", "failed"), 5: ("passed", "passed", "passed")}
    )
    ranked = rank_lines(SCALE_RUN, files=[SourceFile("s.py", SCALE)], run_variants=runner)
    assert [s.line for s in ranked[:2]] == [5, 4]


def test_no_failing_test_means_no_suspicious_line() -> None:
    run = run_of(case("t1", "passed", [1, 2]), executable=[1, 2])
    assert rank_lines(run, files=[SourceFile("a.py", "x = 1\ny = 2\n")]) == ()
    assert rank_lines(TestRun(verdict="error"), files=[SourceFile("a.py", "x = (\n")]) == ()


def test_every_test_failing_and_lines_no_failing_test_runs() -> None:
    text = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    run = run_of(
        case("t1", "failed", [2, 3], input="1"),
        case("t2", "timeout", [2, 3], input="5"),
        executable=[1, 2, 3, 4],
    )
    ranked = rank_lines(run, files=[SourceFile("a.py", text)])
    # line 4 is run by no failing test, line 1 is a def: both after lines 2 and 3
    assert [s.line for s in ranked[:2]] == [2, 3]
    assert {s.line for s in ranked[2:]} == {1, 4}
    assert all(s.rank > 2 for s in ranked[2:])


def test_without_coverage_every_code_line_is_a_candidate() -> None:
    text = "def f(x):\n    y = x + 1\n    return y\n"
    run = TestRun(verdict="failed", cases=(CaseResult("t1", "failed", input="1"),))
    ranked = rank_lines(run, files=[SourceFile("a.py", text)], lang="ko")
    assert [s.line for s in ranked[:2]] == [3, 2]  # return, then arithmetic; def last
    assert ranked[-1].line == 1
    assert HANGUL.search(ranked[0].question) and HANGUL.search(ranked[0].reason)


def test_static_findings_break_ties() -> None:
    from tutor.review.types import Finding

    text = "def f(x):\n    a = x + 1\n    b = x + 2\n    return a + b\n"
    run = run_of(case("t1", "failed", [2, 3, 4]), executable=[1, 2, 3, 4])
    finding = Finding(
        tool="ruff",
        code="B000",
        file="a.py",
        line=3,
        end_line=3,
        severity="warning",
        category="bug",
        title="t",
        explanation="e",
    )
    plain = rank_lines(run, files=[SourceFile("a.py", text)])
    flagged = rank_lines(run, files=[SourceFile("a.py", text)], findings=[finding])
    assert plain[0].line == 4
    assert flagged[0].line == 3


def test_with_a_real_sandbox_mutation_finds_the_faulty_line(tmp_path) -> None:
    sandbox = build_sandbox("process", allow_unsafe=True)
    tests = ExerciseTests(json_spec=SCALE_TESTS)
    files = [SourceFile("scale.py", SCALE)]
    limits = SandboxLimits(case_s=2.0)
    run = sandbox.run(files=files, tests=tests, limits=limits)
    assert [c.status for c in run.cases] == ["failed", "failed", "passed"]
    spectrum_only = rank_lines(run, files=files)
    assert spectrum_only[0].line == 4
    ranked = rank_lines(
        run,
        files=files,
        tests=tests,
        sandbox=sandbox,
        limits=limits,
        mutation=MutationOptions(budget_s=5.0),
    )
    assert (ranked[0].line, ranked[0].rank) == (5, 1)
    assert "y + 1" not in ranked[0].question and "out.append(y)" not in ranked[0].question

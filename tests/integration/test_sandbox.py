"""The sandbox running real exercises: our course's four, QuixBugs cases, both test shapes,
pytest files, per-test line coverage, mutation variants, and the process mode's opt-in."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tutor.errors import ConfigError, InvalidInputError
from tutor.review.exercise_tests import ExerciseTests, load_exercise_tests
from tutor.review.sandbox import SandboxLimits, bubblewrap_available, build_sandbox
from tutor.review.types import SourceFile

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXERCISES = REPO / "courses" / "python-basics" / "exercises"
QUIXBUGS = (REPO / ".." / "shared" / "bench" / "code" / "quixbugs").resolve()
LIMITS = SandboxLimits()
EXERCISE_IDS = ["ex-grade-report", "ex-list-squares", "ex-sum-evens", "ex-word-count"]


@pytest.fixture(scope="module")
def sandbox():
    assert bubblewrap_available(), (
        "bubblewrap is required for the sandbox tests: apt-get install bubblewrap "
        "(.ci/run installs it); these tests are never skipped"
    )
    return build_sandbox("bubblewrap", allow_unsafe=False)


def source(text: str, name: str = "solution.py") -> list[SourceFile]:
    return [SourceFile(name, textwrap.dedent(text))]


def spec(data: dict) -> ExerciseTests:
    return ExerciseTests.from_parts(json_text=json.dumps(data))


def quixbugs(name: str) -> Path:
    folder = QUIXBUGS / name
    assert folder.is_dir(), f"the QuixBugs benchmark is expected at {QUIXBUGS}"
    return folder


# --- our course's exercises ------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_course_solution_passes_every_json_case_and_pytest_test(sandbox, exercise):
    folder = EXERCISES / exercise
    tests = load_exercise_tests(folder)
    result = sandbox.run(
        files=[SourceFile("solution.py", (folder / "solution.py").read_text())],
        tests=tests,
        limits=LIMITS,
    )
    assert result.verdict == "passed", result.message
    spec_data = json.loads((folder / "tests.json").read_text())
    json_count = len(spec_data["cases"]) + len(spec_data.get("error_cases", []))
    pytest_names = [c.name for c in result.cases[json_count:]]
    test_file = next(folder.glob("test_*.py"))
    defined = [line.split("(")[0][4:] for line in test_file.read_text().splitlines()]
    defined = [name for name in defined if name.startswith("test_")]
    assert pytest_names == [f"{test_file.name}::{name}" for name in defined]
    assert all(c.status == "passed" for c in result.cases)
    assert result.sandbox == "bubblewrap"
    assert result.duration_ms > 0


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_course_starter_fails_its_tests(sandbox, exercise):
    folder = EXERCISES / exercise
    tests = load_exercise_tests(folder)
    result = sandbox.run(
        files=[SourceFile("solution.py", (folder / "starter.py").read_text())],
        tests=tests,
        limits=LIMITS,
    )
    assert result.verdict == "failed"
    assert result.passed == 0
    json_cases = result.cases[: len(tests.json_cases)]
    assert all(c.status == "failed" for c in json_cases)
    assert all(c.actual == "None" for c in json_cases if not c.expected.startswith("raises"))


def test_case_results_show_input_expected_actual(sandbox):
    tests = load_exercise_tests(EXERCISES / "ex-sum-evens")
    result = sandbox.run(
        files=source("def sum_evens(numbers):\n    return sum(numbers)\n"),
        tests=tests,
        limits=LIMITS,
    )
    first = result.cases[0]
    assert (first.name, first.input, first.expected, first.actual) == (
        "case 1",
        "sum_evens([1, 2, 3, 4])",
        "6",
        "10",
    )
    assert first.status == "failed"
    pytest_case = next(c for c in result.cases if c.name.endswith("::test_mixed_numbers"))
    assert pytest_case.status == "failed"
    assert "assert 10 == 6" in pytest_case.error


def test_error_cases_need_the_named_exception(sandbox):
    tests = load_exercise_tests(EXERCISES / "ex-grade-report")
    solution = (EXERCISES / "ex-grade-report" / "solution.py").read_text()
    wrong_exception = solution.replace("raise ValueError(", "raise TypeError(")
    own_class = "class ValueError(Exception):\n    pass\n\n\n" + solution
    for code, expected in (
        (solution, "passed"),
        (wrong_exception, "failed"),
        (own_class, "failed"),
    ):
        result = sandbox.run(files=source(code), tests=tests, limits=LIMITS)
        error_case = next(c for c in result.cases if c.name == "error case 1")
        assert error_case.status == expected, code
        assert error_case.expected == "raises ValueError"
    result = sandbox.run(files=source(wrong_exception), tests=tests, limits=LIMITS)
    error_case = next(c for c in result.cases if c.name == "error case 1")
    assert error_case.actual.startswith("raised TypeError: grade_report() needs")


# --- QuixBugs -------------------------------------------------------------------------------


def test_quixbugs_gcd_buggy_fails_and_fixed_passes(sandbox):
    folder = quixbugs("gcd")
    tests = load_exercise_tests(folder)
    assert tests.pytest_files == ()  # QuixBugs' own pytest files need its repository layout
    buggy = sandbox.run(
        files=[SourceFile("gcd.py", (folder / "buggy.py").read_text())], tests=tests, limits=LIMITS
    )
    fixed = sandbox.run(
        files=[SourceFile("gcd.py", (folder / "fixed.py").read_text())], tests=tests, limits=LIMITS
    )
    assert buggy.verdict == "failed"
    assert fixed.verdict == "passed"
    bug_line = json.loads((folder / "meta.json").read_text())["bug_lines"][0]
    failing = [c for c in buggy.cases if c.status != "passed"]
    assert failing
    assert all(("gcd.py", bug_line) in c.lines for c in failing)
    assert ("gcd.py", bug_line) in buggy.executable


def test_an_endless_case_times_out_and_later_cases_still_run(sandbox):
    folder = quixbugs("find_first_in_sorted")
    tests = load_exercise_tests(folder)
    result = sandbox.run(
        files=[SourceFile("find_first_in_sorted.py", (folder / "buggy.py").read_text())],
        tests=tests,
        limits=SandboxLimits(case_s=1.0),
    )
    statuses = [c.status for c in result.cases]
    first_timeout = statuses.index("timeout")
    assert "passed" in statuses[first_timeout + 1 :]
    assert result.verdict == "timeout"
    assert "stopped after 1 s" in result.cases[first_timeout].error
    assert result.cases[first_timeout].lines  # what it covered before it was stopped


# --- shapes, lines, loading -------------------------------------------------------------------


def test_lines_are_recorded_per_case(sandbox):
    code = """\
    def sign(x):
        if x > 0:
            return 1
        elif x < 0:
            return -1
        return 0
    """
    tests = spec(
        {
            "function": "sign",
            "cases": [{"input": [5], "expected": 1}, {"input": [-5], "expected": -1}],
        }
    )
    result = sandbox.run(files=source(code), tests=tests, limits=LIMITS)
    assert result.verdict == "passed"
    assert result.cases[0].lines == {("solution.py", 2), ("solution.py", 3)}
    assert result.cases[1].lines == {("solution.py", 2), ("solution.py", 4), ("solution.py", 5)}
    assert result.executable == {("solution.py", n) for n in range(1, 7)}


def test_no_lines_without_tracing(sandbox):
    tests = spec({"function": "f", "cases": [{"input": [1], "expected": 1}]})
    result = sandbox.run(
        files=source("def f(x):\n    return x\n"), tests=tests, limits=LIMITS, trace=False
    )
    assert result.verdict == "passed"
    assert result.cases[0].lines == frozenset()


def test_expression_shape_compares_the_value_as_print_writes_it(sandbox):
    tests = spec(
        {
            "cases": [
                {"input": "search(42, [1, 5, 42])\n", "expected_output": "2\n"},
                {"input": "print('first')\nsearch(7, [7])", "expected_output": "0\n"},
                {"input": "x = search(9, [])\n", "expected_output": ""},
                {"input": "{'b': 1, 'a': search(1, [1])}", "expected_output": "{'a': 0, 'b': 1}"},
                {"input": "print(search(5, [5]), 'x')\n", "expected_output": "0 x\n"},
                {"input": "str(search(3, [0, 3]))", "expected_output": "1"},
            ]
        }
    )
    good = "def search(x, items):\n    return items.index(x) if x in items else -1\n"
    result = sandbox.run(files=source(good), tests=tests, limits=LIMITS)
    assert result.verdict == "passed", [c.actual for c in result.cases]
    assert result.cases[1].output == "first\n"  # the input's own print: shown, not compared
    bad = "def search(x, items):\n    print('looking')\n    return 0\n"
    result = sandbox.run(files=source(bad), tests=tests, limits=LIMITS)
    statuses = [c.status for c in result.cases]
    assert statuses == ["failed", "passed", "passed", "passed", "passed", "failed"]
    assert result.cases[0].actual == "0"
    assert result.cases[0].output == "looking\n"
    assert result.cases[0].input == "search(42, [1, 5, 42])"


def test_a_function_that_prints_instead_of_returning_fails_an_expression_case(sandbox):
    tests = spec({"cases": [{"input": "double(21)\n", "expected_output": "42\n"}]})
    prints = "def double(n):\n    print(n * 2)\n"
    result = sandbox.run(files=source(prints), tests=tests, limits=LIMITS)
    assert result.verdict == "failed"
    case = result.cases[0]
    assert (case.status, case.actual, case.output) == ("failed", "None", "42\n")


def test_a_correct_function_with_a_debug_print_passes_an_expression_case(sandbox):
    tests = spec({"cases": [{"input": "double(21)\n", "expected_output": "42\n"}]})
    debug = "def double(n):\n    print('debug: n =', n)\n    return n * 2\n"
    result = sandbox.run(files=source(debug), tests=tests, limits=LIMITS)
    assert result.verdict == "passed", result.cases
    assert result.cases[0].output == "debug: n = 21\n"


def test_an_expression_value_cannot_fake_its_printed_text(sandbox):
    tests = spec({"cases": [{"input": "answer()\n", "expected_output": "[1, 2]\n"}]})
    fake = (
        "class L(list):\n"
        "    def __str__(self):\n        return '[1, 2]'\n"
        "    __repr__ = __str__\n"
        "def answer():\n    return L([9])\n"
    )
    result = sandbox.run(files=source(fake), tests=tests, limits=LIMITS)
    assert result.verdict == "failed"
    assert result.cases[0].actual == "[9]"


def test_syntax_error_is_an_error_verdict_with_its_line(sandbox):
    tests = spec({"function": "f", "cases": [{"input": [1], "expected": 1}]})
    result = sandbox.run(files=source("def f(x):\n    return (x\n"), tests=tests, limits=LIMITS)
    assert result.verdict == "error"
    assert result.message.startswith("the program has a syntax error")
    assert "(line 2)" in result.message
    assert result.cases[0].status == "error"


def test_exception_while_loading_is_an_error_verdict(sandbox):
    tests = spec({"function": "f", "cases": [{"input": [1], "expected": 1}]})
    result = sandbox.run(files=source("x = 1 / 0\n"), tests=tests, limits=LIMITS)
    assert result.verdict == "error"
    assert result.message == (
        "the program raised ZeroDivisionError: division by zero (line 1) while loading"
    )


def test_missing_function_is_named(sandbox):
    tests = spec({"function": "gcd", "cases": [{"input": [4, 2], "expected": 2}]})
    result = sandbox.run(files=source("def gdc(a, b):\n    return 2\n"), tests=tests, limits=LIMITS)
    assert result.verdict == "failed"
    assert result.cases[0].status == "error"
    assert result.cases[0].error == "solution.py does not define gcd()"


def test_an_exception_in_a_case_names_the_line(sandbox):
    tests = spec({"function": "f", "cases": [{"input": [0], "expected": 1}]})
    code = "def f(x):\n    y = 10\n    return y // x\n"
    result = sandbox.run(files=source(code), tests=tests, limits=LIMITS)
    assert result.cases[0].status == "error"
    assert result.cases[0].error == "ZeroDivisionError: integer division or modulo by zero (line 3)"


def test_several_files_main_is_the_one_defining_the_function(sandbox):
    files = [
        SourceFile("helpers.py", "def double(x):\n    return 2 * x\n"),
        SourceFile("main.py", "from helpers import double\n\ndef f(x):\n    return double(x)\n"),
    ]
    tests = spec({"function": "f", "cases": [{"input": [3], "expected": 6}]})
    result = sandbox.run(files=files, tests=tests, limits=LIMITS)
    assert result.verdict == "passed"
    assert result.cases[0].lines == {("main.py", 4), ("helpers.py", 2)}
    assert ("helpers.py", 2) in result.executable


def test_setup_code_runs_before_the_submission(sandbox):
    tests = ExerciseTests.from_parts(
        json_text=json.dumps({"function": "f", "cases": [{"input": [2], "expected": 20}]}),
        setup=SourceFile("global.py", "FACTOR = 10\n"),
    )
    result = sandbox.run(
        files=source("def f(x):\n    return FACTOR * x\n"), tests=tests, limits=LIMITS
    )
    assert result.verdict == "passed"


def test_generators_and_tuples_compare_as_lists(sandbox):
    tests = spec(
        {
            "function": "f",
            "cases": [
                {"input": [3], "expected": [[0, 0], [1, 1], [2, 4]]},
                {"input": [0], "expected": []},
            ],
        }
    )
    code = "def f(n):\n    for i in range(n):\n        yield (i, i * i)\n"
    result = sandbox.run(files=source(code), tests=tests, limits=LIMITS)
    assert result.verdict == "passed"
    assert result.cases[0].actual == "[(0, 0), (1, 1), (2, 4)]"


def test_no_tests_is_its_own_verdict(sandbox):
    result = sandbox.run(files=source("x = 1\n"), tests=ExerciseTests(), limits=LIMITS)
    assert result.verdict == "no_tests"


def test_file_names_must_be_plain(sandbox):
    tests = spec({"function": "f", "cases": [{"input": [1], "expected": 1}]})
    with pytest.raises(InvalidInputError):
        sandbox.run(files=[SourceFile("../x.py", "")], tests=tests, limits=LIMITS)


# --- pytest files -----------------------------------------------------------------------------


def test_a_broken_test_file_is_the_exercises_problem(sandbox):
    tests = ExerciseTests.from_parts(
        pytest_files=[SourceFile("test_broken.py", "def test_x(:\n    pass\n")]
    )
    result = sandbox.run(files=source("def f():\n    pass\n"), tests=tests, limits=LIMITS)
    assert result.verdict == "test_error"
    assert "test_broken.py" in result.message


def test_a_test_file_importing_a_missing_name_blames_the_submission(sandbox):
    test_file = SourceFile(
        "test_f.py", "from submission import f\n\n\ndef test_f():\n    assert f()\n"
    )
    tests = ExerciseTests.from_parts(pytest_files=[test_file])
    result = sandbox.run(files=source("def g():\n    pass\n"), tests=tests, limits=LIMITS)
    assert result.verdict == "failed"
    # the runner imports names lazily (the submission runs in another process), so the
    # test that uses the missing name fails, saying so
    assert result.cases[-1].name == "test_f.py::test_f"
    assert "has no attribute 'f'" in result.cases[-1].error


def test_an_endless_pytest_test_times_out_and_the_next_runs(sandbox):
    test_file = SourceFile(
        "test_f.py",
        "from submission import f\n\n\n"
        "def test_loops():\n    assert f(1) == 2\n\n\n"
        "def test_fine():\n    assert f(2) == 3\n",
    )
    tests = ExerciseTests.from_parts(pytest_files=[test_file])
    code = "def f(x):\n    while x == 1:\n        pass\n    return x + 1\n"
    result = sandbox.run(files=source(code), tests=tests, limits=SandboxLimits(case_s=1.0))
    assert [c.status for c in result.cases] == ["timeout", "passed"]
    assert result.cases[1].lines == {("solution.py", 2), ("solution.py", 4)}


# --- mutation variants ------------------------------------------------------------------------


def test_run_variants_reports_statuses_per_variant(sandbox):
    folder = quixbugs("gcd")
    tests = load_exercise_tests(folder)
    buggy = (folder / "buggy.py").read_text()
    run = sandbox.run(files=[SourceFile("gcd.py", buggy)], tests=tests, limits=LIMITS)
    variants = [
        buggy.replace("gcd(a % b, b)", "gcd(b, a % b)"),
        buggy,
        "def gcd(a, b):\n    while True:\n        pass\n",
        "def gcd(a, b)\n",
        "import os\n\ndef gcd(a, b):\n    os._exit(3)\n",
    ]
    out = sandbox.run_variants(
        files=[SourceFile("gcd.py", buggy)],
        tests=tests,
        target="gcd.py",
        variants=variants,
        limits=LIMITS,
        budget_s=10.0,
    )
    n = len(tests.json_cases)
    assert out[0] == ("passed",) * n
    assert out[1] == tuple(c.status for c in run.cases)
    assert out[2] == ("timeout",) * n
    assert out[3] == ("error",) * n
    assert out[4] == ("crashed",) * n


def test_run_variants_stops_at_the_budget(sandbox):
    tests = spec({"function": "f", "cases": [{"input": [1], "expected": 1}]})
    endless = "def f(x):\n    while True:\n        pass\n"
    out = sandbox.run_variants(
        files=source("def f(x):\n    return x\n"),
        tests=tests,
        target="solution.py",
        variants=[endless] * 20,
        limits=LIMITS,
        budget_s=1.5,
    )
    assert out[0] == ("timeout",)
    assert out[-1] is None


def test_run_variants_without_json_cases_runs_nothing(sandbox):
    tests = ExerciseTests.from_parts(
        pytest_files=[SourceFile("test_f.py", "def test_f():\n    pass\n")]
    )
    out = sandbox.run_variants(
        files=source("x = 1\n"),
        tests=tests,
        target="solution.py",
        variants=["x = 2\n", "x = 3\n"],
        limits=LIMITS,
        budget_s=5.0,
    )
    assert out == [None, None]


# --- choosing a sandbox -----------------------------------------------------------------------


def test_process_mode_is_refused_without_the_operators_opt_in():
    refused = build_sandbox("process", allow_unsafe=False)
    tests = load_exercise_tests(EXERCISES / "ex-sum-evens")
    code = (EXERCISES / "ex-sum-evens" / "solution.py").read_text()
    result = refused.run(files=source(code), tests=tests, limits=LIMITS)
    assert result.verdict == "refused"
    assert "KDT_SANDBOX_ALLOW_UNSAFE" in result.message
    assert result.cases == ()
    variants = refused.run_variants(
        files=source(code),
        tests=tests,
        target="solution.py",
        variants=[code],
        limits=LIMITS,
        budget_s=1.0,
    )
    assert variants == [None]


def test_process_mode_with_opt_in_runs_the_tests_and_says_it_is_unisolated():
    process = build_sandbox("process", allow_unsafe=True)
    tests = load_exercise_tests(EXERCISES / "ex-sum-evens")
    code = (EXERCISES / "ex-sum-evens" / "solution.py").read_text()
    result = process.run(files=source(code), tests=tests, limits=LIMITS)
    assert result.verdict == "passed", result.message
    assert result.sandbox == "process (no isolation, operator opt-in)"


def test_auto_picks_bubblewrap_here():
    assert build_sandbox("auto", allow_unsafe=False).name == "bubblewrap"


def test_unknown_sandbox_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="auto, bubblewrap, process"):
        build_sandbox("docker", allow_unsafe=True)


def test_pytest_files_work_on_the_submission_through_the_runner(sandbox):
    """The pytest runner never runs the submission's code itself (it asks another process):
    what a test does with the submission's functions, values, objects and exceptions still
    behaves as in one process."""
    code = textwrap.dedent(
        """\
        LIMIT = 3

        class TooBig(ValueError):
            pass

        class Counter:
            def __init__(self, start=0):
                self.count = start
            def add(self, n=1):
                self.count += n
                return self

        def clamp(xs, *, limit=LIMIT):
            print("clamping", xs)
            if any(x > 100 for x in xs):
                raise TooBig(f"{max(xs)} is too big")
            return [min(x, limit) for x in xs]

        def sort_in_place(xs):
            xs.sort()

        def same(xs):
            return xs

        def pairs(d):
            return {(k, v) for k, v in d.items()}, {1: "one"}, (1, 2.5)

        def countdown(n):
            while n > 0:
                yield n
                n -= 1
        """
    )
    test_file = SourceFile(
        "test_all.py",
        textwrap.dedent(
            """\
            import pytest
            import submission
            from submission import Counter, clamp, countdown, pairs, same, sort_in_place


            def test_values_and_keywords():
                data = [1, 5, 2]
                assert clamp(data) == [1, 3, 2] and clamp(data, limit=9) == [1, 5, 2]
                assert data == [1, 5, 2]
                assert submission.LIMIT == 3


            def test_exceptions_keep_their_builtin_base_and_message():
                with pytest.raises(ValueError, match="500 is too big"):
                    clamp([500])


            def test_in_place_changes_and_identity():
                data = [3, 1, 2]
                assert sort_in_place(data) is None
                assert data == [1, 2, 3]
                assert same(data) is data


            def test_types_survive():
                found, keys, tup = pairs({"a": 1})
                assert found == {("a", 1)} and isinstance(found, set)
                assert keys == {1: "one"} and tup == (1, 2.5)


            def test_objects_and_generators():
                counter = Counter(2)
                counter.add(3).add()
                assert counter.count == 6
                assert list(countdown(3)) == [3, 2, 1]


            def test_a_wrong_expectation_fails():
                assert clamp([7]) == [7]
            """
        ),
    )
    tests = ExerciseTests.from_parts(pytest_files=[test_file])
    result = sandbox.run(files=source(code), tests=tests, limits=LIMITS)

    statuses = {c.name.split("::")[1]: (c.status, c.error) for c in result.cases}
    assert {k: v[0] for k, v in statuses.items()} == {
        "test_values_and_keywords": "passed",
        "test_exceptions_keep_their_builtin_base_and_message": "passed",
        "test_in_place_changes_and_identity": "passed",
        "test_types_survive": "passed",
        "test_objects_and_generators": "passed",
        "test_a_wrong_expectation_fails": "failed",
    }, statuses
    assert "[3] == [7]" in statuses["test_a_wrong_expectation_fails"][1]
    assert "clamping [1, 5, 2]" in result.stdout
    assert result.cases[0].lines  # traced in the submission's process: localization works

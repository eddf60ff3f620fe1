"""Loading an exercise's tests: both tests.json shapes, error cases, pytest files, setup code,
every malformed input with its message, and the server-side comparison of results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutor.errors import InvalidInputError, NotFoundError
from tutor.review.exercise_tests import (
    ExerciseTests,
    JsonCase,
    load_exercise_tests,
    output_matches,
    values_match,
)
from tutor.review.types import SourceFile

REPO = Path(__file__).resolve().parents[4]
EXERCISES = REPO / "courses" / "python-basics" / "exercises"


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def parts(data: object) -> ExerciseTests:
    return ExerciseTests.from_parts(json_text=json.dumps(data))


# --- loading folders --------------------------------------------------------------------------


def test_course_exercise_folder_has_json_cases_error_cases_and_pytest_files():
    tests = load_exercise_tests(EXERCISES / "ex-grade-report")
    assert tests.function == "grade_report"
    assert [c.kind for c in tests.json_cases] == ["call"] * 8 + ["raises"]
    assert tests.json_cases[-1].raises == "ValueError"
    assert tests.json_cases[-1].name == "error case 1"
    assert [f.name for f in tests.pytest_files] == ["test_ex_grade_report.py"]
    assert tests.case_count == 9 + 7  # json cases + the test_* functions of the pytest file
    assert tests.setup is None


def test_call_shape_case(tmp_path):
    folder = write(
        tmp_path / "gcd",
        {"tests.json": '{"function": "gcd", "cases": [{"input": [17, 0], "expected": 17}]}'},
    )
    case = load_exercise_tests(folder).json_cases[0]
    assert case == JsonCase("case 1", "call", [17, 0], 17, function="gcd")
    assert case.display_input() == "gcd(17, 0)"
    assert case.display_expected() == "17"


def test_expression_shape_case(tmp_path):
    folder = write(
        tmp_path / "search",
        {
            "tests.json": json.dumps(
                {"cases": [{"input": "search(42, [1, 5, 10])\n", "expected_output": "3\n"}]}
            )
        },
    )
    tests = load_exercise_tests(folder)
    case = tests.json_cases[0]
    assert (case.kind, case.input, case.expected) == ("expr", "search(42, [1, 5, 10])\n", "3\n")
    assert tests.function is None
    assert case.display_input() == "search(42, [1, 5, 10])"


def test_the_sandbox_gets_inputs_never_expected_values():
    tests = parts(
        {
            "function": "f",
            "cases": [{"input": [1], "expected": "SECRET-ANSWER"}],
            "error_cases": [{"input": [2], "raises": "ValueError"}],
        }
    )
    specs = [c.sandbox_spec() for c in tests.json_cases]
    assert specs == [{"kind": "call", "args": [1]}, {"kind": "raises", "args": [2]}]
    assert "SECRET" not in json.dumps(specs)


def test_quixbugs_case_folder_uses_tests_json_and_not_its_repo_layout_pytest_files(tmp_path):
    folder = write(
        tmp_path / "gcd",
        {
            "buggy.py": "def gcd(a, b):\n    return a\n",
            "tests.json": json.dumps(
                {
                    "function": "gcd",
                    "call": "f(*input) == expected",
                    "cases": [{"input": [4, 2], "expected": 2}],
                }
            ),
            "test_gcd.py": "from python_programs.gcd import gcd\n\ndef test_gcd():\n    pass\n",
            "global.py": "import math\n",
        },
    )
    tests = load_exercise_tests(folder)
    assert len(tests.json_cases) == 1
    assert tests.pytest_files == ()
    assert tests.setup == SourceFile("global.py", "import math\n")


def test_case_folder_without_tests_json_loads_its_pytest_files(tmp_path):
    folder = write(
        tmp_path / "bfs",
        {
            "buggy.py": "x = 1\n",
            "test_bfs.py": "def test_a():\n    pass\n\n\ndef test_b():\n    pass\n",
        },
    )
    tests = load_exercise_tests(folder)
    assert tests.json_spec is None
    assert [f.name for f in tests.pytest_files] == ["test_bfs.py"]
    assert tests.case_count == 2


def test_folder_without_tests_has_no_cases(tmp_path):
    tests = load_exercise_tests(write(tmp_path / "empty", {"exercise.md": "# Empty\n"}))
    assert tests.case_count == 0
    assert tests.json_cases == ()


def test_missing_folder_is_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        load_exercise_tests(tmp_path / "nope")


def test_tests_json_that_is_not_utf8(tmp_path):
    folder = write(tmp_path / "x", {"tests.json": b'{"cases": ["\xff"]}'})
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        load_exercise_tests(folder)


def test_tests_json_too_big(tmp_path):
    big = json.dumps(
        {"function": "f", "cases": [{"input": ["x" * (3 * 1024 * 1024)], "expected": 1}]}
    )
    folder = write(tmp_path / "x", {"tests.json": big})
    with pytest.raises(InvalidInputError, match=r"too big \(3\.0 MB; the limit is 2 MB\)"):
        load_exercise_tests(folder)


def test_pytest_file_that_is_not_utf8(tmp_path):
    folder = write(tmp_path / "x", {"test_x.py": b"# \xff\n"})
    with pytest.raises(InvalidInputError, match="test_x.py is not UTF-8"):
        load_exercise_tests(folder)


# --- malformed tests.json ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"not valid JSON: Expecting property name .* \(line 1, column 2\)"),
        ("[1, 2]", "must be an object"),
        ('{"function": "f"}', "no 'cases' list"),
        ('{"function": "f", "cases": {}}', "'cases' must be a list, not an object"),
        ('{"function": "f", "cases": []}', "has no cases"),
        ('{"function": "f", "cases": [], "casse": []}', "unknown key.*'casse'"),
        ('{"function": "f", "cases": [3]}', "case 1 must be an object, not a number"),
        ('{"function": "f", "cases": [{"expected": 1}]}', "case 1 has no 'input'"),
        ('{"function": "f", "cases": [{"input": [1]}]}', "case 1 has no 'expected' value"),
        ('{"function": "f", "cases": [{"input": 1, "expected": 1}]}', "'input' must be the list"),
        (
            '{"function": "f", "cases": [{"input": [1], "expected": 1, "expect": 2}]}',
            "case 1 has unknown key.*'expect'",
        ),
        (
            '{"function": "f", "cases": [{"input": [1], "expected_output": "1"}]}',
            "has 'expected_output' but tests.json calls a 'function'",
        ),
        (
            '{"cases": [{"input": [1], "expected": 1}]}',
            "has 'expected' but tests.json names no 'function' to call",
        ),
        ('{"cases": [{"input": "f()"}]}', "case 1 has no 'expected_output'"),
        ('{"cases": [{"input": [1], "expected_output": "1"}]}', "must be Python code"),
        ('{"cases": [{"input": "f(", "expected_output": "1"}]}', "is not valid Python"),
        ('{"cases": [{"input": "f()", "expected_output": 1}]}', "'expected_output' must be a"),
        ('{"function": "not a name", "cases": []}', "'function' must be the name"),
        ('{"function": "class", "cases": []}', "'function' must be the name"),
        ('{"function": "f", "call": "f(input)", "cases": []}', "unsupported 'call'"),
        (
            '{"cases": [{"input": "f()", "expected_output": ""}], '
            '"error_cases": [{"input": [], "raises": "ValueError"}]}',
            "'error_cases' but no 'function'",
        ),
        ('{"function": "f", "error_cases": [{"input": []}]}', "error case 1 has no 'raises'"),
        ('{"function": "f", "error_cases": [{"raises": "E"}]}', "error case 1 has no 'input'"),
        (
            '{"function": "f", "error_cases": [{"input": [], "raises": "not valid"}]}',
            "'raises' must be an exception name",
        ),
        ('{"function": "f", "error_cases": {}}', "'error_cases' must be a list"),
        (
            '{"function": "f", "tolerance": {"relative": 1}, '
            '"cases": [{"input": [1], "expected": 1.0}]}',
            "'tolerance' must be an object with 'rel' and/or 'abs'",
        ),
        (
            '{"function": "f", "cases": '
            '[{"input": [1], "expected": 1.0, "tolerance": {"abs": -1}}]}',
            "tolerance 'abs' must be a number from 0 to 1e6",
        ),
    ],
)
def test_malformed_tests_json_is_rejected_with_a_clear_message(text, message):
    with pytest.raises(InvalidInputError, match=message):
        ExerciseTests.from_parts(json_text=text)


def test_too_many_cases():
    data = {"function": "f", "cases": [{"input": [i], "expected": i} for i in range(501)]}
    with pytest.raises(InvalidInputError, match=r"too many cases \(501; at most 500\)"):
        parts(data)


def test_a_dict_given_directly_is_validated_too():
    with pytest.raises(InvalidInputError, match="case 1 has no 'input'"):
        ExerciseTests(json_spec={"function": "f", "cases": [{"expected": 1}]})


@pytest.mark.parametrize("name", ["tests.py", "../test_x.py", "test-x.py", "sub/test_x.py"])
def test_pytest_file_names_must_be_plain_test_modules(name):
    with pytest.raises(InvalidInputError, match="must be a plain name like test_exercise.py"):
        ExerciseTests.from_parts(pytest_files=[SourceFile(name, "def test_a():\n    pass\n")])


def test_case_names_come_from_the_file_when_given():
    tests = parts(
        {"function": "f", "cases": [{"name": "empty list", "input": [[]], "expected": 0}]}
    )
    assert tests.json_cases[0].name == "empty list"


# --- comparing results ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected", "same"),
    [
        ([1, 2], [1, 2], True),
        ([1, 2], [2, 1], False),
        ({"b": 1, "a": [1.0]}, {"a": [1], "b": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (0.1 + 0.2, 0.3, True),
        (1.67, 1.6666, False),
        (2, 2.0, True),
        (True, 1, True),
        ("1", 1, False),
        (1, "1", False),
        (None, None, True),
        (None, 0, False),
        (float("nan"), float("nan"), True),
        (float("inf"), float("inf"), True),
        (float("inf"), 1e308, False),
        ([[1, [2]]], [[1, [2]]], True),
        ({"x": None}, {"x": []}, False),
    ],
)
def test_values_match(actual, expected, same):
    assert values_match(actual, expected) is same


def test_tolerance_loosens_float_comparison():
    tests = parts(
        {
            "function": "sqrt",
            "tolerance": {"abs": 1e-4},
            "cases": [
                {"input": [27], "expected": 5.196164639727311},
                {"input": [2], "expected": 1.5, "tolerance": {"abs": 0.5}},
            ],
        }
    )
    first, second = tests.json_cases
    assert first.judge({"status": "returned", "value": 5.196176253962744, "repr": "5.19"})[0] == (
        "passed"
    )
    assert first.judge({"status": "returned", "value": 5.2, "repr": "5.2"})[0] == "failed"
    assert second.judge({"status": "returned", "value": 1.9, "repr": "1.9"})[0] == "passed"


def test_judging_what_the_sandbox_reported():
    call = JsonCase("case 1", "call", [1], {"a": 1}, function="f")
    assert call.judge({"status": "returned", "value": {"a": 1}, "repr": "{'a': 1}"}) == (
        "passed",
        "{'a': 1}",
        None,
    )
    assert call.judge({"status": "returned", "value": {"a": 2}, "repr": "{'a': 2}"})[0] == "failed"
    assert call.judge({"status": "returned", "repr": "<Anything>", "unserializable": "x"}) == (
        "failed",
        "<Anything>",
        "the result could not be compared (not plain data)",
    )
    assert call.judge({"status": "raised", "exc": [], "error": "KeyError: 'a' (line 3)"}) == (
        "error",
        None,
        "KeyError: 'a' (line 3)",
    )


def test_judging_error_cases_by_exception_class():
    case = JsonCase("error case 1", "raises", [[]], raises="ValueError", function="f")
    builtin = ["builtins.ValueError", "builtins.Exception", "builtins.BaseException"]
    subclass = ["submission.EmptyError", *builtin, "builtins.object"]
    impostor = ["submission.ValueError", "builtins.Exception", "builtins.BaseException"]
    assert case.judge({"status": "raised", "exc": builtin, "error": "ValueError: empty"})[0] == (
        "passed"
    )
    assert case.judge({"status": "raised", "exc": subclass, "error": "EmptyError"})[0] == "passed"
    assert case.judge({"status": "raised", "exc": impostor, "error": "ValueError"})[0] == "failed"
    assert case.judge({"status": "returned", "value": None, "repr": "None"}) == (
        "failed",
        "returned None",
        None,
    )


@pytest.mark.parametrize(
    ("printed", "expected", "same"),
    [
        ("3\n", "3\n", True),
        ("3", "3\n", True),
        ("3  \n\n", "3\n", True),
        ("a\nb\n", "a\nb", True),
        ("{'b': 1, 'a': 2}\n", "{'a': 2, 'b': 1}\n", True),
        ("0.30000000000000004\n", "0.3\n", True),
        ("(1, 2)\n", "[1, 2]\n", True),
        ("4\n", "3\n", False),
        ("hello\n", "Hello\n", False),
        ("", "3\n", False),
    ],
)
def test_printed_output_matching(printed, expected, same):
    assert output_matches(printed, expected) is same


def test_hidden_cases_are_marked_and_must_be_booleans():
    tests = ExerciseTests.from_parts(
        json_text='{"function": "f", "cases": [{"input": [1], "expected": 1, "hidden": true}, '
        '{"input": [2], "expected": 2}], "error_cases": [{"input": [0], "raises": "ValueError", '
        '"hidden": true}]}'
    )
    assert [c.hidden for c in tests.json_cases] == [True, False, True]
    with pytest.raises(InvalidInputError, match="'hidden' must be true or false"):
        ExerciseTests.from_parts(
            json_text='{"cases": [{"input": "f()", "expected_output": "1", "hidden": "yes"}]}'
        )

"""An exercise's tests: ``tests.json`` (two shapes, plus our ``error_cases``) and pytest files.

Where they come from:

- an exercise folder (``courses/<course>/exercises/<id>/``): ``tests.json`` and ``test_*.py``;
- a code-review case folder (DESIGN.md "Code review case", e.g. ``bench/code/quixbugs/gcd``):
  ``tests.json``, ``global.py`` (setup code run before the submission) and, only when there is
  no ``tests.json``, ``test_*.py`` (QuixBugs' own pytest files import ``python_programs.<name>``
  and a ``load_testdata`` helper from the original repository layout, so they cannot run
  beside a ``tests.json`` that already holds the same cases);
- a database or an API: ``ExerciseTests.from_parts``.

``tests.json`` shapes (validated strictly; every problem is an ``InvalidInputError`` naming
the case and the key):

- call shape ``{"function": "gcd", "cases": [{"input": [17, 0], "expected": 17}]}``: call
  ``gcd(*input)`` and compare the returned value with ``expected``;
- expression shape ``{"cases": [{"input": "search(42, [1, 5])\\n", "expected_output": "3\\n"}]}``:
  run the input after the submission and compare the value of its last line as ``print(value)``
  writes it (a final ``print(a, b)`` counts as its arguments; an input ending with a statement
  compares as no output). What the code prints meanwhile is shown, never compared: a function
  that prints its answer and returns ``None`` fails, a correct one with a debug print passes;
- our extension ``"error_cases": [{"input": [[]], "raises": "ValueError"}]`` (call shape): the
  call must raise that exception (or a subclass);
- our extension ``"hidden": true`` on any case: trainees see its name and whether it passed,
  never its input, expected value, what their code gave or printed, or its error (instructors
  see everything; ``tutor.review.types.hide_case_details``).

Expected values never go into the sandbox: ``JsonCase.judge`` compares, in the server process,
the value the sandbox sent back (JSON-normalised) with the expected one.
"""

from __future__ import annotations

import ast
import json
import keyword
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from tutor.errors import InvalidInputError, NotFoundError
from tutor.review.types import CaseStatus, SourceFile

MAX_JSON_BYTES = 2 * 1024 * 1024
# Floats compare like numpy.isclose's defaults (the convention of the numpy/pandas stack
# these courses teach): |actual - expected| <= 1e-8 + 1e-5 * |expected|. A correct answer
# reached by another order of float operations passes; a tests.json "tolerance" overrides.
DEFAULT_REL_TOL = 1e-5
DEFAULT_ABS_TOL = 1e-8
MAX_CASES = 500
MAX_TEST_FILE_BYTES = 1024 * 1024
MAX_TEST_FILES = 20
_DISPLAY_CHARS = 300

_TOP_KEYS = {"function", "call", "cases", "error_cases", "description", "name", "tolerance"}
_CALL_KEYS = {"input", "expected", "name", "description", "tolerance", "hidden"}
_EXPR_KEYS = {"input", "expected_output", "name", "description", "hidden"}
_ERROR_KEYS = {"input", "raises", "name", "description", "hidden"}
_SUPPORTED_CALL = {"f(*input) == expected"}
_EXCEPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

CaseKind = Literal["call", "expr", "raises"]


@dataclass(frozen=True)
class JsonCase:
    """One case of ``tests.json``, as the server sees it (with its expected result)."""

    name: str
    kind: CaseKind
    input: Any  # call/raises: the argument list; expr: the code text
    expected: Any = None  # call: the expected value; expr: the expected printed text
    raises: str = ""  # raises: the exception class name
    function: str = ""
    rel_tol: float = DEFAULT_REL_TOL  # for floats in the expected value
    abs_tol: float = DEFAULT_ABS_TOL
    hidden: bool = False  # trainees see the name and the status only

    def sandbox_spec(self) -> dict[str, Any]:
        """What the sandbox gets: the inputs only, never the expected result."""
        if self.kind == "expr":
            return {"kind": "expr", "code": self.input}
        return {"kind": self.kind, "args": self.input}

    def display_input(self) -> str:
        if self.kind == "expr":
            return _clip(self.input.strip())
        args = ", ".join(repr(a) for a in self.input)
        return _clip(f"{self.function}({args})")

    def display_expected(self) -> str:
        if self.kind == "expr":
            return _clip(self.expected.rstrip("\n"))
        if self.kind == "raises":
            return f"raises {self.raises}"
        return _clip(repr(self.expected))

    def judge(self, outcome: dict[str, Any]) -> tuple[CaseStatus, str | None, str | None]:
        """``(status, actual, error)`` for what the sandbox reported for this case.

        ``outcome`` is the sandbox's record: ``status`` "returned" (with ``value``, the result
        JSON-normalised, and ``repr``), "evaluated" (an expression case: ``parts``, the values
        ``print`` would write, each ``{"value": plain data}`` or ``{"text": str(value)}``; no
        ``parts`` when the input ends with a statement) or "raised" (``exc``: the class
        names of the exception's MRO as ``module.qualname``, and ``error``). Anything else is
        the sandbox's own business (timeouts, crashes) and is not judged here.
        """
        status = outcome.get("status")
        if self.kind == "raises":
            if status == "raised":
                if _raises_matches(self.raises, outcome.get("exc") or []):
                    return "passed", _clip(str(outcome.get("error") or "")), None
                return "failed", _clip(f"raised {outcome.get('error')}"), None
            if status == "returned":
                return "failed", _clip(f"returned {outcome.get('repr')}"), None
            return "error", None, "the test could not be run"
        if status == "raised":
            return "error", None, _clip(str(outcome.get("error") or "an exception"))
        if self.kind == "expr":
            if status != "evaluated":
                return "error", None, "the test could not be run"
            written = printed_text(outcome.get("parts"))
            ok = output_matches(written, self.expected)
            return ("passed" if ok else "failed"), _clip(written.rstrip("\n")), None
        if status != "returned":
            return "error", None, "the test could not be run"
        actual = _clip(str(outcome.get("repr", "")))
        if "value" not in outcome:
            return "failed", actual, "the result could not be compared (not plain data)"
        ok = values_match(
            outcome["value"], self.expected, rel_tol=self.rel_tol, abs_tol=self.abs_tol
        )
        return ("passed" if ok else "failed"), actual, None


@dataclass(frozen=True)
class ExerciseTests:
    """An exercise's tests. ``json_spec`` is the validated ``tests.json`` (or ``None``)."""

    json_spec: dict[str, Any] | None = None
    pytest_files: tuple[SourceFile, ...] = ()
    setup: SourceFile | None = None  # a case folder's global.py, run before the submission

    def __post_init__(self) -> None:
        if self.json_spec is not None:
            object.__setattr__(self, "json_spec", validate_tests_spec(self.json_spec))

    @cached_property
    def json_cases(self) -> tuple[JsonCase, ...]:
        """The ``tests.json`` cases in order: ``cases`` first, then ``error_cases``."""
        return _cases_of(self.json_spec) if self.json_spec is not None else ()

    @property
    def case_count(self) -> int:
        """JSON cases (with error cases) plus the ``test_*`` functions of the pytest files.

        Parametrized pytest tests count once here; the sandbox reports each parameter set.
        """
        return len(self.json_cases) + sum(_count_tests(f.text) for f in self.pytest_files)

    @property
    def function(self) -> str | None:
        return self.json_spec.get("function") if self.json_spec else None

    @classmethod
    def from_parts(
        cls,
        json_text: str | bytes | None = None,
        pytest_files: Sequence[SourceFile] = (),
        setup: SourceFile | None = None,
    ) -> ExerciseTests:
        """Tests that come from a database or an API rather than a folder (validated)."""
        spec = parse_tests_json(json_text) if json_text is not None else None
        files = tuple(_check_test_file(f) for f in pytest_files)
        if len(files) > MAX_TEST_FILES:
            raise InvalidInputError(f"too many test files ({len(files)}; at most {MAX_TEST_FILES})")
        return cls(json_spec=spec, pytest_files=files, setup=setup)


def load_exercise_tests(folder: Path) -> ExerciseTests:
    """The tests of an exercise folder or a code-review case folder (see the module doc)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotFoundError(f"no exercise folder at {folder}")
    json_path = folder / "tests.json"
    json_bytes = None
    if json_path.is_file():
        if json_path.stat().st_size > MAX_JSON_BYTES:
            raise InvalidInputError(
                f"{json_path.name} is too big ({json_path.stat().st_size / 1048576:.1f} MB; "
                f"the limit is {MAX_JSON_BYTES // 1048576} MB)"
            )
        json_bytes = json_path.read_bytes()
    is_case_folder = (folder / "buggy.py").is_file()
    test_files: list[SourceFile] = []
    if not (is_case_folder and json_bytes is not None):
        for path in sorted(folder.glob("test_*.py")):
            test_files.append(SourceFile(path.name, _read_text(path)))
    setup = None
    if (folder / "global.py").is_file():
        setup = SourceFile("global.py", _read_text(folder / "global.py"))
    return ExerciseTests.from_parts(json_text=json_bytes, pytest_files=test_files, setup=setup)


def parse_tests_json(text: str | bytes) -> dict[str, Any]:
    """The validated ``tests.json``: ``function`` (or None), ``cases``, ``error_cases``."""
    if isinstance(text, bytes):
        if len(text) > MAX_JSON_BYTES:
            raise InvalidInputError(_too_big(len(text)))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"tests.json is not UTF-8 text (byte 0x{text[exc.start]:02x} at position "
                f"{exc.start})"
            ) from None
    if len(text.encode("utf-8")) > MAX_JSON_BYTES:
        raise InvalidInputError(_too_big(len(text.encode("utf-8"))))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"tests.json is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InvalidInputError("tests.json is nested too deeply") from None
    return validate_tests_spec(data)


def validate_tests_spec(data: Any) -> dict[str, Any]:
    """The checked form of a parsed ``tests.json`` (raises ``InvalidInputError``)."""
    if not isinstance(data, dict):
        raise InvalidInputError(
            f'tests.json must be an object like {{"function": ..., "cases": [...]}}, '
            f"not {_json_type(data)}"
        )
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InvalidInputError(
            f"tests.json has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_TOP_KEYS))}"
        )
    function = data.get("function")
    if function is not None:
        if (
            not isinstance(function, str)
            or not function.isidentifier()
            or keyword.iskeyword(function)
        ):
            raise InvalidInputError(
                f"tests.json: 'function' must be the name of a Python function, not {function!r}"
            )
    call = data.get("call")
    if call is not None and call not in _SUPPORTED_CALL:
        raise InvalidInputError(
            f"tests.json: unsupported 'call' {call!r}; only {sorted(_SUPPORTED_CALL)} is supported"
        )
    cases = data.get("cases", [])
    error_cases = data.get("error_cases", [])
    if "cases" not in data and "error_cases" not in data:
        raise InvalidInputError("tests.json has no 'cases' list")
    for key, value in (("cases", cases), ("error_cases", error_cases)):
        if not isinstance(value, list):
            raise InvalidInputError(f"tests.json: '{key}' must be a list, not {_json_type(value)}")
    if not cases and not error_cases:
        raise InvalidInputError("tests.json has no cases")
    if len(cases) + len(error_cases) > MAX_CASES:
        raise InvalidInputError(
            f"tests.json has too many cases ({len(cases) + len(error_cases)}; at most {MAX_CASES})"
        )
    for i, case in enumerate(cases, start=1):
        _check_case(case, i, function)
    if error_cases and function is None:
        raise InvalidInputError(
            "tests.json has 'error_cases' but no 'function' to call; add \"function\": \"name\""
        )
    for i, case in enumerate(error_cases, start=1):
        _check_error_case(case, i)
    spec: dict[str, Any] = {"function": function, "cases": cases, "error_cases": error_cases}
    if "tolerance" in data:
        spec["tolerance"] = _check_tolerance(data["tolerance"], "tests.json")
    return spec


def _check_tolerance(value: Any, where: str) -> dict[str, float]:
    """``{"rel": 1e-6, "abs": 0.01}``: how close a float must be to the expected one."""
    if not isinstance(value, dict) or not value or set(value) - {"rel", "abs"}:
        raise InvalidInputError(
            f"{where}: 'tolerance' must be an object with 'rel' and/or 'abs', e.g. "
            '{"abs": 0.01}'
        )
    for key, number in value.items():
        if (
            not isinstance(number, int | float)
            or isinstance(number, bool)
            or not 0 <= number <= 1e6
        ):
            raise InvalidInputError(f"{where}: tolerance '{key}' must be a number from 0 to 1e6")
    return {k: float(v) for k, v in value.items()}


def values_match(
    actual: Any,
    expected: Any,
    *,
    rel_tol: float = DEFAULT_REL_TOL,
    abs_tol: float = DEFAULT_ABS_TOL,
) -> bool:
    """JSON-normalised equality: lists for tuples, dict key order irrelevant, floats close.

    Numbers follow Python's ``==`` between ints and bools (``True == 1``); when either side
    is a float they compare with ``math.isclose(rel_tol=..., abs_tol=...)`` (numpy.isclose's
    defaults, rel 1e-5 and abs 1e-8, unless ``tests.json`` sets a ``tolerance``); NaN
    equals NaN.
    """
    tol = {"rel_tol": rel_tol, "abs_tol": abs_tol}
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return False
        return all(values_match(actual[k], expected[k], **tol) for k in expected)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return False
        return all(values_match(a, e, **tol) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, str) or expected is None:
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        if not isinstance(actual, int | float):
            return False
        if isinstance(expected, float) or isinstance(actual, float):
            a, e = float(actual), float(expected)
            if math.isnan(a) or math.isnan(e):
                return math.isnan(a) and math.isnan(e)
            if math.isinf(a) or math.isinf(e):
                return a == e
            return math.isclose(a, e, rel_tol=rel_tol, abs_tol=abs_tol)
        return actual == expected
    return False


def printed_text(parts: Any) -> str:
    """What ``print(*values)`` writes for an expression case's ``parts`` (see ``judge``):
    plain data written here, from the normalised value, so the code's own ``__str__``
    cannot fake it; ``""`` when there was no final expression."""
    if not isinstance(parts, list):
        return ""
    pieces = []
    for part in parts:
        if isinstance(part, dict) and "value" in part:
            value = part["value"]
            pieces.append(value if isinstance(value, str) else str(value))
        elif isinstance(part, dict):
            pieces.append(str(part.get("text", "")))
    return " ".join(pieces) + "\n"


def output_matches(printed: str, expected: str) -> bool:
    """Printed text against the expected text: the same lines (trailing spaces and blank
    lines at the end ignored), or, when both read as Python literals, equal values."""
    if _lines(printed) == _lines(expected):
        return True
    got, want = _literal(printed), _literal(expected)
    if got is _NOT_LITERAL or want is _NOT_LITERAL:
        return False
    return values_match(_jsonish(got), _jsonish(want))


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


_NOT_LITERAL = object()


def _literal(text: str) -> Any:
    text = text.strip()
    if not text or len(text) > 65536:
        return _NOT_LITERAL
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _jsonish(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonish(v) for v in value]
    if isinstance(value, set | frozenset):
        try:
            return [_jsonish(v) for v in sorted(value)]
        except TypeError:
            return [_jsonish(v) for v in value]
    if isinstance(value, dict):
        return {_json_key(k): _jsonish(v) for k, v in value.items()}
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return repr(key)


def _raises_matches(wanted: str, mro: Sequence[str]) -> bool:
    """``ValueError`` matches the builtin ValueError or a subclass; a dotted name matches that
    exact class (``mymodule.MyError``). A class merely *named* ValueError does not match."""
    target = wanted if "." in wanted else f"builtins.{wanted}"
    return target in mro


def _cases_of(spec: dict[str, Any]) -> tuple[JsonCase, ...]:
    function = spec.get("function") or ""
    default = spec.get("tolerance") or {}
    out: list[JsonCase] = []
    for i, case in enumerate(spec.get("cases", []), start=1):
        name = case.get("name") or f"case {i}"
        if function:
            tol = {**default, **(case.get("tolerance") or {})}
            out.append(
                JsonCase(
                    name,
                    "call",
                    case["input"],
                    case["expected"],
                    function=function,
                    rel_tol=float(tol.get("rel", DEFAULT_REL_TOL)),
                    abs_tol=float(tol.get("abs", DEFAULT_ABS_TOL)),
                    hidden=bool(case.get("hidden")),
                )
            )
        else:
            out.append(
                JsonCase(
                    name,
                    "expr",
                    case["input"],
                    case["expected_output"],
                    hidden=bool(case.get("hidden")),
                )
            )
    for i, case in enumerate(spec.get("error_cases", []), start=1):
        name = case.get("name") or f"error case {i}"
        out.append(
            JsonCase(
                name,
                "raises",
                case["input"],
                raises=case["raises"],
                function=function,
                hidden=bool(case.get("hidden")),
            )
        )
    return tuple(out)


def _check_case(case: Any, i: int, function: str | None) -> None:
    where = f"tests.json: case {i}"
    if not isinstance(case, dict):
        raise InvalidInputError(f"{where} must be an object, not {_json_type(case)}")
    if "input" not in case:
        raise InvalidInputError(f"{where} has no 'input'")
    if function is None:
        if "expected" in case:
            raise InvalidInputError(
                f"{where} has 'expected' but tests.json names no 'function' to call; add "
                '"function": "name" (or use \'expected_output\' for printed output)'
            )
        if "expected_output" not in case:
            raise InvalidInputError(f"{where} has no 'expected_output'")
        _check_keys(case, _EXPR_KEYS, where)
        if not isinstance(case["input"], str) or not case["input"].strip():
            raise InvalidInputError(f"{where}: 'input' must be Python code (a non-empty string)")
        if not isinstance(case["expected_output"], str):
            raise InvalidInputError(f"{where}: 'expected_output' must be a string")
        try:
            compile(case["input"], f"<{where}>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            raise InvalidInputError(f"{where}: 'input' is not valid Python: {exc}") from None
        return
    if "expected_output" in case:
        raise InvalidInputError(
            f"{where} has 'expected_output' but tests.json calls a 'function'; use 'expected'"
        )
    if "expected" not in case:
        raise InvalidInputError(f"{where} has no 'expected' value")
    _check_keys(case, _CALL_KEYS, where)
    if not isinstance(case["input"], list):
        raise InvalidInputError(
            f"{where}: 'input' must be the list of arguments (e.g. [17, 0]), "
            f"not {_json_type(case['input'])}"
        )
    if "tolerance" in case:
        _check_tolerance(case["tolerance"], where)


def _check_error_case(case: Any, i: int) -> None:
    where = f"tests.json: error case {i}"
    if not isinstance(case, dict):
        raise InvalidInputError(f"{where} must be an object, not {_json_type(case)}")
    if "input" not in case:
        raise InvalidInputError(f"{where} has no 'input'")
    if "raises" not in case:
        raise InvalidInputError(f"{where} has no 'raises' (the exception's name, e.g. ValueError)")
    _check_keys(case, _ERROR_KEYS, where)
    if not isinstance(case["input"], list):
        raise InvalidInputError(f"{where}: 'input' must be the list of arguments")
    raises = case["raises"]
    if not isinstance(raises, str) or not _EXCEPTION_NAME.match(raises):
        raise InvalidInputError(f"{where}: 'raises' must be an exception name like ValueError")


def _check_keys(case: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(case) - allowed)
    if unknown:
        raise InvalidInputError(
            f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    if "name" in case and not isinstance(case["name"], str):
        raise InvalidInputError(f"{where}: 'name' must be a string")
    if "hidden" in case and not isinstance(case["hidden"], bool):
        raise InvalidInputError(f"{where}: 'hidden' must be true or false")


def _check_test_file(f: SourceFile) -> SourceFile:
    name = f.name
    if "/" in name or "\\" in name or not re.match(r"^test_[A-Za-z0-9_]*\.py$", name):
        raise InvalidInputError(
            f"test file {name[:64]!r} must be a plain name like test_exercise.py"
        )
    if len(f.text.encode("utf-8")) > MAX_TEST_FILE_BYTES:
        raise InvalidInputError(f"test file {name!r} is too big (the limit is 1 MB)")
    return f


def _count_tests(text: str) -> int:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return 1  # a broken test file still counts: running it reports the problem
    count = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            count += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            count += sum(
                1
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name.startswith("test")
            )
    return count


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if len(data) > MAX_TEST_FILE_BYTES:
        raise InvalidInputError(f"{path.name} is too big (the limit is 1 MB)")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path.name} is not UTF-8 text") from None


def _too_big(n: int) -> str:
    return (
        f"tests.json is too big ({n / 1048576:.1f} MB; the limit is {MAX_JSON_BYTES // 1048576} MB)"
    )


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _clip(text: str, limit: int = _DISPLAY_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""What a harness process is sent (the job): the submitted files, which one is loaded as
``submission``, the setup code, the tested function, the cases (never their expected
values) and the limits; and the lines of the submitted files that hold code."""

from __future__ import annotations

import ast
import functools
import re
import types
from collections.abc import Sequence
from typing import Any

from tutor.errors import InvalidInputError
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox.protocol import SandboxLimits
from tutor.review.types import SourceFile

_FILE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}\.py$")


def base_job(
    files: tuple[SourceFile, ...], tests: ExerciseTests, limits: SandboxLimits
) -> dict[str, Any]:
    return {
        "files": files_json(files),
        "main": choose_main(files, tests),
        "setup": tests.setup.text if tests.setup else None,
        "function": tests.function,
        "cases": [c.sandbox_spec() for c in tests.json_cases],
        "case_s": float(limits.case_s),
        "load_s": float(limits.case_s),
        "limits": {
            "memory_mb": int(limits.memory_mb),
            "file_mb": int(limits.file_mb),
            "cpu_s": float(limits.cpu_s),
            "nproc": int(limits.max_processes),
            "nofile": 256,
            "output_bytes": int(limits.output_kb) * 1024,
        },
    }


def files_json(files: Sequence[SourceFile]) -> list[dict[str, str]]:
    return [{"name": f.name, "text": f.text} for f in files]


def check_files(files: Sequence[SourceFile]) -> tuple[SourceFile, ...]:
    files = tuple(files)
    if not files:
        raise InvalidInputError("there is no code to test")
    seen = set()
    for f in files:
        if not _FILE_NAME.match(f.name) or f.name in seen:
            raise InvalidInputError(f"file name {f.name[:64]!r} is not a plain, unique .py name")
        seen.add(f.name)
    return files


def choose_main(files: Sequence[SourceFile], tests: ExerciseTests) -> int:
    """The file loaded as module ``submission``: the one defining the tested function (or
    the names the pytest files import from ``submission``), else the first."""
    wanted: set[str] = set()
    if tests.function:
        wanted.add(tests.function)
    for f in tests.pytest_files:
        wanted |= _imported_from_submission(f.text)
    if wanted:
        for i, f in enumerate(files):
            if wanted & _top_level_names(f.text):
                return i
    return 0


@functools.lru_cache(maxsize=256)
def _top_level_names(text: str) -> frozenset[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return frozenset(names)


@functools.lru_cache(maxsize=64)
def _imported_from_submission(text: str) -> frozenset[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "submission"
        for alias in node.names
    )


def executable_lines(files: Sequence[SourceFile]) -> frozenset[tuple[str, int]]:
    """``(file, line)`` of every line holding code in the submitted files that compile
    (from the compiled code objects' ``co_lines``; nothing is executed)."""
    out: set[tuple[str, int]] = set()
    for f in files:
        if not f.name.endswith(".py"):
            continue
        try:
            code = compile(f.text, f.name, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        stack = [code]
        while stack:
            co = stack.pop()
            for _start, _end, line in co.co_lines():
                if line:
                    out.add((f.name, line))
            stack.extend(c for c in co.co_consts if isinstance(c, types.CodeType))
    return frozenset(out)

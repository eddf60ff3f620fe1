"""Is this code an exercise's solution? Two checks beyond the text comparison of the LLM
answerer's leak guard (``guard_leaks``), for code blocks in hint-mode answers:

- **Same program** (``same_program``, pure): the code and a withheld solution's code are
  parsed and normalised: docstrings, comments and formatting go, identifiers are renamed
  canonically in order of first use (builtins and attribute names kept), so a solution with
  other names, other quotes or other line breaks is the same program. A code block matches
  when it is the whole solution or one of its functions or classes.
- **Works** (``SandboxSolutionCheck``): the code passes the exercise's own tests in the code
  review's sandbox (``tutor/review/``). This catches a rewritten working solution (a loop
  for a comprehension, ``n * n`` for ``n ** 2``) that no text or tree comparison can.

What neither can see: a solution told in prose. The hint prompt forbids walking through it,
and ``step_walkthrough`` flags numbered steps that name most of the solution's operations.
"""

from __future__ import annotations

import ast
import builtins
import logging
import re
import threading
from collections.abc import Sequence
from typing import Protocol

from tutor.review.exercises import ExerciseCatalog
from tutor.review.pipeline import ReviewPipeline
from tutor.review.types import SourceFile

log = logging.getLogger("kdt.tutor.solution_guard")

MAX_BLOCKS = 3  # code blocks of one answer run in the sandbox, at most
STEP_COVERAGE = 0.6  # of a solution's operations named by numbered steps: a walkthrough
MIN_STEPS = 3

_BUILTINS = frozenset(dir(builtins))
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(?P<body>.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_STEP = re.compile(r"^[ \t]*(?:\d+[.)]|[-*•]|step \d+:?)[ \t]+(?P<text>.+)$", re.M | re.I)


class SolutionCheck(Protocol):
    def solves(self, *, exercise: str, code: str) -> bool:
        """True when ``code`` passes the tests of ``exercise``."""


class _Canonical(ast.NodeTransformer):
    """Renames identifiers to ``v0, v1, ...`` in order of first use; drops docstrings."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        if name in _BUILTINS:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self._name(node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._name(node.arg)
        node.annotation = None
        return node

    def _body(self, node: ast.AST) -> ast.AST:
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str) and len(body) > 1:
                node.body = body[1:]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._name(node.name)
        node.returns = None
        self._body(node)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self._name(node.name)
        self._body(node)
        self.generic_visit(node)
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        self._body(node)
        self.generic_visit(node)
        return node


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def canonical_forms(code: str) -> set[str]:
    """The normalised program and each of its top-level functions and classes (each
    normalised on its own); empty when ``code`` is not Python."""
    tree = _parse(code)
    if tree is None or not tree.body:
        return set()
    forms = {ast.dump(_Canonical().visit(tree))}
    for node in _parse(code).body:  # a fresh tree: the first was rewritten in place
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            forms.add(ast.dump(_Canonical().visit(ast.Module(body=[node], type_ignores=[]))))
    return forms


def solution_code(withheld: Sequence[str]) -> list[str]:
    """The code in withheld texts: their fenced blocks, or the whole text when it parses."""
    codes: list[str] = []
    for text in withheld:
        blocks = [m.group("body") for m in _FENCE.finditer(text)]
        if blocks:
            codes.extend(blocks)
        elif _parse(text) is not None:
            codes.append(text)
    return codes


def same_program(code: str, withheld: Sequence[str]) -> bool:
    """Is ``code`` a withheld solution (or one of its functions) up to names, comments,
    docstrings and formatting?"""
    mine = canonical_forms(code)
    if not mine:
        return False
    for solution in solution_code(withheld):
        theirs = canonical_forms(solution)
        if mine & theirs:
            return True
    return False


def _operations(code: str) -> set[str]:
    """What a solution does, as words a walkthrough would name: the functions and methods
    it calls and the operators it uses (its own names left out)."""
    tree = _parse(code)
    if tree is None:
        return set()
    ops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                ops.add(func.attr)
            elif isinstance(func, ast.Name) and func.id in _BUILTINS:
                ops.add(func.id)
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            ops.add(type(node.op).__name__)
        elif isinstance(node, ast.Compare):
            ops.update(type(op).__name__ for op in node.ops)
        elif isinstance(node, ast.For | ast.comprehension):
            ops.add("for")
        elif isinstance(node, ast.If | ast.IfExp):
            ops.add("if")
        elif isinstance(node, ast.Return):
            ops.add("return")
    return ops


_OP_WORDS = {
    "Add": ("+", "add", "plus", "sum", "더"),
    "Sub": ("-", "subtract", "minus", "빼"),
    "Mult": ("*", "multiply", "times", "곱"),
    "Pow": ("**", "square", "power", "제곱"),
    "Div": ("/", "divide", "나누"),
    "FloorDiv": ("//", "divide", "나누"),
    "Mod": ("%", "remainder", "modulo", "나머지"),
    "Gt": (">", "greater", "positive", "크"),
    "Lt": ("<", "less", "negative", "작"),
    "GtE": (">=", "at least", "이상"),
    "LtE": ("<=", "at most", "이하"),
    "Eq": ("==", "equal", "같"),
    "NotEq": ("!=", "not equal", "다르"),
    "for": ("for", "each", "loop", "iterate", "반복", "각"),
    "if": ("if", "only", "filter", "when", "조건", "만"),
    "return": ("return", "반환", "돌려"),
}


def step_walkthrough(text: str, withheld: Sequence[str]) -> bool:
    """Does ``text`` walk through a withheld solution step by step? True when it has at
    least ``MIN_STEPS`` numbered or bulleted steps and they name at least ``STEP_COVERAGE``
    of the operations of some solution with at least three operations. A heuristic: it
    cannot see a solution told in running prose, and may flag steps that teach a concept
    with the same operations."""
    steps = " ".join(m.group("text") for m in _STEP.finditer(text)).lower()
    if len(_STEP.findall(text)) < MIN_STEPS:
        return False
    for solution in solution_code(withheld):
        ops = _operations(solution)
        if len(ops) < 3:
            continue
        named = sum(
            1 for op in ops if any(w in steps for w in _OP_WORDS.get(op, (op.lower(),)))
        )
        if named / len(ops) >= STEP_COVERAGE:
            return True
    return False


class SandboxSolutionCheck:
    """Runs code against an exercise's tests in the code review's sandbox (the pipeline's,
    with its limits); an exercise without tests or a sandbox that refuses: not solved.

    At most ``concurrency`` runs at once (``KDT_REVIEW_CONCURRENCY``: chat must not add
    sandboxes beyond what reviews may use). A check that waits longer than ``wait_s`` for
    its turn counts as solved: the block is withheld rather than shown unchecked."""

    def __init__(
        self,
        *,
        catalog: ExerciseCatalog,
        pipeline: ReviewPipeline,
        concurrency: int = 2,
        wait_s: float = 10.0,
    ) -> None:
        self._catalog = catalog
        self._pipeline = pipeline
        self._slots = threading.BoundedSemaphore(concurrency)
        self._wait_s = wait_s

    def solves(self, *, exercise: str, code: str) -> bool:
        sandbox = self._pipeline.sandbox
        if sandbox is None or _parse(code) is None:
            return False
        if not self._slots.acquire(timeout=self._wait_s):
            log.warning("no sandbox slot for checking a hint's code in %.0fs", self._wait_s)
            return True
        try:
            return self._run(sandbox, exercise=exercise, code=code)
        finally:
            self._slots.release()

    def _run(self, sandbox, *, exercise: str, code: str) -> bool:
        found = [
            e
            for course in self._courses(exercise)
            for e in self._catalog.list(course)
            if e.id == exercise
        ]
        for item in found:
            try:
                tests = self._catalog.tests(item)
            except Exception as exc:  # noqa: BLE001 - the course's problem, not the answer's
                log.warning("exercise %s: tests unusable (%s)", exercise, type(exc).__name__)
                continue
            run = sandbox.run(
                files=[SourceFile("solution.py", code)],
                tests=tests,
                limits=self._pipeline.limits,
                trace=False,
            )
            if run.verdict == "passed":
                return True
        return False

    def _courses(self, exercise: str) -> list[str]:
        records = self._catalog.registry.list()
        return sorted({r.course for r in records if r.exercise == exercise and r.course})

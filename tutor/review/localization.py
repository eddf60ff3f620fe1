"""Fault localization: which lines of a submission to look at when its tests fail.

Three kinds of evidence, strongest first:

1. **Mutation** (Metallaxis-style, optional): small mutants of the most suspicious lines
   (``tutor.review.mutation``) are run against the tests through a :class:`VariantRunner`
   (the sandbox), within a time budget. A line whose mutant turns failing tests into passing
   ones, without breaking passing ones, is scored
   ``f2p / sqrt(failing * (f2p + p2f))`` (the best of its mutants), where ``f2p`` counts
   failing tests that pass on the mutant and ``p2f`` passing tests that no longer pass.
2. **Spectrum** (Ochiai over per-test line coverage):
   ``ef / sqrt(failing * (ef + ep))``, ``ef``/``ep`` the failing/passing tests that run the
   line. A timed-out or crashed test is a failing test, and the lines it ran count.
3. **Tie-breakers**: a static finding of a likely bug on the line, then the statement's kind
   (a condition, a return value or index arithmetic is more often wrong than a plain
   initialisation; a ``def`` line never is).

The combined score is ``mutation + 0.5 * ochiai`` plus the small tie-breakers, shown
divided by its maximum (so in 0..1). Ranks count
ties against us: lines tied in score all take the tied group's *last* position. ``def``
lines and lines no failing test runs come after every other line (unless nothing else
remains). Each returned line carries a guiding question (English or Korean) built from its
statement kind and the simplest failing input, never a patch: the mutants are not shown.
"""

from __future__ import annotations

import ast
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from tutor.review.mutation import line_mutants
from tutor.review.types import CaseResult, CaseStatus, Finding, SourceFile, SuspiciousLine, TestRun

if TYPE_CHECKING:
    from tutor.review.exercise_tests import ExerciseTests
    from tutor.review.sandbox import Sandbox, SandboxLimits

Line = tuple[str, int]
Lang = Literal["en", "ko"]
StatementKind = Literal[
    "def",
    "condition",
    "while",
    "loop",
    "return",
    "recursion",
    "index",
    "arith",
    "call",
    "init",
    "other",
]

# how often a statement of each kind holds the fault, as a tie-breaker only
_KIND_PRIOR: dict[str, float] = {
    "condition": 0.9,
    "while": 0.9,
    "return": 0.85,
    "recursion": 0.85,
    "index": 0.85,
    "arith": 0.8,
    "loop": 0.7,
    "call": 0.6,
    "other": 0.5,
    "init": 0.3,
    "def": 0.0,
}
SPECTRUM_WEIGHT = 0.5
_FINDING_BONUS = 0.01
_KIND_BONUS = 0.001
_BUG_CATEGORIES = ("bug", "syntax", "security")
# the highest combined score a line can get: shown scores are divided by it (0..1)
_MAX_SCORE = 1.0 + SPECTRUM_WEIGHT + _FINDING_BONUS + _KIND_BONUS


class VariantRunner(Protocol):
    """Runs the exercise's tests on alternative texts of one submitted file (the sandbox's
    ``run_variants`` with the files, tests and limits bound). Returns, per variant, each test
    case's status in the order of the original run's cases, or ``None`` when that variant was
    not run (budget spent) or could not be run."""

    def __call__(
        self, *, target: str, variants: Sequence[str], budget_s: float
    ) -> Sequence[tuple[CaseStatus, ...] | None]: ...


@dataclass(frozen=True)
class MutationOptions:
    """How much mutation analysis to do: the top ``lines`` lines of the spectrum, up to
    ``per_line`` mutants each, within ``budget_s`` seconds of sandbox time in all."""

    lines: int = 16
    per_line: int = 12
    budget_s: float = 2.0


def sandbox_variant_runner(
    sandbox: Sandbox,
    *,
    files: Sequence[SourceFile],
    tests: ExerciseTests,
    limits: SandboxLimits,
    run: TestRun | None = None,
) -> VariantRunner:
    """A :class:`VariantRunner` on ``sandbox``. Each mutant gets a time allowance sized from
    ``run`` (four times what the original's finished tests took, traced, and at least the
    sandbox's floor), so a mutant that hangs costs little of the budget."""
    case_s = limits.case_s
    if run is not None:
        finished = sum(c.duration_ms for c in run.cases if c.status not in ("timeout", "crashed"))
        case_s = min(limits.case_s, max(0.2, 4 * finished / 1000))
    variant_limits = replace(limits, case_s=case_s)

    def run_variants(
        *, target: str, variants: Sequence[str], budget_s: float
    ) -> Sequence[tuple[CaseStatus, ...] | None]:
        return sandbox.run_variants(
            files=files,
            tests=tests,
            target=target,
            variants=variants,
            limits=variant_limits,
            budget_s=budget_s,
        )

    return run_variants


# --- the named baseline ------------------------------------------------------------------
def ochiai_scores(
    cases: Sequence[CaseResult], lines: Sequence[Line] | frozenset[Line]
) -> dict[Line, float]:
    """Plain Ochiai ``ef / sqrt(failing * (ef + ep))`` for each of ``lines`` (0.0 for a line
    no failing test runs; every line 0.0 when no test fails)."""
    failing = [c for c in cases if c.status != "passed"]
    passing = [c for c in cases if c.status == "passed"]
    scores: dict[Line, float] = {}
    for line in lines:
        ef = sum(1 for c in failing if line in c.lines)
        ep = sum(1 for c in passing if line in c.lines)
        scores[line] = ef / math.sqrt(len(failing) * (ef + ep)) if ef else 0.0
    return scores


def ochiai_ranking(run: TestRun) -> tuple[SuspiciousLine, ...]:
    """Plain Ochiai over per-test line coverage, every known line ranked (ties against us),
    with no tie-breaking, exclusions or questions: the benchmark's named baseline. Empty when
    no test failed."""
    if not any(c.status != "passed" for c in run.cases):
        return ()
    universe = _universe(run)
    scores = ochiai_scores(run.cases, universe)
    ordered = sorted(universe, key=lambda ln: (-scores[ln], ln))
    ranks = tied_ranks([scores[ln] for ln in ordered])
    return tuple(
        SuspiciousLine(file=f, line=n, score=round(scores[(f, n)], 4), rank=r)
        for (f, n), r in zip(ordered, ranks, strict=True)
    )


def tied_ranks(ordered_scores: Sequence[float]) -> list[int]:
    """1-based ranks of scores sorted best first, ties against us: each member of a group of
    equal scores gets the group's last position (``[0.9, 0.5, 0.5, 0.1] -> [1, 3, 3, 4]``)."""
    ranks = [0] * len(ordered_scores)
    i = 0
    while i < len(ordered_scores):
        j = i
        while j + 1 < len(ordered_scores) and ordered_scores[j + 1] == ordered_scores[i]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = j + 1
        i = j + 1
    return ranks


# --- ours --------------------------------------------------------------------------------
def rank_lines(
    run: TestRun,
    *,
    files: Sequence[SourceFile],
    tests: ExerciseTests | None = None,
    sandbox: Sandbox | None = None,
    limits: SandboxLimits | None = None,
    run_variants: VariantRunner | None = None,
    mutation: MutationOptions | None = None,
    findings: Sequence[Finding] = (),
    lang: str = "en",
    limit: int = 5,
) -> tuple[SuspiciousLine, ...]:
    """The ``limit`` most suspicious lines of ``files`` after ``run``, best first, each with a
    guiding question in ``lang`` (``en`` or ``ko``). Empty when no test failed.

    Mutation analysis (see the module doc) runs through ``run_variants``, or through
    ``sandbox`` with ``tests`` and ``limits``; it is bounded by ``mutation``. Without either,
    the ranking is spectrum + tie-breakers. ``findings`` from the static review break ties in
    favour of lines with a likely bug. Without coverage data every code line is a candidate,
    ranked by mutation and statement kind alone.
    """
    failing = [c for c in run.cases if c.status != "passed"]
    if not failing or not files:
        return ()
    if run_variants is None and sandbox is not None and tests is not None and limits is not None:
        run_variants = sandbox_variant_runner(
            sandbox, files=files, tests=tests, limits=limits, run=run
        )
    lang = "ko" if lang == "ko" else "en"
    texts = {f.name: f.text for f in files}
    kinds = {name: statement_kinds(text) for name, text in texts.items()}
    universe = _universe(run) | {(name, n) for name, by_line in kinds.items() for n in by_line}
    universe = {ln for ln in universe if ln[0] in texts} or universe
    failing_lines = frozenset().union(*(c.lines for c in failing))
    spectrum = ochiai_scores(run.cases, universe)

    def kind_of(ln: Line) -> str:
        return kinds.get(ln[0], {}).get(ln[1], "other")

    flagged = {
        (f.file, n)
        for f in findings
        if f.category in _BUG_CATEGORIES
        for n in range(f.line, max(f.line, f.end_line) + 1)
    }
    preliminary = {
        ln: SPECTRUM_WEIGHT * spectrum[ln]
        + _FINDING_BONUS * (ln in flagged)
        + _KIND_BONUS * _KIND_PRIOR.get(kind_of(ln), 0.5)
        for ln in universe
    }

    def in_front(ln: Line) -> bool:
        return kind_of(ln) != "def" and (not failing_lines or ln in failing_lines)

    front = [ln for ln in universe if in_front(ln)] or list(universe)
    mutation_scores: dict[Line, float] = {}
    if run_variants is not None:
        options = mutation or MutationOptions()
        candidates = sorted(front, key=lambda ln: (-preliminary[ln], ln))[: options.lines]
        mutation_scores = mutation_evidence(
            run,
            texts=texts,
            candidates=candidates,
            run_variants=run_variants,
            options=options,
        )
    final = {ln: preliminary[ln] + mutation_scores.get(ln, 0.0) for ln in universe}
    front_set = set(front)
    ordered = sorted(universe, key=lambda ln: (ln not in front_set, -final[ln], ln))
    keys = [(ln not in front_set, final[ln]) for ln in ordered]
    ranks = _ranks_by_key(keys)
    out = []
    for ln, rank in zip(ordered[:limit], ranks, strict=False):
        case = _simplest_failing_case(failing, ln)
        out.append(
            SuspiciousLine(
                file=ln[0],
                line=ln[1],
                score=round(final[ln] / _MAX_SCORE, 4),
                rank=rank,
                question=guiding_question(kind_of(ln), line=ln[1], case=case, lang=lang),
                reason=_reason(
                    ln,
                    cases=run.cases,
                    mutated=ln in mutation_scores and mutation_scores[ln] > 0,
                    lang=lang,
                ),
            )
        )
    return tuple(out)


def mutation_evidence(
    run: TestRun,
    *,
    texts: dict[str, str],
    candidates: Sequence[Line],
    run_variants: VariantRunner,
    options: MutationOptions,
) -> dict[Line, float]:
    """Metallaxis-style score per candidate line: the best over its mutants of
    ``f2p / sqrt(failing * (f2p + p2f))`` (0.0 when no mutant turned a failing test into a
    passing one, or none ran). Mutants are generated per line and run round-robin across
    lines (the most suspicious first), so a budget cut leaves every line some evidence."""
    original = tuple(c.status for c in run.cases)
    failing = [i for i, s in enumerate(original) if s != "passed"]
    passing = [i for i, s in enumerate(original) if s == "passed"]
    if not failing:
        return {}
    per_line = {
        ln: line_mutants(texts[ln[0]], ln[1], limit=options.per_line)
        for ln in candidates
        if ln[0] in texts
    }
    queue: list[tuple[Line, str]] = []
    for turn in range(options.per_line):
        for ln, mutants in per_line.items():
            if turn < len(mutants):
                queue.append((ln, mutants[turn].text))
    scores: dict[Line, float] = {}
    deadline = time.monotonic() + options.budget_s
    for target in dict.fromkeys(ln[0] for ln, _ in queue):
        batch = [(ln, text) for ln, text in queue if ln[0] == target]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        results = run_variants(
            target=target, variants=[text for _, text in batch], budget_s=remaining
        )
        for (ln, _), statuses in zip(batch, results, strict=False):
            if statuses is None or not 0 < len(statuses) <= len(original):
                continue  # not run; or not the run's cases
            # the variants run the tests.json cases, which come first in the run's cases
            f2p = sum(1 for i in failing if i < len(statuses) and statuses[i] == "passed")
            p2f = sum(1 for i in passing if i < len(statuses) and statuses[i] != "passed")
            value = f2p / math.sqrt(len(failing) * (f2p + p2f)) if f2p else 0.0
            scores[ln] = max(scores.get(ln, 0.0), value)
    return scores


# --- statement kinds and questions --------------------------------------------------------
def statement_kinds(text: str) -> dict[int, StatementKind]:
    """The kind of statement on each code line of ``text`` (a continuation line of a
    multi-line statement takes the statement's kind; a compound statement's header line its
    own). Empty when the text does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    kinds: dict[int, StatementKind] = {}
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or _is_docstring(node):
            continue
        kind = _kind(node, functions)
        last = node.lineno if _is_compound(node) else (node.end_lineno or node.lineno)
        if isinstance(node, ast.If | ast.While | ast.For | ast.AsyncFor) and node.body:
            last = max(node.lineno, node.body[0].lineno - 1)  # a header spread over lines
        for n in range(node.lineno, last + 1):
            kinds.setdefault(n, kind)
    return kinds


_QUESTIONS: dict[str, dict[str, str]] = {
    "condition": {
        "en": "Line {line} decides which way the code goes. With input {input}, is the "
        "condition true or false, and what happens when both sides are equal?",
        "ko": "{line}번째 줄은 코드가 어느 쪽으로 갈지 정합니다. 입력이 {input}일 때 이 조건은 "
        "참인가요, 거짓인가요? 양쪽 값이 같을 때는 어떻게 되나요?",
    },
    "while": {
        "en": "When does the loop on line {line} stop for input {input}? Could it stop one "
        "step too early, one step too late, or never?",
        "ko": "입력이 {input}일 때 {line}번째 줄의 반복문은 언제 멈추나요? 한 단계 일찍, "
        "한 단계 늦게 멈추거나 아예 멈추지 않을 수도 있나요?",
    },
    "loop": {
        "en": "What does the loop on line {line} go over for input {input}? Is it the "
        "collection you mean, and does it include the first and the last item you need?",
        "ko": "입력이 {input}일 때 {line}번째 줄의 반복문은 무엇을 돌고 있나요? 의도한 "
        "대상이 맞는지, 필요한 첫 항목과 마지막 항목이 모두 포함되는지 확인해 보세요.",
    },
    "return": {
        "en": "With input {input}, what value does line {line} give back, and what did the "
        "test expect{expected}?",
        "ko": "입력이 {input}일 때 {line}번째 줄은 어떤 값을 돌려주나요? 테스트가 기대한 "
        "값{expected}과 같은가요?",
    },
    "recursion": {
        "en": "Follow the call on line {line} for input {input}: which arguments does it "
        "pass on, and does each call get closer to the case that stops?",
        "ko": "입력이 {input}일 때 {line}번째 줄의 호출을 따라가 보세요. 어떤 인자를 넘기나요? "
        "호출할 때마다 멈추는 경우에 더 가까워지나요?",
    },
    "index": {
        "en": "Which element does the index or slice on line {line} pick for input {input}? "
        "Count carefully: is it one too far or one too short?",
        "ko": "입력이 {input}일 때 {line}번째 줄의 인덱스(또는 슬라이스)는 어떤 요소를 "
        "가리키나요? 하나 더 가거나 하나 덜 가지는 않는지 세어 보세요.",
    },
    "arith": {
        "en": "Work out line {line} by hand for input {input}: which value does it compute, "
        "and is that the value the next step needs?",
        "ko": "입력이 {input}일 때 {line}번째 줄을 손으로 계산해 보세요. 어떤 값이 나오고, "
        "그 값이 다음 단계에 필요한 값인가요?",
    },
    "call": {
        "en": "What does line {line} add or change for input {input}? Is it the right "
        "value, in the right place, at the right moment?",
        "ko": "입력이 {input}일 때 {line}번째 줄은 무엇을 추가하거나 바꾸나요? 알맞은 값을 "
        "알맞은 곳에, 알맞은 때에 넣고 있나요?",
    },
    "init": {
        "en": "What value does line {line} start from? Follow it through input {input}: "
        "is that starting value right for every case?",
        "ko": "{line}번째 줄은 어떤 값에서 시작하나요? 입력 {input}으로 따라가 보면 그 "
        "시작값이 모든 경우에 맞나요?",
    },
    "other": {
        "en": "What happens on line {line} when the input is {input}? Trace the values of "
        "the variables there step by step.",
        "ko": "입력이 {input}일 때 {line}번째 줄에서는 무슨 일이 일어나나요? 그 줄의 변수 "
        "값을 한 단계씩 따라가 보세요.",
    },
}
_EMPTY_INPUT = {
    "en": "What happens on line {line} when the input is empty, as in {input}?",
    "ko": "입력이 {input}처럼 비어 있을 때 {line}번째 줄에서는 무슨 일이 일어나나요?",
}
_TIMEOUT = {
    "en": "The test with input {input} never finished. What on line {line} should change "
    "from one step to the next so that the work ends?",
    "ko": "입력이 {input}인 테스트가 끝나지 않았습니다. 작업이 끝나려면 {line}번째 줄에서 "
    "무엇이 단계마다 달라져야 할까요?",
}
_ERROR = {
    "en": "The test with input {input} stopped with {error}. Which value on line {line} "
    "could cause that?",
    "ko": "입력이 {input}인 테스트가 {error} 오류로 멈췄습니다. {line}번째 줄의 어떤 값이 "
    "그 원인이 될 수 있을까요?",
}
_NO_INPUT = {"en": "the failing test's input", "ko": "실패한 테스트의 입력"}


def guiding_question(
    kind: str,
    *,
    line: int,
    case: CaseResult | None,
    lang: Lang = "en",
) -> str:
    """A question that points the trainee at ``line`` without giving the fix: chosen by the
    statement's ``kind`` and what the failing ``case`` did (timed out, raised, returned a
    wrong value; an empty input gets the empty-input question)."""
    lang_key = "ko" if lang == "ko" else "en"
    shown = _short(case.input) if case is not None and case.input else _NO_INPUT[lang_key]
    if case is not None and case.status == "timeout" and kind in ("while", "loop", "recursion"):
        return _TIMEOUT[lang_key].format(line=line, input=shown)
    if case is not None and case.status == "error" and case.error:
        error = case.error.split(":", 1)[0].strip()[:40]
        if error and kind not in ("condition", "while"):
            return _ERROR[lang_key].format(line=line, input=shown, error=error)
    if case is not None and _is_empty_input(case.input):
        return _EMPTY_INPUT[lang_key].format(line=line, input=shown)
    template = _QUESTIONS.get(kind, _QUESTIONS["other"])[lang_key]
    expected = ""
    if case is not None and case.expected is not None:
        expected = f" ({_short(case.expected)})"
    return template.format(line=line, input=shown, expected=expected)


# --- helpers -----------------------------------------------------------------------------
def _universe(run: TestRun) -> frozenset[Line]:
    covered = frozenset().union(*(c.lines for c in run.cases)) if run.cases else frozenset()
    return frozenset(run.executable) | covered


def _ranks_by_key(keys: Sequence[tuple[bool, float]]) -> list[int]:
    ranks = [0] * len(keys)
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and keys[j + 1] == keys[i]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = j + 1
        i = j + 1
    return ranks


def _simplest_failing_case(failing: Sequence[CaseResult], line: Line) -> CaseResult | None:
    """The failing case with the shortest input among those that ran ``line`` (any failing
    case when none did): the easiest one for a trainee to trace by hand. Hidden cases
    (``tests.json`` ``"hidden": true``) are never quoted: None when only they fail."""
    failing = [c for c in failing if not c.hidden]
    running = [c for c in failing if line in c.lines] or list(failing)
    return min(running, key=lambda c: (len(c.input), c.name)) if running else None


def _reason(line: Line, *, cases: Sequence[CaseResult], mutated: bool, lang: Lang) -> str:
    failing = [c for c in cases if c.status != "passed"]
    passing = [c for c in cases if c.status == "passed"]
    ef = sum(1 for c in failing if line in c.lines)
    ep = sum(1 for c in passing if line in c.lines)
    if lang == "ko":
        text = (
            f"실패한 테스트 {len(failing)}개 중 {ef}개, 통과한 테스트 {len(passing)}개 중 "
            f"{ep}개가 이 줄을 실행했습니다"
        )
        if mutated:
            text += "; 이 줄만 바꿔도 실패한 테스트의 결과가 달라집니다"
        return text
    text = f"run by {ef} of {len(failing)} failing tests and {ep} of {len(passing)} passing"
    if mutated:
        text += "; changing this line alone changes failing tests' outcome"
    return text


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_empty_input(text: str) -> bool:
    """The input (a call like ``f([], 3)``, or a bare value) passes an empty list, string,
    tuple, dict or set as one of its arguments."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return False
    values = (
        [*tree.args, *(k.value for k in tree.keywords)] if isinstance(tree, ast.Call) else [tree]
    )
    for value in values:
        if isinstance(value, ast.List | ast.Tuple | ast.Set) and not value.elts:
            return True
        if isinstance(value, ast.Dict) and not value.keys:
            return True
        if isinstance(value, ast.Constant) and value.value in ("", b""):
            return True
        if isinstance(value, ast.Call) and not value.args and not value.keywords:
            if isinstance(value.func, ast.Name) and value.func.id in ("set", "dict", "list"):
                return True
    return False


def _is_compound(node: ast.stmt) -> bool:
    return hasattr(node, "body")


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _kind(node: ast.stmt, functions: Sequence[ast.AST]) -> StatementKind:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return "def"
    if isinstance(node, ast.If | ast.Assert):
        return "condition"
    if isinstance(node, ast.While):
        return "while"
    if isinstance(node, ast.For | ast.AsyncFor):
        return "loop"
    value = getattr(node, "value", None)
    if _calls_own_function(node, functions):
        return "recursion"
    if isinstance(node, ast.Return) or (
        isinstance(node, ast.Expr) and isinstance(value, ast.Yield | ast.YieldFrom)
    ):
        return "return" if value is not None else "other"
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        if value is None:
            return "other"
        if _has_index_arithmetic(node):
            return "index"
        if isinstance(node, ast.AugAssign) or any(
            isinstance(
                n, ast.BinOp | ast.BoolOp | ast.Compare | ast.UnaryOp | ast.Call | ast.Subscript
            )
            for n in ast.walk(value)
        ):
            return "arith"
        return "init"
    if isinstance(node, ast.Expr) and isinstance(value, ast.Call):
        return "index" if _has_index_arithmetic(node) else "call"
    return "other"


def _has_index_arithmetic(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and any(
            isinstance(n, ast.BinOp | ast.Slice) for n in ast.walk(sub.slice)
        ):
            return True
    return False


def _calls_own_function(node: ast.stmt, functions: Sequence[ast.AST]) -> bool:
    """A statement inside function ``f`` that calls ``f`` (a recursive step)."""
    owners = [
        f
        for f in functions
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        and f.lineno < node.lineno <= (f.end_lineno or f.lineno)
    ]
    if not owners:
        return False
    name = max(owners, key=lambda f: f.lineno).name  # type: ignore[union-attr]
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
        for n in ast.walk(node)
    )

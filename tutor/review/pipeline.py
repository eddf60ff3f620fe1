"""The steps of one review, composed without storage: used by ``ReviewService`` (which
stores and schedules them), the ``kdt-tutor review`` command and the review benchmark, so
all three measure and ship the same thing.

static review -> tests in the sandbox (with per-test line coverage) -> suspicious lines.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tutor.review import localization
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox import Sandbox, SandboxLimits
from tutor.review.static_checks import StaticReview, review_static
from tutor.review.types import Finding, SourceFile, SuspiciousLine, TestRun

# Mutation analysis time per review. On QuixBugs 1 s localizes as well as 2 s and 3 s
# (top-1 0.645, top-3 0.742), 0.5 s less well (0.548 / 0.677): bench/RESULTS.md.
DEFAULT_LOCALIZE_S = 1.0


def static_review(files: Sequence[SourceFile], *, level: int, lang: str) -> StaticReview:
    return review_static(files, level=level, lang=lang)


def run_tests(
    files: Sequence[SourceFile],
    *,
    tests: ExerciseTests,
    sandbox: Sandbox | None,
    refused_reason: str,
    limits: SandboxLimits,
) -> TestRun:
    """The exercise's tests against ``files`` (``refused`` without a sandbox)."""
    if sandbox is None:
        return TestRun(verdict="refused", message=refused_reason or "no sandbox is configured")
    return sandbox.run(files=files, tests=tests, limits=limits, trace=True)


def localize(
    run: TestRun,
    *,
    files: Sequence[SourceFile],
    tests: ExerciseTests,
    sandbox: Sandbox | None,
    limits: SandboxLimits,
    lang: str,
    findings: Sequence[Finding] = (),
    budget_s: float = DEFAULT_LOCALIZE_S,
) -> tuple[SuspiciousLine, ...]:
    """Suspicious lines when some tests failed (none when all pass or nothing ran).
    ``findings`` from the static review break ties in favour of lines with a likely bug;
    ``budget_s`` bounds the sandbox time spent running mutants (0: spectrum only)."""
    if run.verdict not in ("failed", "timeout", "crashed") or not run.cases:
        return ()
    return localization.rank_lines(
        run,
        files=files,
        tests=tests,
        sandbox=sandbox,
        limits=limits,
        findings=findings,
        mutation=localization.MutationOptions(budget_s=budget_s),
        lang=lang,
    )


@dataclass(frozen=True)
class ReviewOutcome:
    static: StaticReview
    run: TestRun | None
    suspicious: tuple[SuspiciousLine, ...]
    timings: dict[str, float] = field(default_factory=dict)


def review_files(
    files: Sequence[SourceFile],
    *,
    tests: ExerciseTests | None,
    level: int,
    lang: str,
    sandbox: Sandbox | None,
    limits: SandboxLimits,
    refused_reason: str = "",
    localize_s: float = DEFAULT_LOCALIZE_S,
) -> ReviewOutcome:
    """Every step of a review, in order, with their timings (ms)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    static = static_review(files, level=level, lang=lang)
    timings["static_ms"] = (time.perf_counter() - started) * 1000
    if tests is None:
        return ReviewOutcome(static, None, (), timings)
    started = time.perf_counter()
    run = run_tests(
        files, tests=tests, sandbox=sandbox, refused_reason=refused_reason, limits=limits
    )
    timings["tests_ms"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    suspicious = localize(run, files=files, tests=tests, sandbox=sandbox, limits=limits, lang=lang)
    timings["localize_ms"] = (time.perf_counter() - started) * 1000
    return ReviewOutcome(static, run, suspicious, timings)

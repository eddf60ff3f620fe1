"""One code review, step by step, without storage: the one pipeline every entry point runs.

``ReviewPipeline`` is what ``ReviewService`` runs for the web page and the API (and, through
``ReviewService.preview``, for ``kdt-tutor review``), and what ``kdt-tutor eval review``
runs on each benchmark case, so the benchmark measures the reviews trainees get. All three
build it from the same settings with ``build_review_pipeline``.

1. ``static``: syntax, ruff, bandit, radon -> findings (those shown at the trainee's level,
   and the hidden rest).
2. ``test``: the exercise's tests in the sandbox with per-test line coverage; when some
   fail, the suspicious lines, ranked by spectrum and mutants run in the sandbox (within
   ``localize_s``), with every static finding of step 1 (shown and hidden) as a tie-breaker
   in favour of lines with a likely bug.

``review`` runs both. The service runs them apart (step 1 before it answers, step 2 as a
job) and adds only what is its own: storage, the job queue, course links and the narrative,
learner evidence, the submission limits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tutor.errors import InvalidInputError
from tutor.review import localization
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox import Sandbox, SandboxLimits, build_sandbox
from tutor.review.static_checks import StaticReview, review_static
from tutor.review.types import SourceFile, SuspiciousLine, TestRun
from tutor.settings import Settings

# Mutation analysis time per review (KDT_REVIEW_LOCALIZE_S). On QuixBugs 1 s localizes as
# well as 2 s and 3 s, 0.5 s less well: bench/RESULTS.md.
DEFAULT_LOCALIZE_S = 1.0
# Verdicts after which suspicious lines are looked for (a test failed or did not finish).
LOCALIZED_VERDICTS = ("failed", "timeout", "crashed")


@dataclass(frozen=True)
class ReviewOutcome:
    """What the pipeline found: the static review, the tests' run (None without tests), the
    suspicious lines (best first) and each step's time in ms."""

    static: StaticReview
    run: TestRun | None
    suspicious: tuple[SuspiciousLine, ...]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.run.verdict if self.run is not None else "no_tests"


class ReviewPipeline:
    """The steps of a review with what they run on: the sandbox and its limits, and the
    sandbox time allowed for mutation-based localization."""

    def __init__(
        self,
        *,
        sandbox: Sandbox | None,
        limits: SandboxLimits,
        localize_s: float = DEFAULT_LOCALIZE_S,
        refused_reason: str = "",
    ) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.localize_s = localize_s
        self.refused_reason = refused_reason

    def review(
        self,
        files: Sequence[SourceFile],
        *,
        tests: ExerciseTests | None,
        level: int,
        lang: str,
        test_problem: str | None = None,
    ) -> ReviewOutcome:
        """Both steps, in order."""
        static = self.static(files, level=level, lang=lang)
        return self.test(files, static=static, tests=tests, lang=lang, test_problem=test_problem)

    def static(self, files: Sequence[SourceFile], *, level: int, lang: str) -> StaticReview:
        """Step 1: the static review at ``level`` (1..4), explained in ``lang``."""
        return review_static(files, level=level, lang=lang)

    def test(
        self,
        files: Sequence[SourceFile],
        *,
        static: StaticReview,
        tests: ExerciseTests | None,
        lang: str,
        test_problem: str | None = None,
    ) -> ReviewOutcome:
        """Step 2 after ``static`` (step 1 of the same ``files``): the tests, then the
        suspicious lines. ``test_problem`` says why the exercise's tests cannot be used (the
        verdict is then ``test_error``, never the trainee's fault); without ``tests`` the
        review is static only (verdict ``no_tests``)."""
        timings = {"static_ms": round(static.duration_ms, 1)}
        if test_problem is not None:
            run = TestRun(verdict="test_error", message=test_problem)
            return ReviewOutcome(static, run, (), timings)
        if tests is None:
            return ReviewOutcome(static, None, (), timings)
        started = time.perf_counter()
        run = self._run(files, tests=tests)
        timings["tests_ms"] = _ms_since(started)
        started = time.perf_counter()
        suspicious = self._localize(run, files=files, tests=tests, static=static, lang=lang)
        timings["localize_ms"] = _ms_since(started)
        return ReviewOutcome(static, run, suspicious, timings)

    def _run(self, files: Sequence[SourceFile], *, tests: ExerciseTests) -> TestRun:
        if self.sandbox is None:
            message = self.refused_reason or "no sandbox is configured"
            return TestRun(verdict="refused", message=message)
        return self.sandbox.run(files=files, tests=tests, limits=self.limits, trace=True)

    def _localize(
        self,
        run: TestRun,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        static: StaticReview,
        lang: str,
    ) -> tuple[SuspiciousLine, ...]:
        if run.verdict not in LOCALIZED_VERDICTS or not run.cases:
            return ()
        return localization.rank_lines(
            run,
            files=files,
            tests=tests,
            sandbox=self.sandbox,
            limits=self.limits,
            findings=(*static.findings, *static.hidden),
            mutation=localization.MutationOptions(budget_s=self.localize_s),
            lang=lang,
        )


def build_review_pipeline(
    settings: Settings, *, case_s: float | None = None, localize_s: float | None = None
) -> ReviewPipeline:
    """The pipeline from settings (``KDT_SANDBOX``, ``KDT_REVIEW_*``), for the service and
    the benchmark alike. ``case_s`` and ``localize_s`` override one test's limit and the
    mutation budget (the benchmark's ``--case-s``/``--localize-s``); one test never gets
    longer than the whole run (``KDT_REVIEW_WALL_S``).

    ``KDT_SANDBOX=bubblewrap`` where it does not work raises ``ConfigError``; no sandbox
    under ``auto`` is a ``RefusedSandbox``: static reviews work, test runs say why. An
    override outside the settings' own ranges raises ``InvalidInputError``."""
    if case_s is not None and not 0 < case_s <= 300:
        raise InvalidInputError(f"one test's time limit must be in (0, 300] seconds, not {case_s}")
    if localize_s is not None and not 0 <= localize_s <= 30:
        raise InvalidInputError(
            f"the localization time must be in [0, 30] seconds, not {localize_s}"
        )
    sandbox = build_sandbox(settings.sandbox, allow_unsafe=settings.sandbox_allow_unsafe)
    limits = SandboxLimits(
        cpu_s=settings.review_cpu_s,
        wall_s=settings.review_wall_s,
        memory_mb=settings.review_memory_mb,
        output_kb=settings.review_output_kb,
        max_processes=settings.review_max_processes,
        file_mb=settings.review_file_mb,
        case_s=min(settings.review_case_s if case_s is None else case_s, settings.review_wall_s),
    )
    return ReviewPipeline(
        sandbox=sandbox,
        limits=limits,
        localize_s=settings.review_localize_s if localize_s is None else localize_s,
    )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

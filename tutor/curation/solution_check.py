"""An exercise's tests run against its solution in the code review sandbox.

An exercise is saved only when its tests pass against its solution (``SolutionCheckFailed``
carries the failing cases otherwise); a starter that already passes every test is a
warning. ``kdt-tutor exercise check`` runs the same check on a course folder's exercise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.curation.exercise_files import read_text
from tutor.errors import InvalidInputError, NotFoundError
from tutor.review.exercise_tests import ExerciseTests, load_exercise_tests
from tutor.review.sandbox import Sandbox, SandboxLimits
from tutor.review.types import SourceFile, TestRun


@dataclass(frozen=True)
class SolutionCheck:
    """The exercise's tests run against its solution (and its starter, if any) in the sandbox."""

    ok: bool
    message: str
    run: TestRun
    starter_passes: bool | None = None  # True: the starter already passes every test (warning)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "ok": self.ok,
            "message": self.message,
            "verdict": run.verdict,
            "passed": run.passed,
            "total": len(run.cases),
            "cases": [
                {k: v for k, v in c.to_dict().items() if k not in ("lines",)} for c in run.cases
            ],
            "run_message": run.message,
            "stdout": run.stdout,
            "stderr": run.stderr,
            "sandbox": run.sandbox,
            "duration_ms": round(run.duration_ms, 1),
            "starter_passes": self.starter_passes,
            "warnings": list(self.warnings),
        }


class SolutionCheckFailed(InvalidInputError):
    """The solution does not pass the exercise's tests: nothing was saved."""

    code = "solution_fails_tests"

    def __init__(self, check: SolutionCheck) -> None:
        super().__init__(check.message)
        self.check = check


def solution_check(
    *,
    solution: str,
    starter: str,
    tests: ExerciseTests,
    sandbox: Sandbox | None,
    limits: SandboxLimits,
    refused_reason: str = "",
) -> SolutionCheck:
    """The tests against the solution in the sandbox (then against the starter, whose passing
    every test is a warning): what saving an exercise requires."""

    def run_code(code: str) -> TestRun:
        if sandbox is None:
            return TestRun(verdict="refused", message=refused_reason or "no sandbox")
        files = (SourceFile("solution.py", code),)
        return sandbox.run(files=files, tests=tests, limits=limits, trace=False)

    result = run_code(solution)
    if result.verdict == "passed":
        ok, message = True, f"the solution passes all {len(result.cases)} tests"
    elif result.verdict == "refused":
        ok, message = False, f"the tests could not be run: {result.message}"
    elif result.verdict == "test_error":
        ok, message = False, f"the tests themselves are broken: {result.message}"
    else:
        failing = [c.name for c in result.cases if c.status != "passed"]
        shown = ", ".join(failing[:5]) + (" …" if len(failing) > 5 else "")
        ok = False
        message = (
            f"the solution does not pass its tests ({result.verdict}: {result.passed} of "
            f"{len(result.cases)} pass"
            + (f"; failing: {shown}" if shown else "")
            + (f"; {result.message}" if result.message and result.verdict != "failed" else "")
            + ")"
        )
    starter_passes: bool | None = None
    warnings: list[str] = []
    if ok and starter.strip():
        starter_run = run_code(starter)
        starter_passes = starter_run.verdict == "passed"
        if starter_passes:
            warnings.append("the starter code already passes every test")
    return SolutionCheck(
        ok=ok, message=message, run=result, starter_passes=starter_passes, warnings=tuple(warnings)
    )


def check_exercise_folder(
    folder: Path, *, sandbox: Sandbox | None, limits: SandboxLimits
) -> SolutionCheck:
    """A course folder's exercise (``exercises/<id>/``): all its tests against its
    ``solution.py`` (and ``starter.py``) in the sandbox, as saving one here would check it."""
    folder = Path(folder)
    solution = folder / "solution.py"
    if not solution.is_file():
        raise NotFoundError(f"{folder}: no solution.py to check the tests against")
    tests = load_exercise_tests(folder)
    if tests.case_count == 0:
        raise InvalidInputError(f"{folder}: no tests (tests.json or test_*.py)")
    return solution_check(
        solution=read_text(solution),
        starter=read_text(folder / "starter.py"),
        tests=tests,
        sandbox=sandbox,
        limits=limits,
    )

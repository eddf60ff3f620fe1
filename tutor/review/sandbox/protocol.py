"""What callers of a sandbox use: the ``Sandbox`` protocol and the limits of one run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tutor.review.exercise_tests import ExerciseTests
from tutor.review.types import CaseStatus, SourceFile, TestRun


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one run. ``cpu_s``/``wall_s`` are for the whole run (every test);
    ``case_s`` is one test's soft limit (it is stopped and the next test runs)."""

    cpu_s: float = 5.0
    wall_s: float = 10.0
    memory_mb: int = 512
    output_kb: int = 256
    max_processes: int = 16
    file_mb: int = 8
    case_s: float = 2.0


class Sandbox(Protocol):
    name: str

    def run(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        limits: SandboxLimits,
        trace: bool = True,
    ) -> TestRun: ...

    def run_variants(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        target: str,
        variants: Sequence[str],
        limits: SandboxLimits,
        budget_s: float,
    ) -> list[tuple[CaseStatus, ...] | None]: ...

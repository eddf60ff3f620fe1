"""The sandboxes: ``RefusedSandbox`` (runs nothing, says why), and the two that run the
harness, ``BubblewrapSandbox`` (isolated) and ``ProcessSandbox`` (limits only, operator
opt-in). They share the job, the drivers and the verdicts; they differ in how one harness
process is started (``spawn``)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from tutor.errors import InvalidInputError
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox.harness_process import HarnessProcess
from tutor.review.sandbox.host import (
    base_python,
    bind_outside_usr,
    harness_source,
    pytest_site,
    scrubbed_env,
    setpriv,
    system_binds,
)
from tutor.review.sandbox.job import base_job, check_files, executable_lines, files_json
from tutor.review.sandbox.protocol import SandboxLimits
from tutor.review.sandbox.run_driver import RunDriver, RunResult
from tutor.review.sandbox.uid_slots import own_tasks
from tutor.review.sandbox.variant_driver import VariantDriver
from tutor.review.types import CaseStatus, SourceFile, TestRun

SITE_MOUNT = "/opt/kdt-site"  # where pytest's site folder is mounted inside bubblewrap


class RefusedSandbox:
    """No sandbox may run trainee code here; every run says why."""

    name = "refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def run(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        limits: SandboxLimits,
        trace: bool = True,
    ) -> TestRun:
        return TestRun(verdict="refused", message=self.reason)

    def run_variants(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        target: str,
        variants: Sequence[str],
        limits: SandboxLimits,
        budget_s: float,
    ) -> list[tuple[CaseStatus, ...] | None]:
        return [None] * len(variants)


class _HarnessSandbox:
    """What both real sandboxes share: the job, the driver loop, the verdicts."""

    name = ""
    label = ""
    own_pid_namespace = False

    def run(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        limits: SandboxLimits,
        trace: bool = True,
    ) -> TestRun:
        started = time.monotonic()
        files = check_files(files)
        executable = executable_lines(files)
        if not tests.json_cases and not tests.pytest_files:
            return TestRun(
                verdict="no_tests",
                message="this exercise has no tests",
                sandbox=self.label,
                executable=executable,
            )
        job = base_job(files, tests, limits)
        job.update(mode="run", trace=bool(trace), pytest=files_json(tests.pytest_files))
        if tests.pytest_files:
            job["harness"] = harness_source()  # the pytest runner starts the submission with it
        run = RunDriver(self, job=job, tests=tests, files=files, limits=limits)
        result = run.drive()
        return _finish(
            result,
            sandbox=self.label,
            executable=executable,
            duration_ms=(time.monotonic() - started) * 1000,
        )

    def run_variants(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        target: str,
        variants: Sequence[str],
        limits: SandboxLimits,
        budget_s: float,
    ) -> list[tuple[CaseStatus, ...] | None]:
        """Statuses of the ``tests.json`` cases (in ``TestRun.cases`` order) for each
        alternative text of file ``target``; ``None`` for variants not run (budget spent,
        or no ``tests.json`` cases)."""
        files = check_files(files)
        names = [f.name for f in files]
        if target not in names:
            raise InvalidInputError(f"no submitted file named {target!r}")
        if not tests.json_cases or not variants:
            return [None] * len(variants)
        job = base_job(files, tests, limits)
        variant_s = max(0.25, min(limits.case_s, budget_s / 10))
        job.update(
            mode="variants",
            trace=False,
            pytest=[],
            target=names.index(target),
            variants=list(variants),
            variant_s=variant_s,
            case_s=variant_s,
            load_s=variant_s,
        )
        driver = VariantDriver(self, job=job, tests=tests, limits=limits, budget_s=budget_s)
        return driver.drive()

    # --- what the two kinds do differently ---------------------------------------------------

    def spawn(
        self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None
    ) -> HarnessProcess:  # pragma: no cover - overridden
        """One harness process for ``job`` (as ``uid`` when the server is root); the
        drivers call it for each process of a run."""
        raise NotImplementedError


class BubblewrapSandbox(_HarnessSandbox):
    """bubblewrap (``bwrap``) isolation + resource limits. See docs/sandbox.md."""

    name = "bubblewrap"
    label = "bubblewrap"
    own_pid_namespace = True

    def spawn(
        self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None
    ) -> HarnessProcess:
        python, prefix = base_python()
        site = pytest_site() if job.get("pytest") else None
        tmp_bytes = max(16, limits.file_mb * 2 + 8) * 1024 * 1024
        cmd = [shutil.which("bwrap") or "bwrap"]
        cmd += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        cmd += ["--hostname", "sandbox"]
        cmd += system_binds()
        cmd += bind_outside_usr(prefix, prefix)
        if site:
            cmd += bind_outside_usr(site, SITE_MOUNT)
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        cmd += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
        cmd += ["--chdir", "/tmp"]
        if uid is None:
            cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
        cmd += ["--"]
        if uid is not None:
            cmd += setpriv(uid)
        cmd += [python, "-I", "-S", "-B", "-c", harness_source()]
        job = dict(job, site=SITE_MOUNT if site else None, kill_all=True)
        if uid is None:
            job["limits"] = dict(job["limits"], nproc=own_tasks() + limits.max_processes)
        return HarnessProcess.start(cmd, job=job, cwd="/", env=scrubbed_env("/tmp"), workdir=None)


class ProcessSandbox(_HarnessSandbox):
    """No isolation: a plain child process with the same limits (operator opt-in only)."""

    name = "process"
    label = "process (no isolation, operator opt-in)"

    def spawn(
        self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None
    ) -> HarnessProcess:
        python, _prefix = base_python()
        site = pytest_site() if job.get("pytest") else None
        workdir = tempfile.mkdtemp(prefix="kdt-sandbox-")
        if uid is not None:
            os.chown(workdir, uid, uid)
        cmd = [*(setpriv(uid) if uid is not None else []), python, "-I", "-S", "-B"]
        cmd += ["-c", harness_source()]
        job = dict(job, site=site, kill_all=uid is not None)
        if uid is None:
            job["limits"] = dict(job["limits"], nproc=own_tasks() + limits.max_processes)
        return HarnessProcess.start(
            cmd, job=job, cwd=workdir, env=scrubbed_env(workdir), workdir=workdir
        )


def _finish(
    result: RunResult, *, sandbox: str, executable: frozenset[tuple[str, int]], duration_ms: float
) -> TestRun:
    return TestRun(
        verdict=result.verdict,
        cases=tuple(result.cases),
        message=result.message,
        limits_hit=tuple(result.limits),
        stdout=result.stdout,
        stderr=result.stderr,
        sandbox=sandbox,
        duration_ms=round(duration_ms, 1),
        executable=executable,
    )

"""Driving one run of an exercise's tests: harness processes one after another (a fresh one
after a test that hung or killed its process), within the run's wall-time and CPU budgets;
each report checked (a forged or out-of-turn one voids the run); then the verdict and the
message in plain words.

The ``tests.json`` cases run in mode "run" (the submission loaded in the harness process,
the server judging what it returns); the pytest files then run in mode "pytest", a process
that never runs trainee code and asks another one (that it starts) to run it, so no code of
the submission's can reach the process that reports the pytest verdicts
(``tutor/review/sandbox_harness.py``, "pytest: the runner")."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from tutor.errors import ProviderUnavailableError
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox.harness_process import (
    GRACE_S,
    TAIL_BYTES,
    Exit,
    HarnessProcess,
    Spawner,
    pump,
)
from tutor.review.sandbox.job import choose_main
from tutor.review.sandbox.protocol import SandboxLimits
from tutor.review.sandbox.uid_slots import kill_uid, uid_slot
from tutor.review.types import CaseResult, CaseStatus, SourceFile, Verdict

_STARTUP_S = 5.0  # python (+ pytest import) start, counted against the wall budget anyway


@dataclass
class _Case:
    status: CaseStatus
    actual: str | None = None
    error: str | None = None
    ms: float = 0.0
    lines: frozenset[tuple[str, int]] = frozenset()
    limit: str = ""  # the limit this case hit, if any
    output: str | None = None  # what an expression case printed (shown, not compared)


@dataclass
class RunResult:
    cases: list[CaseResult] = field(default_factory=list)
    verdict: Verdict = "passed"
    message: str = ""
    limits: list[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""


_LIMIT_WORDS = {
    "memory": "stopped: used more than {memory_mb} MB of memory",
    "output": "the program tried to print more than {output_kb} KB",
    "processes": "the program tried to start more than {max_processes} processes",
    "file_size": "the program tried to write more than {file_mb} MB to a file "
    "(or filled its temporary folder)",
    "cpu": "stopped after {cpu_s:g} s of CPU time",
}
_LIMIT_NAMES = {
    "memory": "memory",
    "output": "output",
    "processes": "processes",
    "file_size": "file_size",
    "cpu": "cpu",
    "timeout": "wall",
}


class RunDriver:
    """Runs the tests, restarting after the test in progress when a process had to die."""

    def __init__(
        self,
        sandbox: Spawner,
        *,
        job: dict[str, Any],
        tests: ExerciseTests,
        files: tuple[SourceFile, ...],
        limits: SandboxLimits,
    ) -> None:
        self.sandbox = sandbox
        self.job = job
        self.tests = tests
        self.files = files
        self.limits = limits
        self.json_cases = tests.json_cases
        self.names: list[str] = [c.name for c in self.json_cases]
        self.pytest_known = not tests.pytest_files
        self.results: dict[int, _Case] = {}
        self.partial_lines: dict[int, frozenset[tuple[str, int]]] = {}
        self.current: int | None = None  # the case in progress (-1: loading)
        self.phase = "start"
        self.load_failure: dict[str, Any] | None = None
        self.missing: str | None = None
        self.collect_errors: list[dict[str, Any]] = []
        self.pytest_problem = ""
        self.forged: list[str] = []
        self.limits_hit: list[str] = []
        self.cpu_spent = 0.0
        self.proc_cpu = 0.0
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.events: list[str] = []
        self.last_report = 0.0

    @property
    def total(self) -> int:
        return len(self.names)

    def drive(self) -> RunResult:
        started = time.monotonic()
        wall_end = started + self.limits.wall_s
        start = 0
        with uid_slot() as uid:
            while True:
                if time.monotonic() >= wall_end:
                    self._hit("timeout")
                    self.events.append(f"killed after {self.limits.wall_s:g} s wall time")
                    break
                cpu_left = self.limits.cpu_s - self.cpu_spent
                if cpu_left < 0.05:
                    self._hit("cpu")
                    self.events.append(_LIMIT_WORDS["cpu"].format(**vars(self.limits)))
                    break
                pytest_now = bool(self.tests.pytest_files) and start >= len(self.json_cases)
                mode = "pytest" if pytest_now else "run"
                job = dict(self.job, start=start, mode=mode)
                job["limits"] = dict(job["limits"], cpu_s=cpu_left)
                proc = self.sandbox.spawn(job, self.limits, uid=uid)
                self.current = None
                self.phase = "start"
                self.proc_cpu = 0.0
                spawned = time.monotonic()
                try:
                    end = pump(
                        proc,
                        on_record=self._record,
                        deadline=wall_end,
                        silence_s=self._silence,
                        output_limit=self.limits.output_kb * 1024 + 16 * 1024,
                    )
                finally:
                    self._keep_output(proc)
                    proc.close()
                    if uid is not None and not self.sandbox.own_pid_namespace:
                        kill_uid(uid)
                if end.reason != "done":
                    # the CPU it used since its last report is at most the time that passed
                    self.proc_cpu += max(0.0, time.monotonic() - max(spawned, self.last_report))
                self.cpu_spent += self.proc_cpu
                if end.reason == "exited" and self.phase == "start" and not self.events:
                    problem = bytes(proc.stderr).decode("utf-8", "replace").strip()
                    if problem.startswith("bwrap:") or not self.results:
                        raise ProviderUnavailableError(
                            f"the sandbox could not start: {problem[-300:] or end.returncode}"
                        )
                if self.load_failure is not None:
                    break
                if end.reason == "done":
                    if mode == "run" and self.tests.pytest_files:
                        start = max(start, len(self.json_cases))  # now the pytest files
                        continue
                    break
                if self.forged:
                    break
                previous, start = start, self._after_death(end)
                if start is None or start <= previous:
                    break
                if self.pytest_known and start >= self.total:
                    break
        return self._result()

    def _silence(self) -> float:
        if self.phase == "start":
            return _STARTUP_S + self.job["load_s"]
        if self.phase == "pytest":
            return max(_STARTUP_S, self.job["case_s"]) + GRACE_S
        if self.phase == "load":
            return self.job["load_s"] + GRACE_S
        return self.job["case_s"] + GRACE_S

    def _record(self, record: dict[str, Any] | None) -> bool:
        self.last_report = time.monotonic()
        if record is None:
            self.forged.append("a line on the results channel that is not a report")
            return False
        kind = record.get("t")
        if kind == "begin":
            index = record.get("i")
            self.current = index if isinstance(index, int) else None
            self.phase = "load" if index == -1 else "case"
        elif kind == "loaded":
            if record.get("ok"):
                self.missing = record.get("missing") or self.missing
                self.phase = "between"
            else:
                self.load_failure = record
        elif kind == "partial":
            index = record.get("i")
            if isinstance(index, int):
                self.partial_lines[index] = self._lines(record.get("lines"))
        elif kind == "case":
            self._case(record)
        elif kind == "collected":
            self._collected(record)
        elif kind == "collect_error":
            self.collect_errors.append(record)
        elif kind == "pytest_error":
            self.pytest_problem = str(record.get("error", ""))[:500]
        elif kind == "phase":
            self.phase = str(record.get("name"))
        elif kind == "pytest_done":
            pass
        elif kind == "done":
            self.proc_cpu = _number(record.get("cpu"))
            return True
        elif kind == "harness_error":
            self.forged.append(f"the harness failed: {record.get('error')}")
        else:
            self.forged.append(f"an unknown report {str(kind)[:40]!r}")
        return False

    def _collected(self, record: dict[str, Any]) -> None:
        tests = record.get("tests")
        first = record.get("first")
        if not isinstance(tests, list) or first != len(self.json_cases):
            self.forged.append("a malformed list of collected tests")
            return
        names = [str(t) for t in tests]
        if self.pytest_known:
            if self.names[len(self.json_cases) :] != names:
                self.forged.append("the collected tests changed between runs")
            return
        self.names = [c.name for c in self.json_cases] + names
        self.pytest_known = True
        self.phase = "between"

    def _case(self, record: dict[str, Any]) -> None:
        index = record.get("i")
        if not isinstance(index, int) or index < 0 or index >= self.total:
            self.forged.append(f"a result for a test that was not asked for ({index!r})")
            return
        if index in self.results:
            self.forged.append(f"two results for test {index + 1}")
            return
        if self.current != index:
            self.forged.append(f"a result for test {index + 1} while another was running")
            return
        self.current = None
        self.phase = "between"
        self.proc_cpu = _number(record.get("cpu"), self.proc_cpu)
        lines = self._lines(record.get("lines")) if self.job["trace"] else frozenset()
        status = record.get("status")
        ms = _number(record.get("ms"))
        if index < len(self.json_cases):
            case = self.json_cases[index]
            if status == "missing":
                self.results[index] = _Case("error", None, self._missing_text(), ms, lines)
                return
            if status in ("returned", "evaluated", "raised"):
                verdict, actual, error = case.judge(record)
                if record.get("unserializable") and verdict != "passed":
                    error = error or f"the result could not be compared: {record['unserializable']}"
                output = _output(record.get("output")) if status == "evaluated" else None
                self.results[index] = _Case(verdict, actual, error, ms, lines, output=output)
                return
        else:
            mapped = {"test_passed": "passed", "test_failed": "failed", "test_error": "error"}
            if status in mapped:
                error = record.get("error") if status != "test_passed" else None
                self.results[index] = _Case(mapped[status], None, _text(error), ms, lines)
                return
            if status == "test_skipped":
                self.results[index] = _Case("passed", None, "skipped", ms, lines, limit="skip")
                return
        self.results[index] = self._limit_case(str(status), record, ms, lines)

    def _limit_case(
        self, status: str, record: dict[str, Any], ms: float, lines: frozenset[tuple[str, int]]
    ) -> _Case:
        words = vars(self.limits)
        if status == "timeout":
            self._hit("timeout")
            return _Case(
                "timeout",
                None,
                f"stopped after {self.job['case_s']:g} s (an endless loop?)",
                ms,
                lines,
                "timeout",
            )
        if status == "cpu":
            self._hit("cpu")
            return _Case("timeout", None, _LIMIT_WORDS["cpu"].format(**words), ms, lines, "cpu")
        if status in ("memory", "output", "processes", "file_size"):
            self._hit(status)
            return _Case("crashed", None, _LIMIT_WORDS[status].format(**words), ms, lines, status)
        if status == "exit":
            code = record.get("code", "")
            error = _text(record.get("error")) if "code" not in record else None
            return _Case(
                "crashed", None, error or f"the program called sys.exit({code})", ms, lines, "exit"
            )
        if status == "died":  # pytest: the submission's process ended or misbehaved in a call
            error = _text(record.get("error")) or "the program's process ended during this test"
            return _Case("crashed", None, error, ms, lines, "died")
        self.forged.append(f"an unknown test status {status[:40]!r}")
        return _Case("crashed", None, "the test's result was not understood", ms, lines)

    def _after_death(self, end: Exit) -> int | None:
        """Mark the case in progress when the process died or was killed; the next start."""
        index = self.current
        words = vars(self.limits)
        if end.kill_reason == "wall":
            self._hit("timeout")
            self.events.append(f"killed after {self.limits.wall_s:g} s wall time")
            if index is not None and index >= 0:
                self._mark(index, "timeout", f"killed after {self.limits.wall_s:g} s wall time")
            return None
        if self.phase == "start":
            self.load_failure = {"status": "start", "end": end}
            return None
        if self.phase == "load" or index == -1:
            self.load_failure = {"status": "died", "end": end}
            return None
        if index is None:
            if self.phase == "pytest" or (not self.pytest_known and self.tests.pytest_files):
                self.pytest_problem = "the tests stopped while being collected: " + self._death(end)
                return None
            self.events.append("the sandbox stopped between tests: " + self._death(end))
            return max(self.results, default=-1) + 1
        if end.kill_reason == "silence":
            self._hit("timeout")
            self._mark(
                index,
                "timeout",
                f"killed after {self.job['case_s'] + GRACE_S:g} s: the test did not stop when "
                "asked (an endless loop that catches every exception?)",
                "timeout",
            )
        elif end.kill_reason == "output":
            self._hit("output")
            self._mark(index, "crashed", _LIMIT_WORDS["output"].format(**words), "output")
        elif end.kill_reason == "results":
            self.forged.append("far too much data on the results channel")
            return None
        elif end.signal_name == "SIGXCPU" or (end.signal_name == "SIGKILL" and self.cpu_out()):
            self._hit("cpu")
            self._mark(index, "timeout", _LIMIT_WORDS["cpu"].format(**words), "cpu")
        else:
            self._mark(index, "crashed", self._death(end), "died")
        return index + 1

    def cpu_out(self) -> bool:
        return self.cpu_spent + self.proc_cpu >= self.limits.cpu_s - 0.05

    def _death(self, end: Exit) -> str:
        if end.kill_reason == "output":
            return _LIMIT_WORDS["output"].format(**vars(self.limits))
        if end.signal_name:
            return (
                f"the program crashed (signal {end.signal_name}); it may have recursed too deeply "
                "or run out of memory"
            )
        return (
            f"the Python process ended during this test (exit code {end.returncode}; "
            "os._exit() or a crash)"
        )

    def _mark(self, index: int, status: CaseStatus, error: str, limit: str = "") -> None:
        if index in self.results:
            return
        lines = self.partial_lines.get(index, frozenset())
        self.results[index] = _Case(status, None, error, 0.0, lines, limit)

    def _hit(self, status: str) -> None:
        name = _LIMIT_NAMES.get(status, status)
        if name not in self.limits_hit:
            self.limits_hit.append(name)

    def _missing_text(self) -> str:
        main = self.files[choose_main(self.files, self.tests)].name
        return f"{main} does not define {self.missing}()"

    def _lines(self, raw: Any) -> frozenset[tuple[str, int]]:
        out = set()
        if isinstance(raw, list):
            for pair in raw:
                if (
                    isinstance(pair, list)
                    and len(pair) == 2
                    and isinstance(pair[0], int)
                    and isinstance(pair[1], int)
                    and 0 <= pair[0] < len(self.files)
                ):
                    out.add((self.files[pair[0]].name, pair[1]))
        return frozenset(out)

    def _keep_output(self, proc: HarnessProcess) -> None:
        for mine, theirs in ((self.stdout, proc.stdout), (self.stderr, proc.stderr)):
            mine += theirs
            if len(mine) > TAIL_BYTES:
                del mine[: len(mine) - TAIL_BYTES]

    # --- the verdict -----------------------------------------------------------------------------

    def _result(self) -> RunResult:
        result = RunResult(
            stdout=_tail(self.stdout),
            stderr=_tail(self.stderr),
            limits=list(self.limits_hit),
        )
        if self.load_failure is not None:
            return self._load_failed(result)
        blamed_tests = [e for e in self.collect_errors if e.get("blame") != "submission"]
        cases = self._case_results()
        result.cases = cases
        if self.forged:
            result.verdict = "crashed"
            result.message = (
                "the test results were interfered with ("
                + "; ".join(dict.fromkeys(self.forged))
                + "), so none of them can be trusted"
            )
            return result
        if blamed_tests or self.pytest_problem:
            first = blamed_tests[0] if blamed_tests else {}
            detail = f"{first.get('file')}: {first.get('error')}" if first else self.pytest_problem
            result.verdict = "test_error"
            result.message = f"the exercise's own tests could not run: {detail}"
            return result
        for error in self.collect_errors:
            cases.append(
                CaseResult(
                    name=str(error.get("file")),
                    status="error",
                    error=_text(error.get("error")),
                )
            )
        result.verdict, result.message = self._summary(cases)
        return result

    def _case_results(self) -> list[CaseResult]:
        out: list[CaseResult] = []
        not_run = "not run: " + (
            "; ".join(dict.fromkeys(self.events)) if self.events else "the run was stopped"
        )
        for index, name in enumerate(self.names):
            case = self.results.get(index)
            json_case = self.json_cases[index] if index < len(self.json_cases) else None
            if case is None:
                status: CaseStatus = "timeout" if self.limits_hit else "crashed"
                case = _Case(status, None, not_run)
            if case.limit == "skip":
                continue
            out.append(
                CaseResult(
                    name=name,
                    status=case.status,
                    input=json_case.display_input() if json_case else "",
                    expected=json_case.display_expected() if json_case else None,
                    actual=case.actual,
                    error=case.error,
                    duration_ms=round(case.ms, 3),
                    lines=case.lines,
                    output=case.output,
                    hidden=json_case.hidden if json_case else False,
                )
            )
        return out

    def _summary(self, cases: list[CaseResult]) -> tuple[Verdict, str]:
        total = len(cases)
        passed = sum(1 for c in cases if c.status == "passed")
        parts = [f"{passed} of {total} tests passed"]
        if self.missing:
            parts.append(self._missing_text())
        for status in ("crashed", "timeout"):
            bad = [c for c in cases if c.status == status]
            if bad:
                parts.append(f"{bad[0].name}: {bad[0].error}")
        parts.extend(dict.fromkeys(e for e in self.events if "wall time" in e or "CPU" in e))
        message = "; ".join(dict.fromkeys(parts))
        if passed == total:
            return "passed", message
        statuses = {c.status for c in cases}
        if "crashed" in statuses:
            return "crashed", message
        if "timeout" in statuses:
            return "timeout", message
        return "failed", message

    def _load_failed(self, result: RunResult) -> RunResult:
        failure = self.load_failure or {}
        status = failure.get("status")
        words = vars(self.limits)
        case_status: CaseStatus = "error"
        if status == "raised":
            verdict: Verdict = "error"
            if failure.get("syntax"):
                message = f"the program has a syntax error: {failure.get('error')}"
            else:
                message = f"the program raised {failure.get('error')} while loading"
        elif status == "timeout":
            verdict, case_status = "timeout", "timeout"
            self._hit("timeout")
            message = (
                f"the program did not finish loading within {self.job['load_s']:g} s "
                "(an endless loop outside any function?)"
            )
        elif status == "cpu":
            verdict, case_status = "timeout", "timeout"
            self._hit("cpu")
            message = "while loading, " + _LIMIT_WORDS["cpu"].format(**words)
        elif status == "exit":
            verdict, case_status = "crashed", "crashed"
            message = f"the program called sys.exit({failure.get('code', '')}) while loading"
        elif status in ("memory", "output", "processes", "file_size"):
            verdict, case_status = "crashed", "crashed"
            self._hit(status)
            message = "while loading, " + _LIMIT_WORDS[status].format(**words)
        elif status == "start":
            verdict, case_status = "timeout", "timeout"
            message = "the tests could not start in time (the server is busy); try again"
        else:
            end = failure.get("end")
            if isinstance(end, Exit) and end.kill_reason == "silence":
                verdict, case_status = "timeout", "timeout"
                self._hit("timeout")
                message = (
                    f"the program did not finish loading within {self.job['load_s']:g} s "
                    "and did not stop when asked"
                )
            elif isinstance(end, Exit) and end.kill_reason == "output":
                verdict, case_status = "crashed", "crashed"
                self._hit("output")
                message = "while loading, " + _LIMIT_WORDS["output"].format(**words)
            else:
                verdict, case_status = "crashed", "crashed"
                detail = (
                    self._death(end)
                    if isinstance(end, Exit)
                    else str(failure.get("error") or "it stopped")
                )
                message = "while loading: " + detail.replace("during this test", "")
        result.verdict = verdict
        result.message = message
        result.limits = list(self.limits_hit)
        result.cases = [
            CaseResult(
                name=case.name,
                status=case_status,
                input=case.display_input(),
                expected=case.display_expected(),
                error=message,
                hidden=case.hidden,
            )
            for case in self.json_cases
        ] + [
            CaseResult(name=name, status=case_status, error=message)
            for name in self.names[len(self.json_cases) :]
        ]
        return result


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 500 else text[:499] + "…"


def _output(value: Any) -> str | None:
    """An expression case's printed output as shown: the first 2,000 characters."""
    if not isinstance(value, str) or not value:
        return None
    return value if len(value) <= 2000 else value[:1999] + "…"


def _tail(data: bytearray) -> str:
    return bytes(data[-TAIL_BYTES:]).decode("utf-8", "replace")

"""Running trainee code with an exercise's tests, isolated and under resource limits.

``build_sandbox(kind, allow_unsafe=...)`` picks the implementation (docs/sandbox.md says what
each one protects against):

- ``bubblewrap``: the harness (``sandbox_harness.py``) runs under ``bwrap`` with no network,
  its own PID/IPC/UTS namespaces, a read-only ``/usr`` and Python, a size-capped ``/tmp`` as
  its only writable place, no ``/etc``, ``/home``, ``/root``, project or data folders, a
  scrubbed environment, and (when the server is root) a uid of its own, so the process limit
  holds; resource limits on top.
- ``process``: the same harness, limits, scrubbed environment and temporary folder, without
  isolation; only with the operator's opt-in (``allow_unsafe``).
- otherwise a sandbox that refuses: every run returns the verdict ``refused`` with the reason.

A run streams one JSON line per event from the harness on a dedicated pipe; when a test hangs
or kills its process, that test is marked and the next one starts in a fresh process, within
the run's wall-time and CPU budgets. Expected values never enter the sandbox: the server
compares (``JsonCase.judge``).
"""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import json
import math
import os
import random
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tutor.errors import ConfigError, InvalidInputError, ProviderUnavailableError
from tutor.review.exercise_tests import ExerciseTests, JsonCase
from tutor.review.types import CaseResult, CaseStatus, SourceFile, TestRun, Verdict

__all__ = [
    "BubblewrapSandbox",
    "ProcessSandbox",
    "RefusedSandbox",
    "Sandbox",
    "SandboxLimits",
    "build_sandbox",
    "bubblewrap_available",
    "executable_lines",
]

_HARNESS_PATH = Path(__file__).with_name("sandbox_harness.py")
_FILE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}\.py$")
_TAIL_BYTES = 8 * 1024
_MAX_RESULT_BYTES = 64 * 1024 * 1024
_GRACE_S = 1.0  # how long past a test's own limit before the process is killed
_STARTUP_S = 5.0  # python (+ pytest import) start, counted against the wall budget anyway
_UID_BASE = 2_100_000  # dedicated uids for sandboxed runs when the server is root
_UID_SLOTS = 128
_SITE_MOUNT = "/opt/kdt-site"


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


# --- building ---------------------------------------------------------------------------------


def build_sandbox(kind: str, *, allow_unsafe: bool) -> Sandbox:
    """The sandbox for a ``KDT_SANDBOX`` value: ``auto`` | ``bubblewrap`` | ``process``.

    ``bubblewrap`` when it does not work here is a ``ConfigError``. ``process`` without
    ``allow_unsafe``, and ``auto`` with neither, give a ``RefusedSandbox`` (runs return the
    verdict ``refused`` with the reason) so the server still starts and static review works.
    """
    if kind == "bubblewrap":
        problem = _bubblewrap_problem()
        if problem:
            raise ConfigError(
                f"KDT_SANDBOX=bubblewrap, but bubblewrap does not work here: {problem}. "
                "Install the Debian package 'bubblewrap', or set KDT_SANDBOX=auto"
            )
        return BubblewrapSandbox()
    if kind == "process":
        if allow_unsafe:
            return ProcessSandbox()
        return RefusedSandbox(
            "tests were not run: KDT_SANDBOX=process runs trainee code without isolation, "
            "which needs the operator's opt-in (KDT_SANDBOX_ALLOW_UNSAFE=true)"
        )
    if kind == "auto":
        if bubblewrap_available():
            return BubblewrapSandbox()
        if allow_unsafe:
            return ProcessSandbox()
        return RefusedSandbox(
            "tests were not run: bubblewrap is not available on this server "
            f"({_bubblewrap_problem()}), and running trainee code without isolation needs "
            "the operator's opt-in (KDT_SANDBOX_ALLOW_UNSAFE=true)"
        )
    raise ConfigError(f"unknown sandbox {kind!r}; valid: auto, bubblewrap, process")


def bubblewrap_available() -> bool:
    """``bwrap`` is installed and can create the namespaces the sandbox uses."""
    return _bubblewrap_problem() == ""


@functools.lru_cache(maxsize=1)
def _bubblewrap_problem() -> str:
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "the bwrap command is not installed"
    probe = [
        bwrap,
        *_system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
    ]
    if os.geteuid() != 0:
        probe.append("--unshare-user")
    probe += ["--", "/usr/bin/true"]
    try:
        result = subprocess.run(probe, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not be started ({exc})"
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()[:200]
        return f"bwrap failed ({detail or 'exit code ' + str(result.returncode)})"
    return ""


# --- the sandboxes ----------------------------------------------------------------------------


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

    def run(
        self,
        *,
        files: Sequence[SourceFile],
        tests: ExerciseTests,
        limits: SandboxLimits,
        trace: bool = True,
    ) -> TestRun:
        started = time.monotonic()
        files = _check_files(files)
        executable = executable_lines(files)
        if not tests.json_cases and not tests.pytest_files:
            return TestRun(
                verdict="no_tests",
                message="this exercise has no tests",
                sandbox=self.label,
                executable=executable,
            )
        job = _base_job(files, tests, limits)
        job.update(mode="run", trace=bool(trace), pytest=_files_json(tests.pytest_files))
        run = _RunDriver(self, job=job, tests=tests, files=files, limits=limits)
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
        files = _check_files(files)
        names = [f.name for f in files]
        if target not in names:
            raise InvalidInputError(f"no submitted file named {target!r}")
        if not tests.json_cases or not variants:
            return [None] * len(variants)
        job = _base_job(files, tests, limits)
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
        driver = _VariantDriver(self, job=job, tests=tests, limits=limits, budget_s=budget_s)
        return driver.drive()

    # --- what the two kinds do differently ---------------------------------------------------

    def _spawn(
        self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None
    ) -> _Process:  # pragma: no cover - overridden
        raise NotImplementedError


class BubblewrapSandbox(_HarnessSandbox):
    """bubblewrap (``bwrap``) isolation + resource limits. See docs/sandbox.md."""

    name = "bubblewrap"
    label = "bubblewrap"

    def _spawn(self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None) -> _Process:
        python, prefix = _python()
        site = _pytest_site() if job.get("pytest") else None
        tmp_bytes = max(16, limits.file_mb * 2 + 8) * 1024 * 1024
        cmd = [shutil.which("bwrap") or "bwrap"]
        cmd += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        cmd += ["--hostname", "sandbox"]
        cmd += _system_binds()
        cmd += _bind_outside_usr(prefix, prefix)
        if site:
            cmd += _bind_outside_usr(site, _SITE_MOUNT)
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        cmd += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
        cmd += ["--chdir", "/tmp"]
        if uid is None:
            cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
        cmd += ["--"]
        if uid is not None:
            cmd += _setpriv(uid)
        cmd += [python, "-I", "-S", "-B", "-c", _harness_source()]
        job = dict(job, site=_SITE_MOUNT if site else None, kill_all=True)
        if uid is None:
            job["limits"] = dict(job["limits"], nproc=_own_tasks() + limits.max_processes)
        return _Process.start(cmd, job=job, cwd="/", env=_scrubbed_env("/tmp"), workdir=None)


class ProcessSandbox(_HarnessSandbox):
    """No isolation: a plain child process with the same limits (operator opt-in only)."""

    name = "process"
    label = "process (no isolation, operator opt-in)"

    def _spawn(self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None) -> _Process:
        python, _prefix = _python()
        site = _pytest_site() if job.get("pytest") else None
        workdir = tempfile.mkdtemp(prefix="kdt-sandbox-")
        if uid is not None:
            os.chown(workdir, uid, uid)
        cmd = [*(_setpriv(uid) if uid is not None else []), python, "-I", "-S", "-B"]
        cmd += ["-c", _harness_source()]
        job = dict(job, site=site, kill_all=uid is not None)
        if uid is None:
            job["limits"] = dict(job["limits"], nproc=_own_tasks() + limits.max_processes)
        return _Process.start(
            cmd, job=job, cwd=workdir, env=_scrubbed_env(workdir), workdir=workdir
        )


# --- one harness process ------------------------------------------------------------------------


@dataclass
class _Exit:
    reason: str  # "done" | "exited" | "killed"
    kill_reason: str = ""  # "wall" | "silence" | "output" | "results"
    returncode: int | None = None
    signal_name: str = ""


class _Process:
    """One harness process: its pipes, the records it sent, how it ended."""

    def __init__(self, popen: subprocess.Popen[bytes], results_fd: int, workdir: str | None):
        self.popen = popen
        self.results_fd = results_fd
        self.workdir = workdir
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.output_bytes = 0
        self.result_bytes = 0
        self._partial = b""
        self.bad_lines = 0

    @classmethod
    def start(
        cls,
        cmd: list[str],
        *,
        job: dict[str, Any],
        cwd: str,
        env: dict[str, str],
        workdir: str | None,
    ) -> _Process:
        read_fd, write_fd = os.pipe()
        job = dict(job, fd=write_fd)
        try:
            popen = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            os.close(read_fd)
            raise ProviderUnavailableError(f"the sandbox could not be started: {exc}") from exc
        finally:
            os.close(write_fd)
        proc = cls(popen, read_fd, workdir)
        data = json.dumps(job, allow_nan=True).encode("utf-8")
        try:
            assert popen.stdin is not None
            popen.stdin.write(data)
            popen.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        return proc

    def kill(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.kill()
        except OSError:
            pass

    def lines(self, data: bytes) -> list[dict[str, Any] | None]:
        """Complete JSON records in ``data`` (None for a line that is not a record)."""
        self.result_bytes += len(data)
        buf = self._partial + data
        *complete, self._partial = buf.split(b"\n")
        out: list[dict[str, Any] | None] = []
        for raw in complete:
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                record = None
            out.append(record if isinstance(record, dict) else None)
        return out

    def close(self) -> None:
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            os.close(self.results_fd)
        except OSError:
            pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _pump(
    proc: _Process,
    *,
    on_record: Any,
    deadline: float,
    silence_s: Any,
    output_limit: int,
) -> _Exit:
    """Read the process until it ends or must be killed; ``on_record`` gets each record and
    ``silence_s()`` says how long the process may stay quiet now."""
    sel = selectors.DefaultSelector()
    assert proc.popen.stdout is not None and proc.popen.stderr is not None
    sel.register(proc.popen.stdout.fileno(), selectors.EVENT_READ, "stdout")
    sel.register(proc.popen.stderr.fileno(), selectors.EVENT_READ, "stderr")
    sel.register(proc.results_fd, selectors.EVENT_READ, "results")
    last = time.monotonic()
    kill_reason = ""
    done = False
    done_at = 0.0
    try:
        while sel.get_map():
            now = time.monotonic()
            if done and (proc.popen.poll() is not None or now - done_at > 2.0):
                break  # finished; a leftover child may still hold the pipes open
            quiet_until = last + silence_s()
            until = min(deadline, quiet_until)
            if now >= until:
                kill_reason = "wall" if deadline <= quiet_until else "silence"
                break
            events = sel.select(min(until - now, 1.0))
            for key, _ in events:
                fd = key.fd
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(fd)
                    continue
                if key.data == "results":
                    last = time.monotonic()
                    for record in proc.lines(data):
                        if on_record(record):
                            done, done_at = True, time.monotonic()
                    if proc.result_bytes > _MAX_RESULT_BYTES:
                        kill_reason = "results"
                else:
                    buf = proc.stdout if key.data == "stdout" else proc.stderr
                    buf += data
                    if len(buf) > 2 * _TAIL_BYTES:
                        del buf[: len(buf) - _TAIL_BYTES]
                    proc.output_bytes += len(data)
                    if proc.output_bytes > output_limit:
                        kill_reason = "output"
            if kill_reason:
                break
    finally:
        sel.close()
    if kill_reason or done:
        proc.kill()  # the whole process group (and with it bwrap's PID namespace)
    if kill_reason:
        _drain(proc, on_record)
    try:
        returncode = proc.popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        returncode = proc.popen.wait()
    if kill_reason:
        return _Exit("killed", kill_reason, returncode)
    return _Exit("done" if done else "exited", "", returncode, _signal_name(returncode))


def _drain(proc: _Process, on_record: Any) -> None:
    """What the killed process had already written to the results pipe."""
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        sel = selectors.DefaultSelector()
        sel.register(proc.results_fd, selectors.EVENT_READ)
        events = sel.select(end - time.monotonic())
        sel.close()
        if not events:
            return
        try:
            data = os.read(proc.results_fd, 65536)
        except OSError:
            return
        if not data:
            return
        for record in proc.lines(data):
            on_record(record)


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return ""
    number = -returncode if returncode < 0 else (returncode - 128 if returncode > 128 else 0)
    if number <= 0:
        return ""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# --- driving a run --------------------------------------------------------------------------------


@dataclass
class _Case:
    status: CaseStatus
    actual: str | None = None
    error: str | None = None
    ms: float = 0.0
    lines: frozenset[tuple[str, int]] = frozenset()
    limit: str = ""  # the limit this case hit, if any


@dataclass
class _Result:
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


class _RunDriver:
    """Runs the tests, restarting after the test in progress when a process had to die."""

    def __init__(
        self,
        sandbox: _HarnessSandbox,
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
        self.tampered: set[str] = set()
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

    def drive(self) -> _Result:
        started = time.monotonic()
        wall_end = started + self.limits.wall_s
        start = 0
        with _uid_slot() as uid:
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
                job = dict(self.job, start=start)
                job["limits"] = dict(job["limits"], cpu_s=cpu_left)
                proc = self.sandbox._spawn(job, self.limits, uid=uid)
                self.current = None
                self.phase = "start"
                self.proc_cpu = 0.0
                spawned = time.monotonic()
                try:
                    end = _pump(
                        proc,
                        on_record=self._record,
                        deadline=wall_end,
                        silence_s=self._silence,
                        output_limit=self.limits.output_kb * 1024 + 16 * 1024,
                    )
                finally:
                    self._keep_output(proc)
                    proc.close()
                    if uid is not None and not isinstance(self.sandbox, BubblewrapSandbox):
                        _kill_uid(uid)
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
                if end.reason == "done" or self.load_failure is not None:
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
            return max(_STARTUP_S, self.job["case_s"]) + _GRACE_S
        if self.phase == "load":
            return self.job["load_s"] + _GRACE_S
        return self.job["case_s"] + _GRACE_S

    def _record(self, record: dict[str, Any] | None) -> bool:
        self.last_report = time.monotonic()
        if record is None:
            self.forged.append("a line on the results channel that is not a report")
            return False
        kind = record.get("t")
        if isinstance(record.get("tampered"), list):
            self.tampered.update(str(t) for t in record["tampered"][:20])
        if kind == "begin":
            index = record.get("i")
            self.current = index if isinstance(index, int) else None
            self.phase = "load" if index == -1 else "case"
        elif kind == "loaded":
            if record.get("ok"):
                self.missing = record.get("missing")
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
            if status in ("returned", "printed", "raised"):
                verdict, actual, error = case.judge(record)
                if record.get("unserializable") and verdict != "passed":
                    error = error or f"the result could not be compared: {record['unserializable']}"
                self.results[index] = _Case(verdict, actual, error, ms, lines)
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
            return _Case("crashed", None, f"the program called sys.exit({code})", ms, lines, "exit")
        self.forged.append(f"an unknown test status {status[:40]!r}")
        return _Case("crashed", None, "the test's result was not understood", ms, lines)

    def _after_death(self, end: _Exit) -> int | None:
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
                f"killed after {self.job['case_s'] + _GRACE_S:g} s: the test did not stop when "
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

    def _death(self, end: _Exit) -> str:
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
        main = self.files[_choose_main(self.files, self.tests)].name
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

    def _keep_output(self, proc: _Process) -> None:
        for mine, theirs in ((self.stdout, proc.stdout), (self.stderr, proc.stderr)):
            mine += theirs
            if len(mine) > _TAIL_BYTES:
                del mine[: len(mine) - _TAIL_BYTES]

    # --- the verdict -----------------------------------------------------------------------------

    def _result(self) -> _Result:
        result = _Result(
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
        if self.tampered:
            shown = ", ".join(sorted(self.tampered)[:5])
            result.verdict = "crashed"
            result.message = (
                "the program changed Python's built-ins or the test runner while the tests "
                f"ran ({shown}), so the pytest results cannot be trusted"
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

    def _load_failed(self, result: _Result) -> _Result:
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
            if isinstance(end, _Exit) and end.kill_reason == "silence":
                verdict, case_status = "timeout", "timeout"
                self._hit("timeout")
                message = (
                    f"the program did not finish loading within {self.job['load_s']:g} s "
                    "and did not stop when asked"
                )
            elif isinstance(end, _Exit) and end.kill_reason == "output":
                verdict, case_status = "crashed", "crashed"
                self._hit("output")
                message = "while loading, " + _LIMIT_WORDS["output"].format(**words)
            else:
                verdict, case_status = "crashed", "crashed"
                detail = self._death(end) if isinstance(end, _Exit) else "it stopped"
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
            )
            for case in self.json_cases
        ]
        return result


class _VariantDriver:
    """Runs the tests.json cases against each variant of one file; statuses only."""

    def __init__(
        self,
        sandbox: _HarnessSandbox,
        *,
        job: dict[str, Any],
        tests: ExerciseTests,
        limits: SandboxLimits,
        budget_s: float,
    ) -> None:
        self.sandbox = sandbox
        self.job = job
        self.cases = tests.json_cases
        self.limits = limits
        self.budget_s = budget_s
        self.out: list[tuple[CaseStatus, ...] | None] = [None] * len(job["variants"])
        self.statuses: dict[int, list[CaseStatus | None]] = {}
        self.current: int | None = None
        self.bad = False

    def drive(self) -> list[tuple[CaseStatus, ...] | None]:
        end_at = time.monotonic() + max(0.0, self.budget_s)
        start = 0
        count = len(self.job["variants"])
        cpu_s = self.budget_s + 1.0
        with _uid_slot() as uid:
            while start < count and time.monotonic() < end_at and not self.bad:
                job = dict(self.job, start=start)
                job["limits"] = dict(job["limits"], cpu_s=cpu_s)
                proc = self.sandbox._spawn(job, self.limits, uid=uid)
                self.current = None
                try:
                    end = _pump(
                        proc,
                        on_record=self._record,
                        deadline=end_at,
                        silence_s=lambda: self.job["variant_s"] + _GRACE_S + 1.0,
                        output_limit=self.limits.output_kb * 1024 + 16 * 1024,
                    )
                finally:
                    proc.close()
                    if uid is not None and not isinstance(self.sandbox, BubblewrapSandbox):
                        _kill_uid(uid)
                if end.reason == "done" or end.kill_reason == "wall":
                    break
                if self.current is None:
                    break  # died before any variant: nothing more to learn
                v = self.current
                fill: CaseStatus = "timeout" if end.kill_reason == "silence" else "crashed"
                got = self.statuses.get(v, [None] * len(self.cases))
                self.out[v] = tuple(s if s is not None else fill for s in got)
                start = v + 1
        return self.out

    def _record(self, record: dict[str, Any] | None) -> bool:
        if record is None:
            self.bad = True
            return False
        kind = record.get("t")
        v = record.get("v")
        if kind == "variant" and isinstance(v, int) and 0 <= v < len(self.out):
            self.current = v
            self.statuses[v] = [None] * len(self.cases)
        elif kind == "vloaded" and v == self.current and not record.get("ok"):
            status: CaseStatus = "timeout" if record.get("status") == "timeout" else "error"
            self.out[v] = tuple(status for _ in self.cases)
        elif kind == "case" and v == self.current and v is not None:
            index = record.get("i")
            if isinstance(index, int) and 0 <= index < len(self.cases):
                self.statuses[v][index] = _variant_status(self.cases[index], record)
        elif kind == "vdone" and v == self.current and v is not None:
            if self.out[v] is None:
                got = self.statuses.get(v, [])
                self.out[v] = tuple(s if s is not None else "crashed" for s in got)
            self.current = None
        elif kind == "done":
            return True
        return False


def _variant_status(case: JsonCase, record: dict[str, Any]) -> CaseStatus:
    status = record.get("status")
    if status in ("returned", "printed", "raised"):
        return case.judge(record)[0]
    if status in ("timeout", "cpu"):
        return "timeout"
    if status == "missing":
        return "error"
    return "crashed"


# --- the job ------------------------------------------------------------------------------------


def _base_job(
    files: tuple[SourceFile, ...], tests: ExerciseTests, limits: SandboxLimits
) -> dict[str, Any]:
    return {
        "files": _files_json(files),
        "main": _choose_main(files, tests),
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


def _files_json(files: Sequence[SourceFile]) -> list[dict[str, str]]:
    return [{"name": f.name, "text": f.text} for f in files]


def _check_files(files: Sequence[SourceFile]) -> tuple[SourceFile, ...]:
    files = tuple(files)
    if not files:
        raise InvalidInputError("there is no code to test")
    seen = set()
    for f in files:
        if not _FILE_NAME.match(f.name) or f.name in seen:
            raise InvalidInputError(f"file name {f.name[:64]!r} is not a plain, unique .py name")
        seen.add(f.name)
    return files


def _choose_main(files: Sequence[SourceFile], tests: ExerciseTests) -> int:
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
    import ast

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
    import ast

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


def _finish(
    result: _Result, *, sandbox: str, executable: frozenset[tuple[str, int]], duration_ms: float
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


# --- processes, users, paths --------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _harness_source() -> str:
    return _HARNESS_PATH.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _python() -> tuple[str, str]:
    """The base interpreter (not the venv's launcher) and the prefix it needs."""
    prefix = os.path.realpath(sys.base_prefix)
    exe = os.path.realpath(sys.executable)
    if not exe.startswith(prefix + os.sep):
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        candidate = os.path.join(prefix, "bin", version)
        if os.path.exists(candidate):
            exe = os.path.realpath(candidate)
    return exe, prefix


@functools.lru_cache(maxsize=1)
def _pytest_site() -> str | None:
    spec = importlib.util.find_spec("pytest")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.dirname(os.path.realpath(list(spec.submodule_search_locations)[0]))


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _bind_outside_usr(host: str, inside: str) -> list[str]:
    """Read-only bind of ``host`` at ``inside`` (nothing when it is already under /usr),
    creating the parent folders world-traversable (bwrap would copy e.g. /root's 0700)."""
    if inside == host and (host == "/usr" or host.startswith("/usr/")):
        return []
    args: list[str] = []
    parts = Path(inside).parts[1:-1]
    path = ""
    for part in parts:
        path += "/" + part
        args += ["--perms", "0755", "--dir", path]
    return args + ["--ro-bind", host, inside]


def _setpriv(uid: int) -> list[str]:
    return [
        shutil.which("setpriv") or "/usr/bin/setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
    ]


def _scrubbed_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def _own_tasks() -> int:
    """Tasks (processes and threads) of this uid: RLIMIT_NPROC counts them all, so an
    unprivileged server must leave the sandbox room above its own count."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


class _uid_slot:  # noqa: N801 - used as a context manager, reads like a function
    """A uid of its own for one run when the server is root (None otherwise): locked with
    ``flock`` across processes, so concurrent runs never share a process budget."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.uid: int | None = None

    def __enter__(self) -> int | None:
        if os.geteuid() != 0:
            return None
        folder = os.path.join(tempfile.gettempdir(), "kdt-sandbox-uids")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        first = random.randrange(_UID_SLOTS)
        for k in range(_UID_SLOTS):
            slot = (first + k) % _UID_SLOTS
            fd = os.open(os.path.join(folder, f"{slot}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.fd, self.uid = fd, _UID_BASE + slot
            return self.uid
        raise ProviderUnavailableError("too many sandboxed runs at once; try again shortly")

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _kill_uid(uid: int) -> None:
    """Kill every process left running as the run's own uid (process mode, root only)."""
    python, _ = _python()
    code = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n"
    try:
        subprocess.run(
            [*_setpriv(uid), python, "-I", "-S", "-c", code],
            env=_scrubbed_env("/"),
            cwd="/",
            timeout=10,
            check=False,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError):
        pass


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 500 else text[:499] + "…"


def _tail(data: bytearray) -> str:
    return bytes(data[-_TAIL_BYTES:]).decode("utf-8", "replace")

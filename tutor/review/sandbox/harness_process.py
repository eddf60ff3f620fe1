"""One harness process: started with its job on stdin and a dedicated results pipe, then
pumped (stdout and stderr kept as tails, results parsed line by line) until it says it is
done, ends, or must be killed (wall time, silence, too much output or results)."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Protocol

from tutor.errors import ProviderUnavailableError
from tutor.review.sandbox.protocol import SandboxLimits

TAIL_BYTES = 8 * 1024  # how much of stdout/stderr is kept (the end)
_MAX_RESULT_BYTES = 64 * 1024 * 1024
GRACE_S = 1.0  # how long past a test's own limit before the process is killed


class Spawner(Protocol):
    """What the drivers start harness processes with (a sandbox that runs the harness)."""

    # True when killing the harness process kills everything it started (bubblewrap's PID
    # namespace); otherwise leftovers of a run's own uid are killed after it.
    own_pid_namespace: bool

    def spawn(
        self, job: dict[str, Any], limits: SandboxLimits, *, uid: int | None
    ) -> HarnessProcess: ...


@dataclass
class Exit:
    reason: str  # "done" | "exited" | "killed"
    kill_reason: str = ""  # "wall" | "silence" | "output" | "results"
    returncode: int | None = None
    signal_name: str = ""


class HarnessProcess:
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
    ) -> HarnessProcess:
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


def pump(
    proc: HarnessProcess,
    *,
    on_record: Any,
    deadline: float,
    silence_s: Any,
    output_limit: int,
) -> Exit:
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
                    if len(buf) > 2 * TAIL_BYTES:
                        del buf[: len(buf) - TAIL_BYTES]
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
        return Exit("killed", kill_reason, returncode)
    return Exit("done" if done else "exited", "", returncode, _signal_name(returncode))


def _drain(proc: HarnessProcess, on_record: Any) -> None:
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

"""Driving a variants run (mutation-based localization): the ``tests.json`` cases against
each alternative text of one file, statuses only, within a time budget."""

from __future__ import annotations

import time
from typing import Any

from tutor.review.exercise_tests import ExerciseTests, JsonCase
from tutor.review.sandbox.harness_process import GRACE_S, Spawner, pump
from tutor.review.sandbox.protocol import SandboxLimits
from tutor.review.sandbox.uid_slots import kill_uid, uid_slot
from tutor.review.types import CaseStatus


class VariantDriver:
    """Runs the tests.json cases against each variant of one file; statuses only."""

    def __init__(
        self,
        sandbox: Spawner,
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
        with uid_slot() as uid:
            while start < count and time.monotonic() < end_at and not self.bad:
                job = dict(self.job, start=start)
                job["limits"] = dict(job["limits"], cpu_s=cpu_s)
                proc = self.sandbox.spawn(job, self.limits, uid=uid)
                self.current = None
                try:
                    end = pump(
                        proc,
                        on_record=self._record,
                        deadline=end_at,
                        silence_s=lambda: self.job["variant_s"] + GRACE_S + 1.0,
                        output_limit=self.limits.output_kb * 1024 + 16 * 1024,
                    )
                finally:
                    proc.close()
                    if uid is not None and not self.sandbox.own_pid_namespace:
                        kill_uid(uid)
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
    if status in ("returned", "evaluated", "raised"):
        return case.judge(record)[0]
    if status in ("timeout", "cpu"):
        return "timeout"
    if status == "missing":
        return "error"
    return "crashed"

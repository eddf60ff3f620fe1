"""The domain types of code review, shared by its steps (static checks, sandboxed tests,
fault localization, narrative) and stored with each review (``to_dict`` / ``from_dict``
give the JSON form kept in the database and returned by the API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Category = Literal["syntax", "bug", "security", "style", "complexity", "idiom"]
CaseStatus = Literal["passed", "failed", "error", "timeout", "crashed"]
Verdict = Literal[
    "passed",  # every test passed
    "failed",  # the code ran; some tests failed or raised
    "error",  # the submission could not be loaded (syntax error, exception at import)
    "timeout",  # the run hit its wall-time or CPU-time limit
    "crashed",  # the sandboxed process died (memory, output, processes, signal, exit tricks)
    "test_error",  # the exercise's own tests are broken (instructor's problem, not the trainee's)
    "refused",  # tests were not run (no sandbox available and no operator opt-in)
    "no_tests",  # nothing to run (no exercise, or an exercise without tests)
]


@dataclass(frozen=True)
class SourceFile:
    """One submitted (or test) file: a plain relative name like ``solution.py`` and its text."""

    name: str
    text: str


@dataclass(frozen=True)
class Finding:
    """One static-review finding, anchored to lines of one submitted file."""

    tool: str  # "python" (syntax), "ruff", "bandit", "radon"
    code: str  # e.g. "E999", "F821", "B006", "B101", "C901"
    file: str
    line: int  # 1-based
    end_line: int
    severity: Severity
    category: Category
    title: str  # one line, e.g. "Mutable default argument"
    explanation: str  # plain words, in the review's language
    concept: str = ""  # search text for the course passage that teaches it
    column: int = 0
    folded: int = 0  # how many duplicate findings were folded into this one
    link: dict[str, Any] | None = None  # course passage {doc_id, title, heading, url}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


@dataclass(frozen=True)
class CaseResult:
    """One test's outcome. ``input``/``expected``/``actual`` are display strings (repr)."""

    name: str
    status: CaseStatus
    input: str = ""
    expected: str | None = None
    actual: str | None = None
    error: str | None = None  # e.g. "ZeroDivisionError: division by zero (line 4)"
    duration_ms: float = 0.0
    # what the code printed while an expression case ran: shown, never compared
    output: str | None = None
    hidden: bool = False  # tests.json "hidden": trainees see the name and the status only
    # (file, line) pairs of submitted files executed during this test; for localization
    lines: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = sorted([list(p) for p in self.lines])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        data = dict(data)
        data["lines"] = frozenset((str(f), int(n)) for f, n in data.get("lines", ()))
        return cls(**data)


@dataclass(frozen=True)
class TestRun:
    """The result of running an exercise's tests against a submission in the sandbox."""

    __test__ = False  # not a pytest class

    verdict: Verdict
    cases: tuple[CaseResult, ...] = ()
    message: str = ""  # what happened, in plain words (e.g. "stopped after 5 s of CPU time")
    limits_hit: tuple[str, ...] = ()  # "cpu", "wall", "memory", "output", "processes", "file_size"
    stdout: str = ""  # tail of the program's own output (capped)
    stderr: str = ""
    sandbox: str = ""  # "bubblewrap" | "process (no isolation, operator opt-in)" | ""
    duration_ms: float = 0.0
    # lines of the submitted files that hold code (for localization's denominators)
    executable: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.status == "passed")

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if c.status != "passed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "cases": [c.to_dict() for c in self.cases],
            "message": self.message,
            "limits_hit": list(self.limits_hit),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "sandbox": self.sandbox,
            "duration_ms": self.duration_ms,
            "executable": sorted([list(p) for p in self.executable]),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestRun:
        return cls(
            verdict=data["verdict"],
            cases=tuple(CaseResult.from_dict(c) for c in data.get("cases", ())),
            message=data.get("message", ""),
            limits_hit=tuple(data.get("limits_hit", ())),
            stdout=data.get("stdout", ""),
            stderr=data.get("stderr", ""),
            sandbox=data.get("sandbox", ""),
            duration_ms=float(data.get("duration_ms", 0.0)),
            executable=frozenset((str(f), int(n)) for f, n in data.get("executable", ())),
        )


@dataclass(frozen=True)
class SuspiciousLine:
    """A line fault localization points at, with the guiding question shown to the trainee."""

    file: str
    line: int
    score: float
    rank: int  # 1-based; tied lines share the tied group's last position
    question: str = ""
    reason: str = ""  # why it is suspicious, e.g. "run by every failing test, by 1 of 6 passing"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuspiciousLine:
        return cls(**data)


HIDDEN_DETAILS = ("input", "expected", "actual", "error", "output")


def hide_case_details(cases: Any) -> list[dict[str, Any]]:
    """Cases as a trainee may see them (``CaseResult.to_dict`` form): a hidden case keeps its
    name, status and duration; its input, expected value, what the code gave or printed and
    its error are blanked (``""`` for the input, ``None`` for the rest)."""
    out = []
    for case in cases or []:
        if isinstance(case, dict) and case.get("hidden"):
            case = {**case, **{k: None for k in HIDDEN_DETAILS}, "input": ""}
        out.append(case)
    return out

"""Code review over HTTP (``/api/reviews``): submissions, reviews and exercises."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from tutor.review.types import hide_case_details


# --- code review ------------------------------------------------------------------------------
class CodeFileCreate(BaseModel):
    name: StrictStr = Field(max_length=200, description="a plain file name, e.g. solution.py")
    content: StrictStr = Field(description="the file's text (UTF-8)")


class CodeReviewCreate(BaseModel):
    files: list[CodeFileCreate] = Field(max_length=200)
    exercise_id: StrictStr | None = Field(default=None, max_length=128)
    lang: Literal["en", "ko"] | None = None
    wait: StrictBool = Field(
        default=False, description="wait for the tests instead of returning while they run"
    )


class CodeFilePublic(BaseModel):
    name: str
    text: str


class CodeReviewSummaryPublic(BaseModel):
    id: str
    status: Literal["running", "complete", "failed"]
    verdict: str | None
    exercise_id: str | None
    course: str | None
    attempt: int
    passed: int | None = Field(description="tests passed (None when no tests ran)")
    total: int | None
    findings: int
    created_at: datetime

    @classmethod
    def from_record(cls, r: Any) -> CodeReviewSummaryPublic:
        cases = (r.tests or {}).get("cases")
        return cls(
            id=r.id,
            status=r.status,
            verdict=r.verdict,
            exercise_id=r.exercise_id,
            course=r.course,
            attempt=r.attempt,
            passed=sum(1 for c in cases if c["status"] == "passed") if cases is not None else None,
            total=len(cases) if cases is not None else None,
            findings=len(r.static.get("findings", [])) + len(r.static.get("hidden", [])),
            created_at=r.created_at,
        )


class CodeReviewPublic(CodeReviewSummaryPublic):
    user_id: int
    level: int
    lang: str
    files: list[CodeFilePublic]
    syntax_ok: bool
    findings_shown: list[dict[str, Any]] = Field(
        description="static findings, most important first, capped for the level"
    )
    findings_hidden: list[dict[str, Any]] = Field(description='the "N more" beyond the cap')
    complexity: dict[str, int]
    static_notes: list[str] = Field(description="what the static checks could not check, and why")
    tests: dict[str, Any] | None = Field(
        description="the sandboxed test run: verdict, message, limits_hit, cases (name, "
        "status, input, expected, actual, error, output: what the code printed, hidden: a "
        "case whose details only staff see), sandbox"
    )
    suspicious: list[dict[str, Any]] = Field(description="lines fault localization points at")
    narrative: str
    notices: list[str]
    error: str | None
    timings: dict[str, float]
    previous_id: str | None
    diff: str | None = Field(description="unified diff against the previous attempt")
    completed_at: datetime | None

    @classmethod
    def from_review(
        cls,
        r: Any,
        *,
        previous_id: str | None,
        diff: str | None,
        show_hidden: bool = False,
    ) -> CodeReviewPublic:
        """``show_hidden``: staff see hidden test cases' details; trainees only their names
        and statuses (``tests.json`` ``"hidden": true``)."""
        summary = CodeReviewSummaryPublic.from_record(r).model_dump()
        tests = None
        if r.tests is not None:
            # Coverage is for localization; the client needs the outcome of each case.
            tests = {k: v for k, v in r.tests.items() if k != "executable"}
            cases = [
                {k: v for k, v in c.items() if k != "lines"} for c in r.tests.get("cases", [])
            ]
            tests["cases"] = cases if show_hidden else hide_case_details(cases)
        return cls(
            **summary,
            user_id=r.user_id,
            level=r.level,
            lang=r.lang,
            files=[CodeFilePublic(name=f.name, text=f.text) for f in r.files],
            syntax_ok=bool(r.static.get("syntax_ok", True)),
            findings_shown=r.static.get("findings", []),
            findings_hidden=r.static.get("hidden", []),
            complexity=r.static.get("complexity", {}),
            static_notes=r.static.get("notes", []),
            tests=tests,
            suspicious=r.suspicious,
            narrative=r.narrative,
            notices=r.notices,
            error=r.error,
            timings=r.timings,
            previous_id=previous_id,
            diff=diff,
            completed_at=r.completed_at,
        )


class ExercisePublic(BaseModel):
    id: str
    course: str
    title: str
    level: int | None
    skills: list[str]
    starter: str | None = None

"""Exercise and quiz authoring over HTTP (``/api/authoring/{course}``): the bodies instructors
send (unknown fields are refused: a typo must not be dropped) and what comes back. The
console's exercises page (console_exercises.js) reads these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr

from api.schemas.common import ErrorPublic
from tutor.curation.exercise_drafts import MAX_CODE_BYTES, ExerciseDraft
from tutor.review.exercise_tests import MAX_JSON_BYTES

_CODE = MAX_CODE_BYTES  # characters are at most bytes; the service checks bytes again
_NAMES = Field(default_factory=list, max_length=20)


class ExerciseBody(BaseModel):
    id: StrictStr = Field(max_length=100)
    title: StrictStr = Field(max_length=400)
    statement: StrictStr = Field(max_length=60_000)
    solution: StrictStr = Field(max_length=_CODE)
    level: StrictInt | None = None
    skills: list[Annotated[StrictStr, Field(max_length=100)]] = _NAMES
    prerequisites: list[Annotated[StrictStr, Field(max_length=100)]] = _NAMES
    module: StrictStr | None = Field(default=None, max_length=200)
    lang: Literal["en", "ko"] = "en"
    title_ko: StrictStr | None = Field(default=None, max_length=400)
    statement_ko: StrictStr | None = Field(default=None, max_length=60_000)
    starter: StrictStr = Field(default="", max_length=_CODE)
    tests_json: StrictStr | None = Field(default=None, max_length=MAX_JSON_BYTES)
    tests_py: StrictStr | None = Field(default=None, max_length=_CODE)

    model_config = {"extra": "forbid"}

    def draft(self) -> ExerciseDraft:
        return ExerciseDraft.from_dict(self.model_dump())


class ExerciseEdit(ExerciseBody):
    base_version: StrictStr = Field(max_length=64)

    def draft(self) -> ExerciseDraft:
        return ExerciseDraft.from_dict(self.model_dump(exclude={"base_version"}))


class QuizBody(BaseModel):
    id: StrictStr | None = Field(default=None, max_length=100)
    question: StrictStr = Field(max_length=4_000)
    options: list[Annotated[StrictStr, Field(max_length=2_000)]] = Field(max_length=20)
    answer_index: Any = None  # validated by the service, with a clear message
    skills: list[Annotated[StrictStr, Field(max_length=100)]] = _NAMES
    lesson_id: StrictStr | None = Field(default=None, max_length=200)
    lang: StrictStr = Field(default="en", max_length=10)
    explanation: StrictStr = Field(default="", max_length=10_000)

    model_config = {"extra": "forbid"}

    def raw(self) -> dict[str, Any]:
        data = self.model_dump()
        if data["lesson_id"] in (None, ""):
            data.pop("lesson_id")
        if not data["id"]:
            data.pop("id")
        return data


class QuizEdit(QuizBody):
    base_version: StrictStr = Field(max_length=64)

    def raw(self) -> dict[str, Any]:
        data = super().raw()
        data.pop("base_version", None)
        return data


class ExerciseSummaryPublic(BaseModel):
    id: str
    title: str
    title_ko: str | None
    level: int | None
    skills: list[str]
    authored: bool = Field(description="written in the console (else: the course folder's)")


class ExerciseListPublic(BaseModel):
    course: str
    exercises: list[ExerciseSummaryPublic]


class ExerciseDraftPublic(BaseModel):
    """An exercise as written (``ExerciseBody``'s fields)."""

    id: str
    title: str
    statement: str
    solution: str
    level: int | None
    skills: list[str]
    prerequisites: list[str]
    module: str | None
    lang: str
    title_ko: str | None
    statement_ko: str | None
    starter: str
    tests_json: str | None
    tests_py: str | None


class StoredExercisePublic(BaseModel):
    exercise: ExerciseDraftPublic
    version: str = Field(description="send it back as base_version with an edit")
    authored: bool


class TestCasePublic(BaseModel):
    __test__ = False  # not a pytest class

    name: str
    status: str
    input: str
    expected: str | None
    actual: str | None
    error: str | None
    duration_ms: float


class SolutionCheckPublic(BaseModel):
    """The exercise's tests run against its solution (and starter) in the sandbox."""

    ok: bool
    message: str
    verdict: str
    passed: int
    total: int
    cases: list[TestCasePublic]
    run_message: str
    stdout: str
    stderr: str
    sandbox: str
    duration_ms: float
    starter_passes: bool | None = Field(description="true: the starter already passes (warning)")
    warnings: list[str]


class CheckPublic(BaseModel):
    check: SolutionCheckPublic


class CheckFailedPublic(ErrorPublic):
    """A 422 of the exercise routes: with ``check`` when the solution fails its tests
    (``solution_fails_tests``: nothing was saved), without for other invalid input."""

    check: SolutionCheckPublic | None = None


class PathReasonPublic(BaseModel):
    path: str
    reason: str


class IngestReportPublic(BaseModel):
    """What re-indexing the course did (``knowledge/ingest.py``)."""

    course: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    removed: list[str]
    failed: list[PathReasonPublic]
    skipped: list[PathReasonPublic]
    repaired: list[str]
    seconds: float


class SavedExercisePublic(StoredExercisePublic):
    created: bool
    check: SolutionCheckPublic
    ingest: IngestReportPublic


class QuizItemAuthoredPublic(BaseModel):
    """A ``quiz.jsonl`` line (``lesson_id`` only when it has one) with its version."""

    id: str
    lesson_id: str | None = None
    skills: list[str]
    question: str
    options: list[str]
    answer_index: int
    lang: str
    explanation: str
    version: str = Field(description="send it back as base_version (or ?version=)")
    authored: bool


class QuizListPublic(BaseModel):
    course: str
    items: list[QuizItemAuthoredPublic]


class QuizImportPublic(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]


class QuizDeletedPublic(BaseModel):
    deleted: str
    course_item_restored: bool = Field(description="the course folder's item shows again")

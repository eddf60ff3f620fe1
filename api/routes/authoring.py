"""Exercise and quiz authoring over HTTP (instructors: their own course; admins: any; the
access policy's ``exercises`` rules, ``tutor/accounts/access.py``).

Exercises (``ExerciseBody``: id, title, statement, solution, level, skills, prerequisites,
module, lang, title_ko, statement_ko, starter, tests_json, tests_py):

- ``GET  /api/authoring/{course}/exercises`` → ``{"exercises": [summary]}``
- ``GET  /api/authoring/{course}/exercises/{id}`` → ``{"exercise", "version", "authored"}``
- ``POST /api/authoring/{course}/exercises/check`` → ``{"check"}``: the tests against the
  solution in the sandbox, nothing saved
- ``POST /api/authoring/{course}/exercises`` → 201 ``{"exercise", "version", "check",
  "ingest"}``; ``PUT .../exercises/{id}`` with ``base_version`` edits. A solution that fails
  its tests: 422 ``{"error": {"code": "solution_fails_tests", ...}, "check"}``; an id that
  exists or an exercise changed since ``base_version``: 409.

Quiz items (``{"id"?, "question", "options", "answer_index", "skills", "lesson_id"?,
"lang", "explanation"}``):

- ``GET /api/authoring/{course}/quiz`` → ``{"items": [item + version + authored]}``
- ``POST .../quiz`` (201), ``PUT .../quiz/{id}`` (``base_version``), ``DELETE
  .../quiz/{id}?version=``
- ``POST .../quiz/import``: the body is ``quiz.jsonl`` itself; all lines are checked first
  (errors name their line numbers), then items are added or replaced by id, all or nothing
- ``GET .../quiz/export``: the course's ``quiz.jsonl`` (download)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.auth import CsrfAuthDep, require_access
from api.deps import CourseAuthoringDep
from api.errors import error_body
from api.schemas.authoring import (
    CheckFailedPublic,
    CheckPublic,
    ExerciseBody,
    ExerciseEdit,
    ExerciseListPublic,
    QuizBody,
    QuizDeletedPublic,
    QuizEdit,
    QuizImportPublic,
    QuizItemAuthoredPublic,
    QuizListPublic,
    SavedExercisePublic,
    StoredExercisePublic,
)
from api.schemas.common import ERROR_RESPONSES
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.exercise_authoring import SavedExercise
from tutor.curation.exercise_drafts import StoredExercise
from tutor.curation.quiz_authoring import MAX_QUIZ_BYTES
from tutor.curation.solution_check import SolutionCheckFailed
from tutor.errors import InvalidInputError

router = APIRouter(prefix="/api/authoring", tags=["authoring"], responses=ERROR_RESPONSES)
StaffDep = Annotated[User, Depends(require_access("read", "exercises"))]
AuthorDep = Annotated[User, Depends(require_access("change", "exercises"))]

# A solution that fails its tests: nothing saved; the error body carries the check.
_CHECK_FAILED: dict = {
    422: {"model": CheckFailedPublic, "description": 'invalid input, or "solution_fails_tests"'}
}


def authoring_course(user: User, course: str, *, action: str = "read") -> str:
    """Instructors author their own course only; admins any course (an unknown one: 404)."""
    return Access(user).course_for(course, resource="exercises", action=action)


def _exercise_json(stored: StoredExercise) -> dict[str, Any]:
    return {
        "exercise": stored.draft.to_dict(),
        "version": stored.version,
        "authored": stored.authored,
    }


def _saved_json(saved: SavedExercise) -> dict[str, Any]:
    return {
        **_exercise_json(saved.exercise),
        "created": saved.created,
        "check": saved.check.to_dict(),
        "ingest": saved.ingest.as_dict(),
    }


def _check_failed(exc: SolutionCheckFailed) -> JSONResponse:
    body = error_body(exc.code, str(exc))
    body["check"] = exc.check.to_dict()
    return JSONResponse(body, status_code=422)


# --- exercises ---------------------------------------------------------------------------------
@router.get(
    "/{course}/exercises",
    response_model=ExerciseListPublic,
    summary="The course's exercises (course folder and authored)",
)
def list_exercises(course: str, user: StaffDep, authoring: CourseAuthoringDep) -> dict[str, Any]:
    course = authoring_course(user, course)
    return {"course": course, "exercises": [e.to_dict() for e in authoring.list_exercises(course)]}


@router.post(
    "/{course}/exercises/check",
    response_model=CheckPublic,
    summary="Run the tests against the solution",
)
def check_exercise(
    course: str,
    body: ExerciseBody,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
) -> dict[str, Any]:
    course = authoring_course(user, course, action="change")
    return {"check": authoring.check_exercise(course, body.draft()).to_dict()}


@router.get(
    "/{course}/exercises/{exercise_id}",
    response_model=StoredExercisePublic,
    summary="One exercise, to edit",
)
def get_exercise(
    course: str,
    exercise_id: str,
    user: StaffDep,
    authoring: CourseAuthoringDep,
) -> dict[str, Any]:
    course = authoring_course(user, course)
    return _exercise_json(authoring.get_exercise(course, exercise_id))


@router.post(
    "/{course}/exercises",
    response_model=SavedExercisePublic,
    status_code=201,
    responses=_CHECK_FAILED,
    summary="Create an exercise",
)
def create_exercise(
    course: str,
    body: ExerciseBody,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
):
    course = authoring_course(user, course, action="change")
    try:
        saved = authoring.save_exercise(course, body.draft(), base_version=None)
    except SolutionCheckFailed as exc:
        return _check_failed(exc)
    return _saved_json(saved)


@router.put(
    "/{course}/exercises/{exercise_id}",
    response_model=SavedExercisePublic,
    responses=_CHECK_FAILED,
    summary="Edit an exercise",
)
def edit_exercise(
    course: str,
    exercise_id: str,
    body: ExerciseEdit,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
):
    course = authoring_course(user, course, action="change")
    if body.id != exercise_id:
        raise InvalidInputError(
            f"the body's id {body.id[:70]!r} is not the exercise edited ({exercise_id[:70]!r}); "
            "to rename an exercise, create it under the new id"
        )
    try:
        saved = authoring.save_exercise(course, body.draft(), base_version=body.base_version)
    except SolutionCheckFailed as exc:
        return _check_failed(exc)
    return _saved_json(saved)


# --- quiz --------------------------------------------------------------------------------------
@router.get(
    "/{course}/quiz",
    response_model=QuizListPublic,
    response_model_exclude_unset=True,  # lesson_id only when an item has one
    summary="The course's quiz items",
)
def list_quiz(course: str, user: StaffDep, authoring: CourseAuthoringDep) -> dict[str, Any]:
    course = authoring_course(user, course)
    return {"course": course, "items": [e.to_dict() for e in authoring.list_quiz(course)]}


@router.get(
    "/{course}/quiz/export",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
    summary="The course's quiz.jsonl",
)
def export_quiz(course: str, user: StaffDep, authoring: CourseAuthoringDep) -> Response:
    course = authoring_course(user, course)
    return Response(
        authoring.export_quiz(course),
        media_type="application/x-ndjson; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{course}-quiz.jsonl"'},
    )


@router.post(
    "/{course}/quiz/import",
    response_model=QuizImportPublic,
    summary="Import quiz.jsonl (the request body)",
)
async def import_quiz(
    course: str,
    request: Request,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
) -> dict[str, Any]:
    course = authoring_course(user, course, action="change")
    data = bytearray()
    async for block in request.stream():
        data.extend(block)
        if len(data) > MAX_QUIZ_BYTES:
            raise InvalidInputError(
                f"quiz.jsonl is too big (the limit is {MAX_QUIZ_BYTES // 1048576} MB)"
            )
    return authoring.import_quiz(course, bytes(data)).to_dict()


@router.post(
    "/{course}/quiz",
    response_model=QuizItemAuthoredPublic,
    response_model_exclude_unset=True,
    status_code=201,
    summary="Create a quiz item",
)
def create_quiz_item(
    course: str,
    body: QuizBody,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
) -> dict[str, Any]:
    course = authoring_course(user, course, action="change")
    return authoring.save_quiz_item(course, body.raw(), base_version=None).to_dict()


@router.put(
    "/{course}/quiz/{item_id}",
    response_model=QuizItemAuthoredPublic,
    response_model_exclude_unset=True,
    summary="Edit a quiz item",
)
def edit_quiz_item(
    course: str,
    item_id: str,
    body: QuizEdit,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
) -> dict[str, Any]:
    course = authoring_course(user, course, action="change")
    raw = body.raw()
    if raw.get("id", item_id) != item_id:
        raise InvalidInputError("the body's id is not the quiz item edited")
    raw["id"] = item_id
    return authoring.save_quiz_item(course, raw, base_version=body.base_version).to_dict()


@router.delete(
    "/{course}/quiz/{item_id}",
    response_model=QuizDeletedPublic,
    summary="Delete an authored quiz item",
)
def delete_quiz_item(
    course: str,
    item_id: str,
    auth: CsrfAuthDep,
    user: AuthorDep,
    authoring: CourseAuthoringDep,
    version: Annotated[str, Query(max_length=64)],
) -> dict[str, Any]:
    course = authoring_course(user, course, action="change")
    restored = authoring.delete_quiz_item(course, item_id, base_version=version)
    return {"deleted": item_id, "course_item_restored": restored}

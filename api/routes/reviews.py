"""Code review over HTTP.

- ``POST /api/reviews`` (JSON: files as text) and ``POST /api/reviews/upload`` (multipart
  file uploads): the static review is done before the response; tests run as a job, so
  the answer is ``202`` with ``status: running`` while they do (``201`` when the review is
  already complete: no tests, or ``wait: true``). Poll ``GET /api/reviews/{id}``.
- ``GET /api/reviews``: the caller's history (newest first), optionally for one exercise;
  staff may pass ``user_id`` for a trainee of their course.
- ``GET /api/reviews/{id}``: the full review, with the diff against the previous attempt.
- ``GET /api/reviews/exercises`` and ``/exercises/{id}``: the course's exercises (the page's
  picker) with their starter code.

Who reads which review is the access policy's (``tutor/accounts/access.py``): everyone their own,
instructors those of their course, admins all; any other id is a 404, like an unknown one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from api.auth import CsrfAuthDep, CurrentUserDep
from api.deps import LearnerServiceDep, ReviewServiceDep, SettingsDep
from api.i18n import LANGS, pick_lang
from api.learner_views import learner_context
from api.params import RowId
from api.schemas.common import ERROR_RESPONSES
from api.schemas.reviews import (
    CodeReviewCreate,
    CodeReviewPublic,
    CodeReviewSummaryPublic,
    ExercisePublic,
)
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.errors import InvalidInputError
from tutor.review.review_store import ReviewRecord
from tutor.review.service import Reviewer, ReviewService

router = APIRouter(prefix="/api/reviews", tags=["reviews"], responses=ERROR_RESPONSES)


def _reviewer(user: User, *, learner, settings) -> Reviewer:
    context, _source = learner_context(
        learner, user, course=user.course, default_level=settings.default_level
    )
    return Reviewer(
        user_id=user.id,
        course=user.course,
        level=context.level,
        unmastered=tuple(context.unmastered),
    )


def _public(service: ReviewService, record: ReviewRecord, *, viewer: User) -> CodeReviewPublic:
    """The review as ``viewer`` may see it: trainees never see hidden test cases' details."""
    previous = service.previous(record)
    return CodeReviewPublic.from_review(
        record,
        previous_id=previous.id if previous else None,
        diff=service.diff(record) if previous else None,
        show_hidden=viewer.role != "trainee",
    )


def _created(
    service: ReviewService, record: ReviewRecord, *, response: Response, viewer: User
) -> CodeReviewPublic:
    """201 with the review, or 202 while its tests still run (poll ``Location``)."""
    response.status_code = 202 if record.status == "running" else 201
    response.headers["Location"] = f"/api/reviews/{record.id}"
    return _public(service, record, viewer=viewer)


@router.post(
    "",
    response_model=CodeReviewPublic,
    status_code=201,
    responses={202: {"description": "the tests still run: poll Location"}},
    summary="Submit code for review (files as text)",
)
def create_review(
    body: CodeReviewCreate,
    auth: CsrfAuthDep,
    service: ReviewServiceDep,
    learner: LearnerServiceDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> CodeReviewPublic:
    user = auth.user
    lang = body.lang or pick_lang(request)
    record = service.submit(
        _reviewer(user, learner=learner, settings=settings),
        [(f.name, f.content) for f in body.files],
        exercise_id=body.exercise_id or None,
        lang=lang,
        wait=body.wait,
    )
    return _created(service, record, response=response, viewer=auth.user)


@router.post(
    "/upload",
    response_model=CodeReviewPublic,
    status_code=201,
    responses={202: {"description": "the tests still run: poll Location"}},
    summary="Submit code for review (file uploads)",
)
def upload_review(
    request: Request,
    response: Response,
    auth: CsrfAuthDep,
    service: ReviewServiceDep,
    learner: LearnerServiceDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="one or more .py files")],
    exercise_id: Annotated[str | None, Form(max_length=128)] = None,
    lang: Annotated[str | None, Form(max_length=8)] = None,
    wait: Annotated[bool, Form()] = False,
) -> CodeReviewPublic:
    limit = service.max_bytes
    parts: list[tuple[object, bytes]] = []
    total = 0
    for upload in files:
        data = upload.file.read(limit + 1 - total)
        total += len(data)
        if total > limit:
            raise InvalidInputError(
                f"the submission is larger than {limit // 1024} KB of code; the limit is "
                f"{limit // 1024} KB"
            )
        parts.append((upload.filename, data))
    record = service.submit(
        _reviewer(auth.user, learner=learner, settings=settings),
        parts,
        exercise_id=exercise_id or None,
        lang=lang if lang in LANGS else pick_lang(request),
        wait=wait,
    )
    return _created(service, record, response=response, viewer=auth.user)


@router.get("", summary="Review history, newest first")
def list_reviews(
    user: CurrentUserDep,
    service: ReviewServiceDep,
    exercise_id: Annotated[str | None, Query(max_length=128)] = None,
    user_id: Annotated[RowId | None, Query(description="staff: a trainee of your course")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CodeReviewSummaryPublic]:
    """Attempts the caller may read; another user's that they may not: an empty list."""
    records = service.history(Access(user), user_id=user_id, exercise_id=exercise_id, limit=limit)
    return [CodeReviewSummaryPublic.from_record(r) for r in records]


@router.get("/exercises", summary="The exercises of your course")
def list_exercises(user: CurrentUserDep, service: ReviewServiceDep) -> list[ExercisePublic]:
    if not user.course:
        return []
    return [
        ExercisePublic(
            id=e.id, course=e.course, title=e.title, level=e.level, skills=list(e.skills)
        )
        for e in service.list_exercises(user.course)
    ]


@router.get("/exercises/{exercise_id}", summary="One exercise, with its starter code")
def get_exercise(
    exercise_id: str,
    user: CurrentUserDep,
    service: ReviewServiceDep,
    request: Request,
) -> ExercisePublic:
    if not user.course:
        raise InvalidInputError("exercises belong to a course; this account has none")
    exercise = service.exercises.get(user.course, exercise_id)
    return ExercisePublic(
        id=exercise.id,
        course=exercise.course,
        title=exercise.title_for(pick_lang(request)),
        level=exercise.level,
        skills=list(exercise.skills),
        starter=service.exercises.starter(exercise),
    )


@router.get("/{review_id}", summary="One review (poll while status is running)")
def get_review(review_id: str, user: CurrentUserDep, service: ReviewServiceDep) -> CodeReviewPublic:
    record = service.get(Access(user), review_id)
    return _public(service, record, viewer=user)

"""The learner model over HTTP: dashboard, placement quiz, practice, answers and reviews.

Who sees what:

- Everyone reads and writes their own learner state in their own course (``/me``, the
  placement and answer routes). Writes need the CSRF token when the session cookie
  authenticates them; bearer tokens need none.
- Instructors read the trainees of their course, admins every trainee, through
  ``/api/learner/{user_id}`` (and its ``/reviews`` and ``/practice``): the access policy's
  ``read learner`` rule (``tutor/accounts/access.py``). Any other id is a 404 (as for a user that
  does not exist), so ids cannot be probed.
- A user without a course gets a 422 ``no_course`` error from the quiz routes; ``/me``
  still answers (the chat page's level badge reads it), with the default level and a
  message.

Quiz items never carry their answer key or explanation here until they are answered.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request

from api.auth import CsrfAuthDep, CurrentUserDep
from api.deps import AccountServiceDep, LearnerServiceDep, SettingsDep
from api.i18n import pick_lang
from api.learner_views import dashboard
from api.params import RowId
from api.schemas.common import ERROR_RESPONSES
from api.schemas.learner import (
    AnswerCreate,
    AnswerFeedbackPublic,
    AnswerPublic,
    LearnerPublic,
    PlacementAnswerCreate,
    PlacementPublic,
    PlacementStart,
    PracticeItemPublic,
    ReviewsPublic,
)
from tutor.accounts.access import Access, no_course
from tutor.accounts.users import User
from tutor.errors import NotFoundError
from tutor.learning.service import LearnerService

log = logging.getLogger("kdt.api.learner")
router = APIRouter(prefix="/api/learner", tags=["learner"], responses=ERROR_RESPONSES)

LangQuery = Annotated[
    Literal["en", "ko"] | None,
    Query(description="language of skill names and reasons (default: the UI language)"),
]


def names_lang(request: Request, lang: LangQuery = None) -> str:
    """The language of skill names and reasons: ``?lang=``, else the UI language."""
    return lang or pick_lang(request)


NamesLangDep = Annotated[str, Depends(names_lang)]


def _course(user: User) -> str:
    """The user's own course, where their learner state lives (422 ``no_course`` without)."""
    if not user.course:
        raise no_course(user)
    return user.course


def visible_trainee(user_id: RowId, viewer: CurrentUserDep, accounts: AccountServiceDep) -> User:
    """The user ``user_id`` if ``viewer`` may read their learner state (themselves, or a
    trainee the access policy lets them read), else NotFoundError."""
    if user_id == viewer.id:
        return viewer
    try:
        trainee = accounts.user_by_id(user_id)
    except NotFoundError:
        trainee = None
    if (
        trainee is None
        or trainee.role != "trainee"
        or not Access(viewer).may("read", "learner", trainee.course)
    ):
        raise NotFoundError(f"no trainee with id {user_id} in your course")
    return trainee


VisibleTraineeDep = Annotated[User, Depends(visible_trainee)]


@router.get("/me", response_model=LearnerPublic, summary="The caller's dashboard")
def learner_me(
    user: CurrentUserDep,
    service: LearnerServiceDep,
    settings: SettingsDep,
    lang: NamesLangDep,
    practice: Annotated[int, Query(ge=0, le=20)] = 5,
) -> LearnerPublic:
    return dashboard(
        service, user, lang=lang, default_level=settings.default_level, practice=practice
    )


# --- placement ---------------------------------------------------------------------------------
def _item_index(service: LearnerService, course: str) -> dict[str, Any]:
    return {item.id: item for item in service.items(course)}


def _item(service: LearnerService, course: str, item_id: str) -> Any:
    """The course's quiz item, or 404."""
    item = _item_index(service, course).get(item_id)
    if item is None:
        raise NotFoundError(f"no quiz item {item_id!r} in course {course!r}")
    return item


def _feedback(item: Any, *, correct: bool, chosen_index: int | None) -> AnswerFeedbackPublic:
    options = list(getattr(item, "options", ()) or ())
    right = getattr(item, "answer_index", None)
    return AnswerFeedbackPublic(
        item_id=item.id,
        correct=correct,
        chosen_index=chosen_index,
        answer_index=right,
        right_option=options[right] if right is not None and right < len(options) else None,
        explanation=getattr(item, "explanation", "") or "",
    )


@router.post(
    "/placement",
    response_model=PlacementPublic,
    summary="Start (or resume) the placement quiz; the current item comes without its answer",
)
def start_placement(
    request: Request,
    auth: CsrfAuthDep,
    service: LearnerServiceDep,
    body: Annotated[PlacementStart | None, Body()] = None,
) -> PlacementPublic:
    body = body or PlacementStart()
    course = _course(auth.user)
    lang = names_lang(request, body.lang)
    view = service.start_placement(auth.user.id, course, lang=lang, restart=body.restart)
    return PlacementPublic.from_view(view, skill_map=service.skill_maps(course), lang=lang)


@router.post(
    "/placement/answer",
    response_model=PlacementPublic,
    summary="Answer the current placement item; returns its feedback and the next item",
)
def answer_placement(
    body: PlacementAnswerCreate,
    auth: CsrfAuthDep,
    service: LearnerServiceDep,
    lang: NamesLangDep,
) -> PlacementPublic:
    course = _course(auth.user)
    item = _item(service, course, body.item_id)
    view = service.answer_placement(
        auth.user.id,
        course,
        session_id=body.session_id,
        item_id=body.item_id,
        chosen_index=body.chosen_index,
    )
    correct = view.last_correct if view.last_correct is not None else False
    return PlacementPublic.from_view(
        view,
        skill_map=service.skill_maps(course),
        lang=lang,
        feedback=_feedback(item, correct=correct, chosen_index=body.chosen_index),
    )


# --- practice, answers, reviews ---------------------------------------------------------------
def _practice(
    service: LearnerService, user: User, *, lang: str, n: int
) -> list[PracticeItemPublic]:
    course = _course(user)
    skill_map = service.skill_maps(course)
    return [
        PracticeItemPublic.from_practice(p, skill_map=skill_map, lang=lang)
        for p in service.next_items(user.id, course, n=n, lang=lang)
    ]


def _reviews(service: LearnerService, user: User, *, lang: str, limit: int) -> ReviewsPublic:
    course = _course(user)
    return ReviewsPublic.from_reviews(
        service.due_reviews(user.id, course, limit=limit),
        skill_map=service.skill_maps(course),
        lang=lang,
    )


CountQuery = Annotated[int, Query(ge=1, le=50)]


@router.get("/practice", response_model=list[PracticeItemPublic], summary="Next practice items")
def practice(
    user: CurrentUserDep, service: LearnerServiceDep, lang: NamesLangDep, n: CountQuery = 5
) -> list[PracticeItemPublic]:
    return _practice(service, user, lang=lang, n=n)


@router.post(
    "/answers",
    response_model=AnswerPublic,
    summary="Answer a quiz item: right or wrong, the right option, the explanation, mastery",
)
def answer(
    body: AnswerCreate,
    auth: CsrfAuthDep,
    service: LearnerServiceDep,
    lang: NamesLangDep,
) -> AnswerPublic:
    course = _course(auth.user)
    item = _item(service, course, body.item_id)
    result = service.record_answer(
        auth.user.id,
        course,
        item_id=body.item_id,
        chosen_index=body.chosen_index,
        source=body.source,
        submission_id=body.submission_id,
    )
    return AnswerPublic.from_result(
        result,
        item=item,
        chosen_index=body.chosen_index,
        skill_map=service.skill_maps(course),
        lang=lang,
    )


@router.get("/reviews", response_model=ReviewsPublic, summary="Reviews due now (FSRS)")
def reviews(
    user: CurrentUserDep, service: LearnerServiceDep, lang: NamesLangDep, limit: CountQuery = 20
) -> ReviewsPublic:
    return _reviews(service, user, lang=lang, limit=limit)


# --- instructors and admins: a trainee's state (read only) ------------------------------------
# ``{user_id:int}``: only digits reach these routes, so ``GET /api/learner/placement`` is a 405
# (placement is POST only), not a request for the learner whose id is "placement".
@router.get(
    "/{user_id:int}",
    response_model=LearnerPublic,
    summary="A trainee's dashboard (instructors: their course; admins: any trainee)",
)
def learner_of(
    trainee: VisibleTraineeDep,
    service: LearnerServiceDep,
    settings: SettingsDep,
    lang: NamesLangDep,
) -> LearnerPublic:
    return dashboard(service, trainee, lang=lang, default_level=settings.default_level)


@router.get("/{user_id:int}/practice", response_model=list[PracticeItemPublic])
def practice_of(
    trainee: VisibleTraineeDep, service: LearnerServiceDep, lang: NamesLangDep, n: CountQuery = 5
) -> list[PracticeItemPublic]:
    return _practice(service, trainee, lang=lang, n=n)


@router.get("/{user_id:int}/reviews", response_model=ReviewsPublic)
def reviews_of(
    trainee: VisibleTraineeDep,
    service: LearnerServiceDep,
    lang: NamesLangDep,
    limit: CountQuery = 20,
) -> ReviewsPublic:
    return _reviews(service, trainee, lang=lang, limit=limit)

"""Cohort analytics over HTTP, for instructors and admins (``tutor/learning/analytics/``).

Who sees what is the access policy's (``tutor/accounts/access.py``): instructors see the trainees
of their own course (asking for another course with ``?course=`` is a 403; an instructor
without a course gets 422 ``no_course``); admins pass ``?course=`` (required, except for a
trainee's drill-down, which uses the trainee's course). Trainees get 403. A trainee outside
the caller's course is a 404, as for an id that does not exist.

Every table also comes as CSV (``?format=csv``: UTF-8 with a byte order mark so Excel
reads Korean, a header row, formulas defused) and the charts as SVG drawn on the server
(``*.svg``; no script, no CDN). Names follow ``?lang=`` (else the UI language).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.analytics_views import (
    achievements_chart_svg,
    heatmap_chart_svg,
    levels_chart_svg,
    topics_chart_svg,
    trainee_course,
)
from api.auth import require_access
from api.deps import AnalyticsServiceDep
from api.i18n import pick_lang
from api.params import RowId
from api.schemas.analytics import (
    ExerciseStatsPublic,
    HeatmapPublic,
    LevelsPublic,
    ReviewStatsPublic,
    StuckPublic,
    TopicsPublic,
    TraineeAnalyticsPublic,
    TraineeConversationPublic,
)
from api.schemas.common import ERROR_RESPONSES
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.learning.analytics.tables import (
    csv_text,
    heatmap_table,
    levels_table,
    reviews_table,
    skills_table,
    stuck_table,
    topics_table,
)
from tutor.learning.analytics.types import Table

router = APIRouter(prefix="/api/analytics", tags=["analytics"], responses=ERROR_RESPONSES)

StaffDep = Annotated[User, Depends(require_access("read", "analytics"))]
CourseQuery = Annotated[
    str | None,
    Query(max_length=128, description="admins: the course (instructors: their own, implied)"),
]
LangQuery = Annotated[Literal["en", "ko"] | None, Query(description="language of names")]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="csv: a spreadsheet file")]
WeeksQuery = Annotated[int, Query(ge=1, le=104)]

# What the OpenAPI schema says besides JSON: ?format=csv, and the charts.
_CSV: dict = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
_SVG: dict = {
    200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}, "description": "SVG"}
}

_PRIVATE = {"Cache-Control": "private, no-store"}
_SVG_HEADERS = {
    **_PRIVATE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def allowed_course(user: StaffDep, course: CourseQuery = None) -> str:
    """The course the caller may analyse (``tutor/accounts/access.py``): an instructor's own, or the
    one an admin names."""
    return Access(user).course_for(course, resource="analytics")


def names_lang(request: Request, lang: LangQuery = None) -> str:
    """The language of names: ``?lang=``, else the UI language."""
    return lang or pick_lang(request)


AllowedCourseDep = Annotated[str, Depends(allowed_course)]
NamesLangDep = Annotated[str, Depends(names_lang)]


def _csv(table: Table, *, name: str, course: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", course)
    return Response(
        content=csv_text(table).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{safe}-{name}.csv"'},
    )


def _svg(text: str) -> Response:
    return Response(content=text, media_type="image/svg+xml", headers=_SVG_HEADERS)


# --- heatmap -------------------------------------------------------------------------------------
@router.get(
    "/heatmap",
    response_model=HeatmapPublic,
    responses=_CSV,
    summary="Mastery of every trainee on every skill (?format=csv for a spreadsheet)",
)
def heatmap(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
    format: FormatQuery = "json",
):
    data = service.heatmap(course)
    if format == "csv":
        return _csv(heatmap_table(data, lang=lang), name="mastery", course=course)
    return HeatmapPublic.from_heatmap(data, lang=lang)


@router.get(
    "/heatmap.svg",
    response_class=Response,
    responses=_SVG,
    summary="The mastery heatmap as an SVG image",
)
def heatmap_chart(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
) -> Response:
    return _svg(heatmap_chart_svg(service.heatmap(course), lang=lang))


# --- levels --------------------------------------------------------------------------------------
@router.get(
    "/levels",
    response_model=LevelsPublic,
    responses=_CSV,
    summary="Trainees per level now, and levels reached per week (?format=csv: per trainee)",
)
def levels(
    course: AllowedCourseDep,
    service: AnalyticsServiceDep,
    weeks: WeeksQuery = 12,
    format: FormatQuery = "json",
):
    report = service.levels(course, weeks=weeks)
    if format == "csv":
        return _csv(levels_table(report), name="levels", course=course)
    return LevelsPublic.from_report(report)


@router.get(
    "/levels.svg",
    response_class=Response,
    responses=_SVG,
    summary="Trainees per level now, as SVG bars",
)
def levels_chart(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
) -> Response:
    report = service.levels(course, weeks=1)
    return _svg(levels_chart_svg(report, lang=lang))


@router.get(
    "/achievements.svg",
    response_class=Response,
    responses=_SVG,
    summary="Trainees who had reached each level, week by week",
)
def achievements_chart(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
    weeks: WeeksQuery = 12,
) -> Response:
    report = service.levels(course, weeks=weeks)
    return _svg(achievements_chart_svg(report, lang=lang))


# --- topics --------------------------------------------------------------------------------------
@router.get(
    "/topics",
    response_model=TopicsPublic,
    responses=_CSV,
    summary="Lessons and sections most cited in answers to trainees, and content gaps",
)
def topics(
    course: AllowedCourseDep,
    service: AnalyticsServiceDep,
    weeks: WeeksQuery = 4,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    format: FormatQuery = "json",
):
    report = service.topics(course, weeks=weeks, limit=limit)
    if format == "csv":
        return _csv(topics_table(report), name="topics", course=course)
    return TopicsPublic.from_report(report)


@router.get(
    "/topics.svg",
    response_class=Response,
    responses=_SVG,
    summary="The most cited lessons as SVG bars",
)
def topics_chart(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
    weeks: WeeksQuery = 4,
    limit: Annotated[int, Query(ge=1, le=40)] = 10,
) -> Response:
    report = service.topics(course, weeks=weeks, limit=limit)
    return _svg(topics_chart_svg(report, lang=lang))


# --- reviews -------------------------------------------------------------------------------------
@router.get(
    "/reviews",
    response_model=ReviewStatsPublic,
    responses=_CSV,
    summary="Per exercise: attempts, pass rate, most common findings and failing tests",
)
def reviews(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
    top: Annotated[int, Query(ge=1, le=50)] = 5,
    format: FormatQuery = "json",
):
    stats = service.reviews(course, top=top)
    if format == "csv":
        return _csv(reviews_table(stats, lang=lang), name="reviews", course=course)
    return ReviewStatsPublic(
        course=course, exercises=[ExerciseStatsPublic.from_stats(s, lang=lang) for s in stats]
    )


# --- stuck ---------------------------------------------------------------------------------------
@router.get(
    "/stuck",
    response_model=StuckPublic,
    responses=_CSV,
    summary="Trainees without progress over the last N days, or with repeated failures",
)
def stuck(
    course: AllowedCourseDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    min_gain: Annotated[float, Query(ge=0, le=1)] = 0.05,
    failed_reviews: Annotated[int, Query(ge=2, le=50)] = 3,
    wrong_answers: Annotated[int, Query(ge=2, le=50)] = 4,
    format: FormatQuery = "json",
):
    found = service.stuck(
        course,
        days=days,
        min_gain=min_gain,
        failed_reviews=failed_reviews,
        wrong_answers=wrong_answers,
    )
    if format == "csv":
        return _csv(stuck_table(found, lang=lang), name="stuck", course=course)
    return StuckPublic.from_stuck(found, course=course, days=days, lang=lang)


# --- one trainee ---------------------------------------------------------------------------------
@router.get(
    "/trainees/{user_id}",
    response_model=TraineeAnalyticsPublic,
    responses=_CSV,
    summary="One trainee: mastery, recent conversations and reviews, stuck reasons "
    "(?format=csv: their mastery per skill)",
)
def trainee(
    user_id: RowId,
    user: StaffDep,
    lang: NamesLangDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    format: FormatQuery = "json",
):
    course = trainee_course(service, user, user_id=user_id, course=course)
    detail = service.trainee(course, user_id)
    if format == "csv":
        return _csv(skills_table(detail, lang=lang), name=f"trainee-{user_id}", course=course)
    return TraineeAnalyticsPublic.from_detail(
        detail, skill_map=service.learner.skill_maps(course), lang=lang
    )


@router.get(
    "/trainees/{user_id}/conversations/{conversation_id}",
    response_model=TraineeConversationPublic,
    summary="One of the trainee's conversations, with its messages",
)
def trainee_conversation(
    user_id: RowId,
    conversation_id: str,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
) -> TraineeConversationPublic:
    course = trainee_course(service, user, user_id=user_id, course=course, resource="conversations")
    conv, found = service.conversation(course, user_id, conversation_id)
    return TraineeConversationPublic.from_conversation(conv, found)

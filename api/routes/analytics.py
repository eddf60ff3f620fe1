"""Cohort analytics over HTTP, for instructors and admins (``tutor/learning/analytics/``).

Who sees what is the access policy's (``tutor/access.py``): instructors see the trainees
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from api.auth import require_access
from api.charts import bar_chart_svg, heatmap_svg, line_chart_svg
from api.deps import AnalyticsServiceDep
from api.i18n import pick_lang, translator
from api.schemas import (
    ExerciseStatsPublic,
    HeatmapPublic,
    LevelsPublic,
    ReviewStatsPublic,
    StuckPublic,
    TopicsPublic,
    TraineeAnalyticsPublic,
    TraineeConversationPublic,
)
from tutor.access import ANY, Access
from tutor.accounts import User
from tutor.conversations import Message
from tutor.errors import NotFoundError
from tutor.learning.analytics.service import AnalyticsService
from tutor.learning.analytics.tables import (
    csv_text,
    heatmap_table,
    levels_table,
    reviews_table,
    skills_table,
    stuck_table,
    topics_table,
)
from tutor.learning.analytics.types import (
    STUCK_DEFAULTS,
    ExerciseStats,
    Heatmap,
    LevelReport,
    StuckTrainee,
    Table,
    TopicReport,
    TraineeDetail,
)

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

StaffDep = Annotated[User, Depends(require_access("read", "analytics"))]
CourseQuery = Annotated[
    str | None,
    Query(max_length=128, description="admins: the course (instructors: their own, implied)"),
]
LangQuery = Annotated[Literal["en", "ko"] | None, Query(description="language of names")]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="csv: a spreadsheet file")]
WeeksQuery = Annotated[int, Query(ge=1, le=104)]

_PRIVATE = {"Cache-Control": "private, no-store"}
_SVG_HEADERS = {
    **_PRIVATE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def _course(user: User, requested: str | None) -> str:
    """The course the caller may analyse (``tutor/access.py``): an instructor's own, or the
    one an admin names."""
    return Access(user).course_for(requested, resource="analytics")


def _lang(request: Request, lang: str | None) -> str:
    return lang or pick_lang(request)


def _csv(table: Table, *, name: str, course: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", course)
    return Response(
        content=csv_text(table).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{safe}-{name}.csv"'},
    )


def _svg(text: str) -> Response:
    return Response(content=text, media_type="image/svg+xml", headers=_SVG_HEADERS)


# --- the charts (also inlined by the console's cohort page) ---------------------------------------
def heatmap_chart_svg(
    data: Heatmap, *, lang: str, row_links: Sequence[str | None] | None = None
) -> str:
    """The mastery heatmap: a cell per trainee and skill, grey where there is no evidence."""
    t = translator(lang)
    columns = len(data.skills)
    # Big cells for a few skills, small ones (still readable on hover) for hundreds.
    cell = 28 if columns <= 20 else 20 if columns <= 50 else 14 if columns <= 100 else 12
    return heatmap_svg(
        rows=[f"{t.display_name} ({t.username})" for t in data.trainees],
        columns=[s.display(lang) for s in data.skills],
        values=[
            [m if n else None for m, n in zip(ms, ns, strict=True)]
            for ms, ns in zip(data.mastery, data.observations, strict=True)
        ],
        title=f"{t('chart_heatmap')}: {data.course}",
        threshold=data.threshold,
        column_groups=[t("chart_level").format(n=s.level) if s.level else "-" for s in data.skills],
        row_links=row_links,
        cell=cell,
        legend=(
            t("chart_legend_no_evidence"),
            t("chart_legend_mastery"),
            t("chart_legend_mastered"),
        ),
    )


def levels_chart_svg(report: LevelReport, *, lang: str) -> str:
    """Trainees per shown level now, as bars."""
    t = translator(lang)
    counts = sorted(report.distribution.items())
    return bar_chart_svg(
        labels=[t("chart_level").format(n=lv) for lv, _ in counts],
        values=[n for _, n in counts],
        title=f"{t('chart_levels')}: {report.course}",
        integer=True,
    )


def achievements_chart_svg(report: LevelReport, *, lang: str) -> str:
    """Per level, the trainees who had reached it by each week's end, as lines."""
    t = translator(lang)
    public = LevelsPublic.from_report(report)
    return line_chart_svg(
        x_labels=[w[5:] for w in public.weeks],  # MM-DD
        series=[(t("chart_level").format(n=s.level), s.cumulative) for s in public.series],
        title=f"{t('chart_achievements')}: {report.course}",
        integer=True,
    )


def topics_chart_svg(report: TopicReport, *, lang: str) -> str:
    """The most cited lessons, as horizontal bars."""
    t = translator(lang)
    return bar_chart_svg(
        labels=[x.title for x in report.lessons],
        values=[x.answers for x in report.lessons],
        title=f"{t('chart_topics')}: {report.course}",
        horizontal=True,
        integer=True,
    )


# --- heatmap -------------------------------------------------------------------------------------
@router.get(
    "/heatmap",
    response_model=HeatmapPublic,
    summary="Mastery of every trainee on every skill (?format=csv for a spreadsheet)",
)
def heatmap(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
    format: FormatQuery = "json",
):
    course = _course(user, course)
    lang = _lang(request, lang)
    data = service.heatmap(course)
    if format == "csv":
        return _csv(heatmap_table(data, lang=lang), name="mastery", course=course)
    return HeatmapPublic.from_heatmap(data, lang=lang)


@router.get("/heatmap.svg", summary="The mastery heatmap as an SVG image")
def heatmap_chart(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
) -> Response:
    course = _course(user, course)
    return _svg(heatmap_chart_svg(service.heatmap(course), lang=_lang(request, lang)))


# --- levels --------------------------------------------------------------------------------------
@router.get(
    "/levels",
    response_model=LevelsPublic,
    summary="Trainees per level now, and levels reached per week (?format=csv: per trainee)",
)
def levels(
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    weeks: WeeksQuery = 12,
    format: FormatQuery = "json",
):
    course = _course(user, course)
    report = service.levels(course, weeks=weeks)
    if format == "csv":
        return _csv(levels_table(report), name="levels", course=course)
    return LevelsPublic.from_report(report)


@router.get("/levels.svg", summary="Trainees per level now, as SVG bars")
def levels_chart(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
) -> Response:
    course = _course(user, course)
    report = service.levels(course, weeks=1)
    return _svg(levels_chart_svg(report, lang=_lang(request, lang)))


@router.get("/achievements.svg", summary="Trainees who had reached each level, week by week")
def achievements_chart(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
    weeks: WeeksQuery = 12,
) -> Response:
    course = _course(user, course)
    report = service.levels(course, weeks=weeks)
    return _svg(achievements_chart_svg(report, lang=_lang(request, lang)))


# --- topics --------------------------------------------------------------------------------------
@router.get(
    "/topics",
    response_model=TopicsPublic,
    summary="Lessons and sections most cited in answers to trainees, and content gaps",
)
def topics(
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    weeks: WeeksQuery = 4,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    format: FormatQuery = "json",
):
    course = _course(user, course)
    report = service.topics(course, weeks=weeks, limit=limit)
    if format == "csv":
        return _csv(topics_table(report), name="topics", course=course)
    return TopicsPublic.from_report(report)


@router.get("/topics.svg", summary="The most cited lessons as SVG bars")
def topics_chart(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
    weeks: WeeksQuery = 4,
    limit: Annotated[int, Query(ge=1, le=40)] = 10,
) -> Response:
    course = _course(user, course)
    report = service.topics(course, weeks=weeks, limit=limit)
    return _svg(topics_chart_svg(report, lang=_lang(request, lang)))


# --- reviews -------------------------------------------------------------------------------------
@router.get(
    "/reviews",
    response_model=ReviewStatsPublic,
    summary="Per exercise: attempts, pass rate, most common findings and failing tests",
)
def reviews(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
    top: Annotated[int, Query(ge=1, le=50)] = 5,
    format: FormatQuery = "json",
):
    course = _course(user, course)
    lang = _lang(request, lang)
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
    summary="Trainees without progress over the last N days, or with repeated failures",
)
def stuck(
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    min_gain: Annotated[float, Query(ge=0, le=1)] = 0.05,
    failed_reviews: Annotated[int, Query(ge=2, le=50)] = 3,
    wrong_answers: Annotated[int, Query(ge=2, le=50)] = 4,
    format: FormatQuery = "json",
):
    course = _course(user, course)
    lang = _lang(request, lang)
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
def trainee_course(
    service: AnalyticsService,
    user: User,
    *,
    user_id: int,
    course: str | None,
    resource: str = "analytics",
) -> str:
    """The course of a trainee drill-down: the one named, the caller's own, or, for a caller
    who may read every course's trainees (admins), the trainee's own. A caller without a
    course has no trainee to see: 404, as for an unknown id."""
    access = Access(user)
    if not course and access.scope("read", resource) == ANY:
        return service.find_trainee(user_id, course=None)[1]
    course = access.course_for(course, resource=resource, required=False)
    if course is None:
        raise NotFoundError(f"no trainee with id {user_id} in your course")
    return course


@router.get(
    "/trainees/{user_id}",
    response_model=TraineeAnalyticsPublic,
    summary="One trainee: mastery, recent conversations and reviews, stuck reasons "
    "(?format=csv: their mastery per skill)",
)
def trainee(
    user_id: int,
    request: Request,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
    lang: LangQuery = None,
    format: FormatQuery = "json",
):
    course = trainee_course(service, user, user_id=user_id, course=course)
    lang = _lang(request, lang)
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
    user_id: int,
    conversation_id: str,
    user: StaffDep,
    service: AnalyticsServiceDep,
    course: CourseQuery = None,
) -> TraineeConversationPublic:
    course = trainee_course(
        service, user, user_id=user_id, course=course, resource="conversations"
    )
    conv, found = service.conversation(course, user_id, conversation_id)
    return TraineeConversationPublic.from_conversation(conv, found)


# --- the console's cohort pages (api/console_pages.py renders them) ----------------------------
@dataclass(frozen=True)
class CohortPage:
    """What ``console_cohort.html`` shows: the figures, the charts as inline SVG (no script)
    and the CSV export link of each table."""

    heatmap: Heatmap
    heatmap_svg: Markup
    levels: LevelReport
    levels_svg: Markup
    achievements_svg: Markup
    topics: TopicReport
    topics_svg: Markup
    reviews: list[ExerciseStats]
    stuck: list[StuckTrainee]
    rules: dict[str, float]  # what "stuck" meant: days, gain, reviews, wrong (in a row)
    csv: dict[str, str]  # table -> URL of its CSV export


def trainee_page_url(user_id: int, course: str) -> str:
    return f"/console/cohort/trainee/{user_id}?{urlencode({'course': course})}"


def csv_url(path: str, *, course: str, lang: str, **params: object) -> str:
    query = urlencode({"course": course, "lang": lang, "format": "csv", **params})
    return f"/api/analytics{path}?{query}"


def cohort_page(
    service: AnalyticsService, course: str, *, lang: str, days: int = 7, weeks: int = 12
) -> CohortPage:
    """Every figure of the cohort page, drawn for ``lang``; NotFoundError when the course
    has no material (no skill map)."""
    rules = {**STUCK_DEFAULTS, "days": days}
    data = service.overview(course, weeks=weeks, **rules)
    links = [trainee_page_url(t.user_id, course) for t in data.heatmap.trainees]
    return CohortPage(
        heatmap=data.heatmap,
        heatmap_svg=Markup(heatmap_chart_svg(data.heatmap, lang=lang, row_links=links)),
        levels=data.levels,
        levels_svg=Markup(levels_chart_svg(data.levels, lang=lang)),
        achievements_svg=Markup(achievements_chart_svg(data.levels, lang=lang)),
        topics=data.topics,
        topics_svg=Markup(topics_chart_svg(data.topics, lang=lang)),
        reviews=list(data.reviews),
        stuck=list(data.stuck),
        rules={
            "days": days,
            "gain": rules["min_gain"],
            "reviews": rules["failed_reviews"],
            "wrong": rules["wrong_answers"],
        },
        csv={
            "heatmap": csv_url("/heatmap", course=course, lang=lang),
            "levels": csv_url("/levels", course=course, lang=lang, weeks=weeks),
            "topics": csv_url("/topics", course=course, lang=lang),
            "reviews": csv_url("/reviews", course=course, lang=lang),
            "stuck": csv_url("/stuck", course=course, lang=lang, **rules),
        },
    )


@dataclass(frozen=True)
class TraineePage:
    """What ``console_cohort_trainee.html`` shows: one trainee and their conversations with
    their messages (newest conversation first)."""

    detail: TraineeDetail
    messages: dict[str, list[Message]]  # conversation id -> messages
    csv: str


def trainee_page(
    service: AnalyticsService, course: str, user_id: int, *, lang: str, messages: int = 50
) -> TraineePage:
    """One trainee of ``course`` (NotFoundError outside it) with up to ``messages`` messages
    of each listed conversation."""
    detail = service.trainee(course, user_id)
    shown = {
        conv.id: service.conversation(course, user_id, conv.id)[1][:messages]
        for conv in detail.conversations
    }
    return TraineePage(
        detail=detail,
        messages=shown,
        csv=csv_url(f"/trainees/{user_id}", course=course, lang=lang),
    )

"""The cohort figures as the console shows them, and what the analytics routes share with
the console's pages: the charts (SVG drawn on the server), whose course a trainee drill-down
is in, and the whole cohort and trainee pages (``api/console_pages.py`` renders them; the JSON
and CSV of each figure are in ``api/routes/analytics.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from api.charts import bar_chart_svg, heatmap_svg, line_chart_svg
from api.i18n import translator
from api.schemas.analytics import LevelsPublic
from tutor.accounts.access import ANY, Access
from tutor.accounts.users import User
from tutor.chat.conversations import Message
from tutor.errors import NotFoundError
from tutor.learning.analytics.service import AnalyticsService
from tutor.learning.analytics.types import (
    STUCK_DEFAULTS,
    ExerciseStats,
    Heatmap,
    LevelReport,
    StuckTrainee,
    TopicReport,
    TraineeDetail,
)


# --- the charts (the *.svg routes and the console's cohort page) ------------------------------
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


# --- one trainee's course ------------------------------------------------------------------------
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

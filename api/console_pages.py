"""The instructor console: server-rendered pages under ``/console`` (instructors and admins).

Every page extends ``console_base.html`` (the course picker and the tabs). Who sees which
course is the access policy's (``tutor/accounts/access.py``): instructors work in their own course
(another is the 403 page; without a course the pages are empty); admins pick any course
that has material (``?course=``). Trainees get the 403 page. The pages read the JSON APIs'
services directly; the scripts they load call those APIs for changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.analytics_views import cohort_page, trainee_course, trainee_page
from api.auth import require_page_access
from api.deps import (
    AccountServiceDep,
    AnalyticsServiceDep,
    ChatServiceDep,
    ContentGapsDep,
    CourseAuthoringDep,
    KnowledgeBaseDep,
    SettingsDep,
)
from api.i18n import group_strings, pick_lang
from api.params import RowId
from api.templating import render
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import KINDS
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.eval_reports import EvalReports
from tutor.errors import NotFoundError

router = APIRouter(tags=["console"], include_in_schema=False)
StaffDep = Annotated[User, Depends(require_page_access("read", "console"))]
CourseQuery = Annotated[str | None, Query(max_length=128)]

GAPS_PAGE_WAIT_S = 0.3  # how long the gaps page waits for a grouping still running

# (tab key, path); labels are the i18n keys console_tab_<key>
TABS = (
    ("overview", "/console"),
    ("kb", "/console/kb"),
    ("gaps", "/console/gaps"),
    ("cohort", "/console/cohort"),
    ("evals", "/console/evals"),
    ("exercises", "/console/exercises"),
)


def console_course(
    user: User, requested: str | None, kb: KnowledgeBase, *, resource: str = "console"
) -> tuple[str | None, list[str]]:
    """The course the page shows (an admin's first course when none is named), and the
    courses the user may pick from (``Access``; ``resource``: what the page shows)."""
    access = Access(user)
    course = access.course_for(requested, resource=resource, required=False)
    courses = access.courses(kb.registry.courses())
    if course and course not in courses:
        courses = [*courses, course]  # an admin's course with no material yet
    return course or (courses[0] if courses else None), courses


def render_console(
    request: Request, name: str, *, tab: str, course: str | None, courses: list[str], **context
) -> HTMLResponse:
    return render(
        request,
        name,
        course=course,
        courses=courses,
        console_tabs=TABS,
        console_tab=tab,
        **context,
    )


def eval_reports(settings) -> EvalReports:
    return EvalReports(settings.data_dir / "eval")


@router.get("/console", response_class=HTMLResponse)
def console_overview(
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    accounts: AccountServiceDep,
    chat: ChatServiceDep,
    settings: SettingsDep,
    course: CourseQuery = None,
):
    course, courses = console_course(user, course, kb)
    gate = eval_reports(settings).latest_gate()
    overview = {
        "documents": len(kb.registry.list(course=course)) if course else 0,
        "trainees": len(accounts.list_users(role="trainee", course=course)) if course else 0,
        "gaps": len(chat.store.gaps(course=course)) if course else 0,
        "gate": gate.gate_passed if gate else None,
    }
    return render_console(
        request,
        "console_overview.html",
        tab="overview",
        course=course,
        courses=courses,
        overview=overview,
    )


@router.get("/console/gaps", response_class=HTMLResponse)
def console_gaps(
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    gaps: ContentGapsDep,
    course: CourseQuery = None,
):
    course, courses = console_course(user, course, kb, resource="gaps")
    # Grouping runs in the background: the page waits for it briefly, then shows the
    # previous groups and the questions not grouped yet, and reloads itself.
    view = gaps.overview(course, wait_s=GAPS_PAGE_WAIT_S) if course else None
    return render_console(
        request,
        "console_gaps.html",
        tab="gaps",
        course=course,
        courses=courses,
        open_groups=view.open if view else [],
        resolved_groups=view.resolved if view else [],
        pending=view.pending if view else [],
    )


@router.get("/console/kb", response_class=HTMLResponse)
def console_kb(
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    course: CourseQuery = None,
):
    course, courses = console_course(user, course, kb, resource="kb")
    return render_console(
        request,
        "console_kb.html",
        tab="kb",
        course=course,
        courses=courses,
        kinds=KINDS,
        upload_max_mb=f"{settings.upload_max_mb:g}",
        kb_strings=group_strings(pick_lang(request), "kb"),
    )


@router.get("/console/exercises", response_class=HTMLResponse)
def console_exercises(
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    authoring: CourseAuthoringDep,
    course: CourseQuery = None,
    saved: Annotated[str | None, Query(max_length=100)] = None,
):
    from knowledge.errors import KnowledgeError

    course, courses = console_course(user, course, kb, resource="exercises")
    exercises, items, skills, lessons, problem = [], [], [], [], None
    if course:
        try:
            skill_map = authoring.skill_map(course)
            skills = sorted(skill_map.skills)
            lessons = [m.id for m in skill_map.lessons]
            exercises = [e.to_dict() for e in authoring.list_exercises(course)]
            items = [e.to_dict() for e in authoring.list_quiz(course)]
        except KnowledgeError as exc:
            problem = str(exc)
    return render_console(
        request,
        "console_exercises.html",
        tab="exercises",
        course=course,
        courses=courses,
        exercises=exercises,
        quiz_items=items,
        skills=skills,
        lessons=lessons,
        problem=problem,
        saved=saved if any(e["id"] == saved for e in exercises) else None,
        authoring_strings=group_strings(pick_lang(request), "authoring"),
    )


@router.get("/console/evals", response_class=HTMLResponse)
def console_evals(
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    course: CourseQuery = None,
):
    course, courses = console_course(user, course, kb)
    reports = eval_reports(settings)
    return render_console(
        request,
        "console_evals.html",
        tab="evals",
        course=course,
        courses=courses,
        reports=reports.list(),
        latest_gate=reports.latest_gate(),
    )


@router.get("/console/evals/{name}/report.html")
def console_eval_html(name: str, _user: StaffDep, settings: SettingsDep) -> FileResponse:
    return FileResponse(eval_reports(settings).html_path(name), media_type="text/html")


# --- cohort analytics (api/routes/analytics.py builds the figures and the charts) --------------
@router.get("/console/cohort", response_class=HTMLResponse)
def console_cohort(
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    analytics: AnalyticsServiceDep,
    course: CourseQuery = None,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    weeks: Annotated[int, Query(ge=1, le=104)] = 12,
):
    course, courses = console_course(user, course, kb, resource="analytics")
    cohort, problem = None, None
    if course:
        try:
            cohort = cohort_page(analytics, course, lang=pick_lang(request), days=days, weeks=weeks)
        except NotFoundError as exc:  # no material yet: no skill map to chart
            problem = str(exc)
    return render_console(
        request,
        "console_cohort.html",
        tab="cohort",
        course=course,
        courses=courses,
        cohort=cohort,
        problem=problem,
        days=days,
        weeks=weeks,
    )


@router.get("/console/cohort/trainee/{user_id}", response_class=HTMLResponse)
def console_cohort_trainee(
    user_id: RowId,
    request: Request,
    user: StaffDep,
    kb: KnowledgeBaseDep,
    analytics: AnalyticsServiceDep,
    course: CourseQuery = None,
):
    course = trainee_course(analytics, user, user_id=user_id, course=course)
    course, courses = console_course(user, course, kb, resource="analytics")
    page = trainee_page(analytics, course, user_id, lang=pick_lang(request))
    return render_console(
        request,
        "console_cohort_trainee.html",
        tab="cohort",
        course=course,
        courses=courses,
        page=page,
    )

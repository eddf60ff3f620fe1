"""Server-rendered pages (Jinja2). The JSON API lives in ``api/routes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import OptionalUserDep, PageUserDep
from api.deps import KnowledgeBaseDep, LearnerServiceDep, SettingsDep
from api.i18n import group_strings, pick_lang
from api.learner_views import dashboard
from api.markdown import code_css
from api.schemas.search import MAX_QUERY_CHARS
from api.templating import render
from knowledge.types import SearchFilter
from tutor.accounts.access import Access
from tutor.chat.conversations import MAX_TITLE_CHARS
from tutor.chat.service import MAX_MESSAGE_CHARS

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    user: OptionalUserDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    course: str = "",
    level: Annotated[str, Query(pattern="^[1-4]?$")] = "",
    doc_lang: Annotated[str, Query(pattern="^(|en|ko)$")] = "",
):
    # An HTML form sends empty strings for unset selects, hence str fields here.
    level_max = int(level) if level else None
    results = []
    if q.strip():
        where = Access(user).search_filter(  # what this caller may search (Access)
            SearchFilter(course=course or None, level_max=level_max, lang=doc_lang or None),
            registry=kb.registry,
            data_dir=settings.data_dir,
        )
        results = kb.search(q, k=8, where=where)
    return render(
        request,
        "search.html",
        q=q,
        course=course,
        level=level_max,
        doc_lang=doc_lang,
        courses=kb.registry.courses(),
        results=results,
    )


@router.get("/health", response_class=HTMLResponse)
def health_page(request: Request, kb: KnowledgeBaseDep):
    documents, chunks = kb.registry.counts()
    return render(
        request, "health.html", documents=documents, chunks=chunks, courses=kb.registry.courses()
    )


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request, user: PageUserDep):
    # The script takes every string it shows from this blob (no prose in chat.js).
    return render(
        request,
        "chat.html",
        course=user.course,
        chat_strings=group_strings(pick_lang(request), "chat"),
        max_chars=MAX_MESSAGE_CHARS,
        max_title=MAX_TITLE_CHARS,
    )


@router.get("/assets/code.css")
def code_stylesheet() -> Response:
    """The colours of highlighted code (api/markdown.py), generated from Pygments: no CDN."""
    return Response(
        code_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/learn", response_class=HTMLResponse)
def learn_page(
    request: Request, user: PageUserDep, service: LearnerServiceDep, settings: SettingsDep
):
    """The learning dashboard: level, mastery chart, achievements, reviews, what next, and
    the quiz (placement, then practice) that learn.js drives through /api/learner."""
    lang = pick_lang(request)
    board = dashboard(service, user, lang=lang, default_level=settings.default_level)
    return render(
        request,
        "learn.html",
        board=board,
        course=user.course,
        learn_strings=group_strings(lang, "learn"),
    )


@router.get("/learn/panels", response_class=HTMLResponse)
def learn_panels(
    request: Request, user: PageUserDep, service: LearnerServiceDep, settings: SettingsDep
):
    """The dashboard's panels alone (and its state as JSON), which learn.js swaps in after
    every answer: one renderer, the server's, for the first paint and every update."""
    lang = pick_lang(request)
    board = dashboard(service, user, lang=lang, default_level=settings.default_level)
    return render(request, "learn_panels.html", board=board, course=user.course)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, user: PageUserDep):
    """Code review: an editor, the exercise picker, the review (tests, findings, suspicious
    lines, narrative) and the attempts; review.js drives it through /api/reviews."""
    return render(
        request,
        "review.html",
        course=user.course,
        review_strings=group_strings(pick_lang(request), "review"),
    )

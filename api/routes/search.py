"""Read-only hybrid search over the knowledge base, open to anonymous callers.

What a caller finds is the access policy's (``tutor/accounts/access.py``): anonymous callers the
published material of every course (what was ingested from course folders: never console
uploads, FAQ pages written from content gaps, or solutions); trainees and instructors also
everything else of their own course; admins everything. Solution material is never returned.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import OptionalUserDep
from api.deps import KnowledgeBaseDep, SettingsDep
from api.schemas.common import ERROR_RESPONSES
from api.schemas.search import MAX_QUERY_CHARS, SearchHitPublic, SearchPublic
from knowledge.errors import InvalidInputError
from knowledge.types import KINDS, SearchFilter
from tutor.accounts.access import Access

router = APIRouter(prefix="/api/search", tags=["search"], responses=ERROR_RESPONSES)


@router.get("", response_model=SearchPublic)
def search(
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    user: OptionalUserDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="the question")],
    course: str | None = None,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    kind: Annotated[
        list[str] | None, Query(description="lesson, exercise, quiz, faq, reference")
    ] = None,
    level_min: Annotated[int | None, Query(ge=1, le=4)] = None,
    level_max: Annotated[int | None, Query(ge=1, le=4)] = None,
    lang: Annotated[str | None, Query(pattern="^(en|ko)$")] = None,
) -> SearchPublic:
    unknown = sorted(set(kind or ()) - set(KINDS))
    if unknown:
        raise InvalidInputError(f"unknown kind {', '.join(unknown)}; valid: {', '.join(KINDS)}")
    # Solution material is for code review and instructors, never for this public route.
    kinds = tuple(k_ for k_ in kind if k_ != "solution") if kind else None
    where = Access(user).search_filter(
        SearchFilter(
            course=course, kinds=kinds, level_min=level_min, level_max=level_max, lang=lang
        ),
        registry=kb.registry,
        data_dir=settings.data_dir,
    )
    results = kb.search(q, k=k, where=where)
    return SearchPublic(query=q, results=[SearchHitPublic.from_scored(r) for r in results])

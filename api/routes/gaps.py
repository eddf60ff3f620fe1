"""Content gaps over HTTP (instructors: their course; admins: any, with ``?course=``; the
access policy's ``gaps`` rules, ``tutor/accounts/access.py``).

- ``GET /api/gaps`` → ``{"course", "open": [group], "resolved": [group]}``; a group is
  ``{"key", "label", "count", "status", "weeks": {"2026-W47": n}, "retrieved": [[title, n]],
  "examples": [{"key", "question", "lang", "source", "created_at"}], "resolution"}``.
- ``POST /api/gaps/{key}/faq`` ``{"title", "answer", "lang"}``: the answer becomes a FAQ
  document of the course, indexed at once; the group is resolved.
- ``POST /api/gaps/{key}/out-of-scope`` ``{"note"?}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import CsrfAuthDep, require_access
from api.deps import ContentGapsDep
from api.schemas.common import ERROR_RESPONSES
from api.schemas.gaps import FaqCreate, GapResolutionPublic, GapsPublic, OutOfScope
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.content_gaps import GapGroup

router = APIRouter(prefix="/api/gaps", tags=["content gaps"], responses=ERROR_RESPONSES)
StaffDep = Annotated[User, Depends(require_access("read", "gaps"))]
CourseQuery = Annotated[str | None, Query(max_length=128)]


def group_json(g: GapGroup) -> dict[str, Any]:
    return {
        "key": g.key,
        "label": g.label,
        "count": g.count,
        "status": g.status,
        "weeks": g.weeks,
        "retrieved": [list(r) for r in g.retrieved],
        "examples": [
            {
                "key": q.key,
                "question": q.question,
                "lang": q.lang,
                "source": q.source,
                "created_at": q.created_at.isoformat(),
            }
            for q in g.examples
        ],
        "resolution": g.resolution,
    }


@router.get("", response_model=GapsPublic, summary="Content gaps of a course, grouped by meaning")
def list_gaps(user: StaffDep, gaps: ContentGapsDep, course: CourseQuery = None) -> dict[str, Any]:
    course = Access(user).course_for(course, resource="gaps")
    open_, resolved = gaps.groups(course)
    return {
        "course": course,
        "open": [group_json(g) for g in open_],
        "resolved": [group_json(g) for g in resolved],
    }


@router.post(
    "/{key}/faq",
    response_model=GapResolutionPublic,
    status_code=201,
    summary="Answer a group with a FAQ document",
)
def answer_with_faq(
    key: str,
    body: FaqCreate,
    auth: CsrfAuthDep,
    gaps: ContentGapsDep,
    course: CourseQuery = None,
) -> dict[str, Any]:
    user = auth.user
    course = Access(user).course_for(course, resource="gaps", action="change")
    return gaps.answer_with_faq(
        course,
        group_key=key,
        title=body.title,
        answer=body.answer,
        lang=body.lang,
        user=user.username,
    )


@router.post(
    "/{key}/out-of-scope",
    response_model=GapResolutionPublic,
    status_code=201,
    summary="Mark a group out of scope",
)
def out_of_scope(
    key: str,
    body: OutOfScope,
    auth: CsrfAuthDep,
    gaps: ContentGapsDep,
    course: CourseQuery = None,
) -> dict[str, Any]:
    user = auth.user
    course = Access(user).course_for(course, resource="gaps", action="change")
    return gaps.mark_out_of_scope(course, group_key=key, note=body.note, user=user.username)

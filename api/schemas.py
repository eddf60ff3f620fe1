"""Response and request bodies. Domain objects are never returned as-is."""

from __future__ import annotations

from pydantic import BaseModel

from knowledge.types import ScoredChunk
from tutor.accounts import User


class HealthPublic(BaseModel):
    status: str
    documents: int
    chunks: int
    courses: list[str]


class SearchHitPublic(BaseModel):
    score: float
    chunk_id: str
    doc_id: str
    title: str
    heading_path: list[str]
    line_start: int
    line_end: int
    course: str
    kind: str
    level: int | None
    lang: str
    text: str

    @classmethod
    def from_scored(cls, hit: ScoredChunk) -> SearchHitPublic:
        c = hit.chunk
        return cls(
            score=round(hit.score, 6),
            chunk_id=c.id,
            doc_id=c.doc_id,
            title=c.title,
            heading_path=list(c.heading_path),
            line_start=c.line_start,
            line_end=c.line_end,
            course=c.course,
            kind=c.kind,
            level=c.level,
            lang=c.lang,
            text=c.text,
        )


class SearchPublic(BaseModel):
    query: str
    results: list[SearchHitPublic]


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    course: str | None

    @classmethod
    def from_user(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            course=user.course,
        )

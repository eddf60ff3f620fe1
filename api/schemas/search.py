"""Search over the course material (``/api/search``)."""

from __future__ import annotations

from pydantic import BaseModel

from knowledge.types import ScoredChunk

MAX_QUERY_CHARS = 2000  # the longest question /api/search and the search page take


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

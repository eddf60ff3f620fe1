"""Domain types that cross the knowledge layer's interfaces.

No Chroma, LangChain or SQLAlchemy object ever leaves an adapter: these small frozen
dataclasses are what the rest of the product sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["lesson", "exercise", "solution", "quiz", "faq", "reference"]
KINDS: tuple[str, ...] = ("lesson", "exercise", "solution", "quiz", "faq", "reference")
LANGS: tuple[str, ...] = ("en", "ko")
FORMATS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".pdf": "pdf",
    ".ipynb": "notebook",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".py": "python",
}


@dataclass(frozen=True)
class DocumentMeta:
    """What an instructor says about a document (front matter), with defaults filled in."""

    title: str
    course: str
    kind: str = "lesson"
    level: int | None = None
    module: str | None = None
    lang: str = "en"
    skills: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    exercise: str | None = None
    lesson_id: str = ""


@dataclass(frozen=True)
class LoadedDocument:
    """A source file turned into text.

    ``text`` is Markdown (or Python source for ``format == "python"``); line numbers in
    chunks are ``line_offset`` + the line in ``text``, so for Markdown, text and Python
    files they point into the original file.
    """

    doc_id: str
    source_path: str
    format: str
    text: str
    meta: DocumentMeta
    content_hash: str
    size_bytes: int
    line_offset: int = 0


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: verbatim text plus where it came from."""

    id: str
    doc_id: str
    index: int
    text: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    course: str
    title: str
    kind: str
    lang: str
    level: int | None = None
    lesson_id: str = ""
    exercise: str | None = None
    skills: tuple[str, ...] = ()

    @property
    def context_header(self) -> str:
        """Title and heading path: prepended to the text for embedding and BM25."""
        parts = [self.title, *[h for h in self.heading_path if h != self.title]]
        return " > ".join(p for p in parts if p)

    @property
    def index_text(self) -> str:
        """What the indexes see: the contextual header, then the passage."""
        header = self.context_header
        return f"{header}\n{self.text}" if header else self.text


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk with its fused score, the rank it had in each retriever (1-based) and each
    retriever's raw score (``signals``: dense cosine, BM25), which are comparable across
    queries and so usable for confidence thresholds (the fused score is not)."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchFilter:
    """Metadata filters. ``None`` means no constraint.

    ``doc_ids``: only chunks of these documents (the access policy, ``tutor/accounts/access.py``,
    keeps callers to the documents they may read); an empty set matches nothing.
    """

    course: str | None = None
    kinds: tuple[str, ...] | None = None
    level_min: int | None = None
    level_max: int | None = None
    lang: str | None = None
    include_solutions: bool = False
    exercise: str | None = None
    doc_ids: frozenset[str] | None = None

    def allowed_kinds(self) -> tuple[str, ...]:
        kinds = self.kinds if self.kinds is not None else KINDS
        if not self.include_solutions:
            kinds = tuple(k for k in kinds if k != "solution")
        return tuple(kinds)

    def matches_nothing(self) -> bool:
        """True when no chunk can pass (no allowed kind, or an empty ``doc_ids``)."""
        return not self.allowed_kinds() or (self.doc_ids is not None and not self.doc_ids)

    def accepts(self, chunk: Chunk) -> bool:
        """The same filter as a predicate, for indexes that filter in Python."""
        if self.course is not None and chunk.course != self.course:
            return False
        if chunk.kind not in self.allowed_kinds():
            return False
        if self.lang is not None and chunk.lang != self.lang:
            return False
        if self.exercise is not None and chunk.exercise != self.exercise:
            return False
        if self.doc_ids is not None and chunk.doc_id not in self.doc_ids:
            return False
        if chunk.level is not None:
            if self.level_min is not None and chunk.level < self.level_min:
                return False
            if self.level_max is not None and chunk.level > self.level_max:
                return False
        return True

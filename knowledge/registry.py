"""The document registry: the source of truth for what the knowledge base holds.

Tables (SQLAlchemy Core; SQLite by default, PostgreSQL by URL):
- ``kb_documents``: one row per document: metadata, content hash, status.
- ``kb_chunks``: the chunks as the tutor quotes them, with their BM25 tokens, so the
  vector and lexical indexes can always be rebuilt from here alone.
- ``kb_sentences``: each chunk's sentence vectors (float16, see ``knowledge.sentences``),
  written in the same transaction as the chunk and deleted with it.
- ``kb_state``: a generation counter bumped on every change, which tells derived
  indexes (the BM25 cache of every worker) that they are stale.
- ``kb_overrides``: what an instructor set on a document in the console (metadata fields,
  ``hidden``), applied over the file's own front matter on every write, so an edit survives
  re-ingesting the file. ``revision`` counts the changes: a write based on an older revision
  is refused (``ConflictError``), so of two concurrent edits the second one fails loudly.

A document is written with ``status = 'pending'`` first and flipped to ``'ready'`` only
after the vector index holds its chunks, so an interrupted ingest leaves a mark that
``kb check`` finds and ``--repair`` finishes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from knowledge.errors import ConflictError, NotFoundError
from knowledge.sentences import from_bytes, to_bytes
from knowledge.types import Chunk, LoadedDocument

metadata = MetaData()

documents = Table(
    "kb_documents",
    metadata,
    Column("doc_id", String(512), primary_key=True),
    Column("course", String(128), nullable=False, index=True),
    Column("source_path", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("level", Integer),
    Column("lang", String(8), nullable=False),
    Column("module", Text),
    Column("skills", Text, nullable=False, default="[]"),
    Column("prerequisites", Text, nullable=False, default="[]"),
    Column("exercise", String(128)),
    Column("lesson_id", String(256), nullable=False, default=""),
    Column("content_hash", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("chunk_count", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False, default="pending"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

chunks = Table(
    "kb_chunks",
    metadata,
    Column("chunk_id", String(600), primary_key=True),
    Column(
        "doc_id",
        String(512),
        ForeignKey("kb_documents.doc_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("idx", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("heading_path", Text, nullable=False),
    Column("line_start", Integer, nullable=False),
    Column("line_end", Integer, nullable=False),
    Column("tokens", Text, nullable=False),
)

sentences = Table(
    "kb_sentences",
    metadata,
    Column(
        "chunk_id",
        String(600),
        ForeignKey("kb_chunks.chunk_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("dim", Integer, nullable=False),  # 0 for a chunk without a sentence
    Column("vectors", LargeBinary, nullable=False),
)

state = Table(
    "kb_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
)


overrides = Table(
    "kb_overrides",
    metadata,
    Column("doc_id", String(512), primary_key=True),
    Column("fields", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Document fields an override may set (DocumentMeta names), plus ``hidden``.
OVERRIDE_FIELDS = ("title", "module", "kind", "level", "lang", "skills", "prerequisites")
HIDDEN = "hidden"  # a document status: in the registry, in no search index


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    course: str
    source_path: str
    format: str
    title: str
    kind: str
    level: int | None
    lang: str
    module: str | None
    skills: tuple[str, ...]
    prerequisites: tuple[str, ...]
    exercise: str | None
    lesson_id: str
    content_hash: str
    size_bytes: int
    chunk_count: int
    status: str
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (the CLI's ``kb list --json``, the API, kept with versions)."""
        return {
            "doc_id": self.doc_id,
            "course": self.course,
            "title": self.title,
            "kind": self.kind,
            "level": self.level,
            "lang": self.lang,
            "module": self.module,
            "skills": list(self.skills),
            "prerequisites": list(self.prerequisites),
            "exercise": self.exercise,
            "lesson_id": self.lesson_id,
            "format": self.format,
            "source_path": self.source_path,
            "content_hash": self.content_hash,
            "size_bytes": self.size_bytes,
            "chunk_count": self.chunk_count,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    is_sqlite = url.startswith("sqlite")
    # SQLite connections are cheap to keep and costly to churn (each new one runs the
    # pragmas below): keep enough for a busy server's request threads (the default pool
    # keeps 5 and closes every overflow connection on return).
    pool = {"pool_size": 20, "max_overflow": 20} if is_sqlite else {}
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False} if is_sqlite else {},
        pool_pre_ping=not is_sqlite,
        **pool,
    )
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def _record(row) -> DocumentRecord:
    m = row._mapping
    return DocumentRecord(
        doc_id=m["doc_id"],
        course=m["course"],
        source_path=m["source_path"],
        format=m["format"],
        title=m["title"],
        kind=m["kind"],
        level=m["level"],
        lang=m["lang"],
        module=m["module"],
        skills=tuple(json.loads(m["skills"])),
        prerequisites=tuple(json.loads(m["prerequisites"])),
        exercise=m["exercise"],
        lesson_id=m["lesson_id"],
        content_hash=m["content_hash"],
        size_bytes=m["size_bytes"],
        chunk_count=m["chunk_count"],
        status=m["status"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class DocumentRegistry:
    """Documents and chunks in SQL. Every write is one transaction and bumps the generation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    # --- generation -------------------------------------------------------------------
    def generation(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(state.c.value).where(state.c.key == "generation")).scalar()
        return int(value or 0)

    def state(self) -> dict[str, int]:
        """Every ``kb_state`` value (generation, tokenizer version) in one read."""
        with self.engine.connect() as conn:
            return {r.key: int(r.value) for r in conn.execute(select(state.c.key, state.c.value))}

    def set_state(self, key: str, value: int) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(update(state).where(state.c.key == key).values(value=value))
            if updated.rowcount == 0:
                conn.execute(insert(state).values(key=key, value=value))

    def retokenize(self, tokenize_many) -> int:
        """Recompute every chunk's stored BM25 tokens (after a tokenizer change)."""
        with self.engine.connect() as conn:
            rows = list(conn.execute(self._select_chunks().order_by(chunks.c.chunk_id)))
        all_chunks = [self._chunk(r) for r in rows]
        for i in range(0, len(all_chunks), 500):
            part = all_chunks[i : i + 500]
            tokens = tokenize_many([c.index_text for c in part])
            with self.engine.begin() as conn:
                for c, t in zip(part, tokens, strict=True):
                    conn.execute(
                        update(chunks)
                        .where(chunks.c.chunk_id == c.id)
                        .values(tokens=json.dumps(t, ensure_ascii=False))
                    )
        with self.engine.begin() as conn:
            self._bump(conn)
        return len(all_chunks)

    @staticmethod
    def _bump(conn) -> None:
        updated = conn.execute(
            update(state).where(state.c.key == "generation").values(value=state.c.value + 1)
        )
        if updated.rowcount == 0:
            conn.execute(insert(state).values(key="generation", value=1))

    # --- reads ------------------------------------------------------------------------
    def get(self, doc_id: str) -> DocumentRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(documents.c.doc_id == doc_id)).first()
        if row is None:
            raise NotFoundError(f"no document {doc_id!r} in the knowledge base")
        return _record(row)

    def list(self, *, course: str | None = None) -> list[DocumentRecord]:
        query = select(documents).order_by(documents.c.course, documents.c.doc_id)
        if course is not None:
            query = query.where(documents.c.course == course)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def courses(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(documents.c.course).distinct().order_by(documents.c.course))
            return [r[0] for r in rows]

    def hashes(self, *, prefix: str) -> dict[str, tuple[str, str]]:
        """doc_id -> (content_hash, status) for ids under ``prefix``: what ingest compares."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = select(documents.c.doc_id, documents.c.content_hash, documents.c.status).where(
            documents.c.doc_id.like(f"{escaped}%", escape="\\")
        )
        with self.engine.connect() as conn:
            return {r.doc_id: (r.content_hash, r.status) for r in conn.execute(query)}

    def chunk_ids(self, doc_id: str | None = None) -> dict[str, str]:
        """chunk_id -> doc_id, for one document or all."""
        query = select(chunks.c.chunk_id, chunks.c.doc_id)
        if doc_id is not None:
            query = query.where(chunks.c.doc_id == doc_id)
        with self.engine.connect() as conn:
            return {r.chunk_id: r.doc_id for r in conn.execute(query)}

    def _select_chunks(self, *, with_tokens: bool = False):
        # The stored tokens are the bulk of a row; only the BM25 build reads them.
        columns = [c for c in chunks.c if with_tokens or c.name != "tokens"]
        return select(
            *columns,
            documents.c.course,
            documents.c.title,
            documents.c.kind,
            documents.c.lang,
            documents.c.level,
            documents.c.lesson_id,
            documents.c.exercise,
            documents.c.skills,
        ).join(documents, documents.c.doc_id == chunks.c.doc_id)

    @staticmethod
    def _chunk(row) -> Chunk:
        m = row._mapping
        return Chunk(
            id=m["chunk_id"],
            doc_id=m["doc_id"],
            index=m["idx"],
            text=m["text"],
            heading_path=tuple(json.loads(m["heading_path"])),
            line_start=m["line_start"],
            line_end=m["line_end"],
            course=m["course"],
            title=m["title"],
            kind=m["kind"],
            lang=m["lang"],
            level=m["level"],
            lesson_id=m["lesson_id"],
            exercise=m["exercise"],
            skills=tuple(json.loads(m["skills"])),
        )

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """Hydrate chunks by id (ids that no longer exist are simply absent)."""
        out: dict[str, Chunk] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(chunk_ids), 500):
                part = list(chunk_ids[i : i + 500])
                rows = conn.execute(self._select_chunks().where(chunks.c.chunk_id.in_(part)))
                out.update((r.chunk_id, self._chunk(r)) for r in rows)
        return out

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        query = self._select_chunks().where(chunks.c.doc_id == doc_id).order_by(chunks.c.idx)
        with self.engine.connect() as conn:
            return [self._chunk(r) for r in conn.execute(query)]

    def _ready_chunks(self, *, with_tokens: bool):
        return (
            self._select_chunks(with_tokens=with_tokens)
            .where(documents.c.status == "ready")
            .order_by(chunks.c.doc_id, chunks.c.idx)
        )

    def ready_chunks(self) -> list[Chunk]:
        """Every chunk of a ready document, in a stable order (without the stored tokens)."""
        with self.engine.connect() as conn:
            return [self._chunk(r) for r in conn.execute(self._ready_chunks(with_tokens=False))]

    def lexical_entries(self) -> list[tuple[Chunk, list[str]]]:
        """Every chunk of a ready document with its tokens, in a stable order."""
        with self.engine.connect() as conn:
            rows = conn.execute(self._ready_chunks(with_tokens=True))
            return [(self._chunk(r), json.loads(r.tokens)) for r in rows]

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored sentence vectors of these chunks (float16 matrices); chunks without
        stored vectors are absent."""
        out: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(chunk_ids), 500):
                part = list(chunk_ids[i : i + 500])
                query = select(sentences).where(sentences.c.chunk_id.in_(part))
                out.update((r.chunk_id, from_bytes(r.vectors, r.dim)) for r in conn.execute(query))
        return out

    def chunks_without_sentences(self) -> list[Chunk]:
        """Chunks of ready documents with no stored sentence vectors, in a stable order."""
        query = self._ready_chunks(with_tokens=False).where(
            chunks.c.chunk_id.not_in(select(sentences.c.chunk_id))
        )
        with self.engine.connect() as conn:
            return [self._chunk(r) for r in conn.execute(query)]

    def set_sentence_vectors(
        self, chunk_list: Sequence[Chunk], vectors: Sequence[np.ndarray]
    ) -> None:
        """Store (or replace) the sentence vectors of chunks that exist (others are skipped)."""
        ids = [c.id for c in chunk_list]
        with self.engine.begin() as conn:
            present = select(chunks.c.chunk_id).where(chunks.c.chunk_id.in_(ids))
            known = {r[0] for r in conn.execute(present)}
            conn.execute(delete(sentences).where(sentences.c.chunk_id.in_(ids)))
            pairs = [(c, v) for c, v in zip(chunk_list, vectors, strict=True) if c.id in known]
            if pairs:
                _insert_sentences(conn, [c for c, _ in pairs], [v for _, v in pairs])

    def clear_sentence_vectors(self) -> None:
        """Forget every stored sentence vector (they are of another ``sentences.VERSION``)."""
        with self.engine.begin() as conn:
            conn.execute(delete(sentences))

    def counts(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            n_docs = conn.execute(select(func.count()).select_from(documents)).scalar_one()
            n_chunks = conn.execute(select(func.count()).select_from(chunks)).scalar_one()
        return n_docs, n_chunks

    # --- overrides (console edits) -----------------------------------------------------
    def overrides(self, doc_id: str) -> tuple[dict, int]:
        """``(fields, revision)`` set on ``doc_id``; ``({}, 0)`` when none ever was."""
        with self.engine.connect() as conn:
            row = conn.execute(select(overrides).where(overrides.c.doc_id == doc_id)).first()
        return (json.loads(row.fields), int(row.revision)) if row else ({}, 0)

    def set_overrides(self, doc_id: str, fields: dict, *, revision: int) -> int:
        """Replace the overrides of ``doc_id`` if they are still at ``revision``; return the
        new revision. Raise ``ConflictError`` (and change nothing) when another write came
        first. Unknown keys are refused: only ``OVERRIDE_FIELDS`` and ``hidden``."""
        unknown = sorted(set(fields) - {*OVERRIDE_FIELDS, HIDDEN})
        if unknown:
            raise ValueError(f"not an override field: {', '.join(unknown)}")
        values = {
            "fields": json.dumps(fields, ensure_ascii=False, sort_keys=True),
            "revision": revision + 1,
            "updated_at": datetime.now(UTC),
        }
        stale = ConflictError(
            f"{doc_id} was changed by someone else meanwhile (revision {revision} is stale); "
            "reload it and apply your change again"
        )
        with self.engine.begin() as conn:
            if revision == 0:
                exists = conn.execute(
                    select(overrides.c.doc_id).where(overrides.c.doc_id == doc_id)
                ).first()
                if exists:
                    raise stale
                try:
                    conn.execute(insert(overrides).values(doc_id=doc_id, **values))
                except IntegrityError as exc:  # a concurrent first edit inserted it
                    raise stale from exc
            else:
                changed = conn.execute(
                    update(overrides)
                    .where(overrides.c.doc_id == doc_id, overrides.c.revision == revision)
                    .values(**values)
                ).rowcount
                if not changed:
                    raise stale
        return revision + 1

    def apply_overrides(self, doc_id: str) -> dict:
        """Write the overrides' metadata into the document row (status ``pending``: the
        indexes must follow, see ``KnowledgeBase.reindex``); return the overrides."""
        fields, _ = self.overrides(doc_id)
        values: dict = {k: fields[k] for k in OVERRIDE_FIELDS if k in fields}
        for key in ("skills", "prerequisites"):
            if key in values:
                values[key] = json.dumps(list(values[key]), ensure_ascii=False)
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(documents)
                .where(documents.c.doc_id == doc_id)
                .values(status="pending", updated_at=datetime.now(UTC), **values)
            ).rowcount
            if not changed:
                raise NotFoundError(f"no document {doc_id!r} in the knowledge base")
            self._bump(conn)
        return fields

    def hidden_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(documents.c.doc_id).where(documents.c.status == HIDDEN))
            return {r[0] for r in rows}

    # --- writes -----------------------------------------------------------------------
    def stage(
        self,
        doc: LoadedDocument,
        doc_chunks: Sequence[Chunk],
        tokens: Sequence[list[str]],
        *,
        sentence_vectors: Sequence[np.ndarray] | None = None,
    ) -> list[str]:
        """Replace a document and its chunks (status 'pending'); return the old chunk ids.

        ``sentence_vectors``: one matrix per chunk (``knowledge.sentences``), or None to
        store none (``kb check`` then reports them missing where they are wanted)."""
        now = datetime.now(UTC)
        meta = doc.meta
        values = {
            "course": meta.course,
            "source_path": doc.source_path,
            "format": doc.format,
            "title": meta.title,
            "kind": meta.kind,
            "level": meta.level,
            "lang": meta.lang,
            "module": meta.module,
            "skills": json.dumps(list(meta.skills), ensure_ascii=False),
            "prerequisites": json.dumps(list(meta.prerequisites), ensure_ascii=False),
            "exercise": meta.exercise,
            "lesson_id": meta.lesson_id,
            "content_hash": doc.content_hash,
            "size_bytes": doc.size_bytes,
            "chunk_count": len(doc_chunks),
            "status": "pending",
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            of_doc = select(chunks.c.chunk_id).where(chunks.c.doc_id == doc.doc_id)
            old = [r[0] for r in conn.execute(of_doc)]
            conn.execute(delete(sentences).where(sentences.c.chunk_id.in_(of_doc)))
            conn.execute(delete(chunks).where(chunks.c.doc_id == doc.doc_id))
            exists = conn.execute(
                select(documents.c.doc_id).where(documents.c.doc_id == doc.doc_id)
            ).first()
            if exists:
                this_doc = documents.c.doc_id == doc.doc_id
                conn.execute(update(documents).where(this_doc).values(**values))
            else:
                conn.execute(insert(documents).values(doc_id=doc.doc_id, created_at=now, **values))
            if doc_chunks:
                conn.execute(
                    insert(chunks),
                    [
                        {
                            "chunk_id": c.id,
                            "doc_id": c.doc_id,
                            "idx": c.index,
                            "text": c.text,
                            "heading_path": json.dumps(list(c.heading_path), ensure_ascii=False),
                            "line_start": c.line_start,
                            "line_end": c.line_end,
                            "tokens": json.dumps(t, ensure_ascii=False),
                        }
                        for c, t in zip(doc_chunks, tokens, strict=True)
                    ],
                )
            if doc_chunks and sentence_vectors is not None:
                _insert_sentences(conn, doc_chunks, sentence_vectors)
            self._bump(conn)
        return old

    def mark(self, doc_ids: Iterable[str], status: str) -> None:
        ids = list(doc_ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(update(documents).where(documents.c.doc_id.in_(ids)).values(status=status))
            self._bump(conn)

    def remove(self, doc_id: str) -> list[str]:
        """Delete a document and its chunks; return the removed chunk ids."""
        with self.engine.begin() as conn:
            of_doc = select(chunks.c.chunk_id).where(chunks.c.doc_id == doc_id)
            ids = [r[0] for r in conn.execute(of_doc)]
            conn.execute(delete(sentences).where(sentences.c.chunk_id.in_(of_doc)))
            deleted = conn.execute(delete(documents).where(documents.c.doc_id == doc_id)).rowcount
            if not deleted:
                raise NotFoundError(f"no document {doc_id!r} in the knowledge base")
            conn.execute(delete(chunks).where(chunks.c.doc_id == doc_id))
            conn.execute(delete(overrides).where(overrides.c.doc_id == doc_id))
            self._bump(conn)
        return ids


def _insert_sentences(conn, chunk_list: Sequence[Chunk], vectors: Sequence[np.ndarray]) -> None:
    conn.execute(
        insert(sentences),
        [
            {"chunk_id": c.id, "dim": int(m.shape[1]) if len(m) else 0, "vectors": to_bytes(m)}
            for c, m in zip(chunk_list, vectors, strict=True)
        ],
    )

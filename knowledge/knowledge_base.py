"""The knowledge base: registry + vector index + lexical index, kept in step.

Write protocol for one document (what makes an interrupted ingest recoverable):
1. ``registry.stage``: the document and its new chunks (with their BM25 tokens and
   sentence vectors) in one SQL transaction, status ``pending``.
2. The vector index gets the new vectors; vectors of chunks that no longer exist go.
3. ``registry.mark(..., "ready")``.
4. Once per batch, the BM25 index is rebuilt from the registry (ready documents only).

Readers only ever get chunks that the registry holds, so a half-finished write shows
fewer results for a moment, never broken ones.

Console overrides (``registry.overrides``) are applied over a document's own metadata on
every write. A *hidden* document stays in the registry (status ``hidden``, its chunks kept
for instructors) but has no vectors and no BM25 entries, so no search finds it.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine

from knowledge.chunking import chunk_document
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import (
    CachedEmbedding,
    build_embeddings,
    sentence_embedding,
    sentence_query_vector,
)
from knowledge.lexical import LexicalIndex, Tokenizer, is_hangul
from knowledge.registry import HIDDEN, OVERRIDE_FIELDS, DocumentRegistry, make_engine
from knowledge.retrieval import FusionParams, HybridRetriever
from knowledge.sentences import VERSION as SENTENCES_VERSION
from knowledge.sentences import embed_sentences
from knowledge.types import Chunk, LoadedDocument, ScoredChunk, SearchFilter
from knowledge.vectorstore import VectorIndex, build_vector_index

# ``kb_state`` key: the ``knowledge.sentences.VERSION`` of the stored sentence vectors.
SENTENCE_VERSION_KEY = "sentence_version"


@dataclass
class PreparedDocument:
    """A document ready to write: chunks, their tokens and vectors (the slow part), and
    each chunk's sentence vectors (None when the knowledge base keeps none)."""

    doc: LoadedDocument
    chunks: list[Chunk]
    tokens: list[list[str]]
    vectors: np.ndarray
    hidden: bool = False
    sentence_vectors: list[np.ndarray] | None = None


@dataclass
class Problem:
    """One inconsistency found by ``check``."""

    kind: str
    detail: str
    doc_ids: list[str] = field(default_factory=list)


class KnowledgeBase:
    def __init__(
        self,
        *,
        registry: DocumentRegistry,
        vectors: VectorIndex,
        lexical: LexicalIndex,
        embeddings,
        tokenizer: Tokenizer,
        chunk_size: int,
        fusion: FusionParams | None = None,
        query_cache: int = 0,
        sentence_embeddings=None,
    ) -> None:
        """``sentence_embeddings``: the model of sentence evidence (default: the USE model
        inside ``embeddings``, or a new one; see ``knowledge.sentences``)."""
        fusion = fusion or FusionParams()
        self.registry = registry
        self.vectors = vectors
        self.lexical = lexical
        self.embeddings = embeddings
        self.tokenizer = tokenizer
        self.chunk_size = chunk_size
        # ``query_cache`` > 0 remembers that many recent query vectors (embedding is most of a
        # search): for a caller that searches one text several times, like the eval runner.
        # Off by default, so the server and the latency benchmarks embed every query.
        self._queries = (
            CachedEmbedding(embeddings, max_entries=query_cache) if query_cache > 0 else None
        )
        self._refresh_lock = threading.Lock()
        # Sentence evidence on: every chunk keeps its sentence vectors (None: it is off).
        self.sentences = (
            (sentence_embeddings or sentence_embedding(embeddings))
            if fusion.sentence_weight
            else None
        )
        self.retriever = HybridRetriever(
            embed_query=self.embed_query,
            vectors=vectors,
            lexical=lexical,
            tokenizer=tokenizer,
            hydrate=registry.chunks,
            params=fusion,
            sentence_query=self.sentence_query if self.sentences else None,
            sentence_vectors=registry.sentence_vectors if self.sentences else None,
        )

    # --- embedding ----------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        if self._queries is None:
            return self.embeddings.embed_array([text])[0]
        return self._queries.embed_array([text])[0]

    def forget_queries(self) -> None:
        """Empty the query cache (``query_cache``), e.g. before timing a search cold."""
        if self._queries is not None:
            self._queries.clear()

    def embed_chunks(self, chunks: Sequence[Chunk]) -> np.ndarray:
        if not chunks:
            return np.zeros((0, 1), dtype=np.float32)
        return self.embeddings.embed_array([c.index_text for c in chunks])

    def embed_chunk_sentences(self, chunks: Sequence[Chunk]) -> list[np.ndarray] | None:
        """Each chunk's sentence vectors; None when sentence evidence is off."""
        if self.sentences is None:
            return None
        return embed_sentences([c.text for c in chunks], self.sentences.embed_array)

    def sentence_query(self, text: str, vector: np.ndarray) -> np.ndarray:
        """The query in the sentence model's space, given its ``vector`` from ``embed_query``."""
        return sentence_query_vector(
            text, vector=vector, embeddings=self.embeddings, sentences=self.sentences
        )

    # --- writing ------------------------------------------------------------------------
    def prepare(self, doc: LoadedDocument) -> PreparedDocument:
        return self.prepare_many([doc])[0]

    def prepare_many(
        self,
        docs: Sequence[LoadedDocument],
        *,
        progress: Callable[[int, int], None] | None = None,
        progress_steps: int = 32,
    ) -> list[PreparedDocument]:
        """``prepare`` for several documents, their chunks embedded in one batch: the model
        sorts one long list by length (less padding) instead of many short ones.

        Console overrides are applied to each document's metadata first. With ``progress``,
        chunks are embedded in about ``progress_steps`` slices (4 to 64 chunks each) and
        ``progress(done, total)`` is called after each (an upload page shows a long PDF
        advancing every second or so instead of once a minute).
        """
        applied = [self._with_overrides(doc) for doc in docs]
        docs, hidden = [d for d, _ in applied], [h for _, h in applied]
        chunked = [chunk_document(doc, chunk_size=self.chunk_size) for doc in docs]
        every = [c for chunks in chunked for c in chunks]
        if progress is None or not every:
            vectors = self.embed_chunks(every)
            sentences = self.embed_chunk_sentences(every)
        else:
            parts, sentence_parts = [], []
            step = max(4, min(64, math.ceil(len(every) / max(progress_steps, 1))))
            progress(0, len(every))
            for i in range(0, len(every), step):
                parts.append(self.embed_chunks(every[i : i + step]))
                sentence_parts.append(self.embed_chunk_sentences(every[i : i + step]))
                progress(min(i + step, len(every)), len(every))
            vectors = np.concatenate(parts)
            sentences = (
                None if self.sentences is None else [m for part in sentence_parts for m in part]
            )
        prepared, start = [], 0
        for doc, chunks, is_hidden in zip(docs, chunked, hidden, strict=True):
            tokens = self.tokenizer.tokenize_many([c.index_text for c in chunks])
            end = start + len(chunks)
            prepared.append(
                PreparedDocument(
                    doc,
                    chunks,
                    tokens,
                    vectors[start:end],
                    hidden=is_hidden,
                    sentence_vectors=None if sentences is None else sentences[start:end],
                )
            )
            start = end
        return prepared

    def _with_overrides(self, doc: LoadedDocument) -> tuple[LoadedDocument, bool]:
        fields, _ = self.registry.overrides(doc.doc_id)
        if not fields:
            return doc, False
        meta = {k: fields[k] for k in OVERRIDE_FIELDS if k in fields}
        for key in ("skills", "prerequisites"):
            if key in meta:
                meta[key] = tuple(meta[key])
        return (
            dataclasses.replace(doc, meta=dataclasses.replace(doc.meta, **meta)),
            bool(fields.get(HIDDEN)),
        )

    def write(self, prepared: PreparedDocument) -> None:
        """Replace one document (see the write protocol above). Lexical is refreshed later."""
        if prepared.sentence_vectors is not None and self._sentence_version() is None:
            self.registry.set_state(SENTENCE_VERSION_KEY, SENTENCES_VERSION)
        old = self.registry.stage(
            prepared.doc,
            prepared.chunks,
            prepared.tokens,
            sentence_vectors=prepared.sentence_vectors,
        )
        if prepared.hidden:
            self.vectors.delete(
                chunk_ids=[*old, *(c.id for c in prepared.chunks)], doc_ids=[prepared.doc.doc_id]
            )
            self.registry.mark([prepared.doc.doc_id], HIDDEN)
            return
        if prepared.chunks:
            self.vectors.add(prepared.chunks, prepared.vectors)
        new_ids = {c.id for c in prepared.chunks}
        stale = [cid for cid in old if cid not in new_ids]
        if stale:
            self.vectors.delete(chunk_ids=stale)
        self.registry.mark([prepared.doc.doc_id], "ready")

    def reindex(self, doc_id: str, *, progress: Callable[[int, int], None] | None = None) -> None:
        """Apply the document's overrides (metadata, hidden) from the registry alone, no
        file needed: the row is updated, the chunks re-embedded with their new metadata
        (or taken out of the vector index when hidden), the BM25 index rebuilt."""
        fields = self.registry.apply_overrides(doc_id)
        self._index_from_registry(doc_id, hidden=bool(fields.get(HIDDEN)), progress=progress)
        self.refresh_lexical()

    def _index_from_registry(
        self, doc_id: str, *, hidden: bool, progress: Callable[[int, int], None] | None = None
    ) -> int:
        chunks = self.registry.document_chunks(doc_id)
        if hidden:
            self.vectors.delete(chunk_ids=[c.id for c in chunks], doc_ids=[doc_id])
            self.registry.mark([doc_id], HIDDEN)
            return len(chunks)
        if chunks:
            total, parts = len(chunks), []
            for i in range(0, total, 64):
                parts.append(self.embed_chunks(chunks[i : i + 64]))
                if progress:
                    progress(min(i + 64, total), total)
            self.vectors.add(chunks, np.concatenate(parts))
        self.registry.mark([doc_id], "ready")
        return len(chunks)

    def _sentence_version(self) -> int | None:
        return self.registry.state().get(SENTENCE_VERSION_KEY)

    def _embed_missing_sentences(self, *, batch: int = 256) -> int:
        """Store sentence vectors for every ready chunk without them; returns how many."""
        missing = self.registry.chunks_without_sentences()
        for i in range(0, len(missing), batch):
            part = missing[i : i + batch]
            self.registry.set_sentence_vectors(part, self.embed_chunk_sentences(part) or [])
        self.registry.set_state(SENTENCE_VERSION_KEY, SENTENCES_VERSION)
        return len(missing)

    def remove(self, doc_id: str) -> None:
        chunk_ids = self.registry.remove(doc_id)
        self.vectors.delete(chunk_ids=chunk_ids, doc_ids=[doc_id])

    def refresh_lexical(self, *, force: bool = False) -> None:
        """Make the BM25 index match the registry: load the cache, or rebuild it."""
        with self._refresh_lock:
            state = self.registry.state()
            if state.get("tokenizer_version") != self.tokenizer.VERSION:
                # Stored tokens came from another tokenizer version: recompute them from text.
                self.registry.retokenize(self.tokenizer.tokenize_many)
                self.registry.set_state("tokenizer_version", self.tokenizer.VERSION)
                state = self.registry.state()
            generation = state.get("generation", 0)
            if not force and self.lexical.generation == generation:
                return
            if not force and self.lexical.load() and self.lexical.generation == generation:
                return
            self.lexical.build(self.registry.lexical_entries(), generation=generation)

    # --- reading ------------------------------------------------------------------------
    def search(
        self, query: str, *, k: int = 5, where: SearchFilter | None = None
    ) -> list[ScoredChunk]:
        where = where or SearchFilter()  # no filter still means: no solution material
        if not query.strip() or where.matches_nothing():
            return []
        self.refresh_lexical()
        return self.retriever.search(query, k=k, where=where)

    def term_coverage(
        self,
        question: str,
        *,
        where: SearchFilter | None = None,
        ignore: Collection[str] = frozenset(),
    ) -> float:
        """The IDF-weighted share of the question's content tokens that the material uses.

        Tokens come from the BM25 tokenizer (stop words and Korean particles dropped), each
        counted once. A token weighs its BM25 IDF over the chunks ``where`` accepts,
        ``ln(1 + (N - df + 0.5) / (df + 0.5))``: a token the course never uses (df = 0) weighs
        the most, one found in most chunks the least. 1.0 means every term of the question
        occurs somewhere in the course, 0.0 that none does.

        Korean tokens count only when the material holds Korean chunks: a Korean question to
        an English-only course is judged on its English words and code alone. A question with
        no token left to judge gives 1.0 (no lexical evidence against it), so the caller's
        dense similarity decides alone.

        ``ignore``: tokens that ask rather than name a topic (the chat's question and request
        words: 뭐, 알리, explain): left out, since formal lesson text seldom uses them.
        """
        where = where or SearchFilter()
        tokens = [
            t for t in dict.fromkeys(self.tokenizer.tokenize(question)) if t.lower() not in ignore
        ]
        self.refresh_lexical()
        if tokens and not self.lexical.languages(where=where).get("ko"):
            tokens = [t for t in tokens if not is_hangul(t)]
        if not tokens:
            return 1.0
        counts, total = self.lexical.document_frequencies(tokens, where=where)
        weights = {t: math.log(1 + (total - counts[t] + 0.5) / (counts[t] + 0.5)) for t in tokens}
        return sum(w for t, w in weights.items() if counts[t] > 0) / sum(weights.values())

    # --- consistency --------------------------------------------------------------------
    def check(self, *, course: str | None = None) -> list[Problem]:
        """Compare registry, vector index and lexical index; list every disagreement.

        ``course``: only that course's documents are checked; problems of the whole index,
        which name no document (vectors of no chunk, a stale BM25 index), are listed all the
        same, since they concern every course."""
        problems: list[Problem] = []
        records = self.registry.list(course=course)
        scope = None if course is None else {r.doc_id for r in records}

        def in_scope(doc_id: str) -> bool:
            return scope is None or doc_id in scope

        pending = [r.doc_id for r in records if r.status not in ("ready", HIDDEN)]
        if pending:
            problems.append(
                Problem("pending", f"{len(pending)} document(s) left mid-write", pending)
            )
        registry_chunks = self.registry.chunk_ids()
        miscounted = []
        per_doc: dict[str, int] = {}
        for doc_id in registry_chunks.values():
            per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
        for r in records:
            if per_doc.get(r.doc_id, 0) != r.chunk_count:
                miscounted.append(r.doc_id)
        if miscounted:
            problems.append(
                Problem("chunk_count", f"{len(miscounted)} document(s) miss chunks", miscounted)
            )
        vector_ids = self.vectors.ids()
        indexed = self._indexed_chunk_ids()  # hidden documents' chunks have no vectors
        missing = {c for c, d in indexed.items() if in_scope(d) and c not in vector_ids}
        if missing:
            docs = sorted({indexed[c] for c in missing})
            problems.append(
                Problem("missing_vectors", f"{len(missing)} chunk(s) have no vector", docs)
            )
        orphans = [cid for cid in vector_ids if cid not in indexed]
        if orphans:
            problems.append(Problem("orphan_vectors", f"{len(orphans)} vector(s) of no chunk"))
        if self.sentences is not None:
            stored = self._sentence_version()
            if stored is not None and stored != SENTENCES_VERSION:
                problems.append(
                    Problem("sentences_stale", "stored sentence vectors are of an older version")
                )
            else:
                without = [
                    c for c in self.registry.chunks_without_sentences() if in_scope(c.doc_id)
                ]
                if without:
                    problems.append(
                        Problem(
                            "missing_sentences",
                            f"{len(without)} chunk(s) have no sentence vectors",
                            sorted({c.doc_id for c in without}),
                        )
                    )
        version = self.registry.state().get("tokenizer_version")
        if registry_chunks and version != self.tokenizer.VERSION:
            problems.append(
                Problem("tokens_stale", "stored BM25 tokens are from an older tokenizer")
            )
        generation = self.registry.generation()
        if not self.lexical.load():
            if generation:  # generation 0: nothing was ever written, no BM25 index needed yet
                problems.append(
                    Problem("lexical_stale", "the BM25 index is older than the registry")
                )
        elif self.lexical.generation != generation:
            problems.append(Problem("lexical_stale", "the BM25 index is older than the registry"))
        else:
            every = records if course is None else self.registry.list()  # the index is whole
            ready = {r.doc_id for r in every if r.status == "ready"}
            expected = {c for c, d in registry_chunks.items() if d in ready}
            if set(self.lexical.chunk_ids()) != expected:
                problems.append(Problem("lexical_mismatch", "the BM25 index holds other chunks"))
        return problems

    def _indexed_chunk_ids(self) -> dict[str, str]:
        """chunk_id -> doc_id of the chunks that belong in the indexes (not hidden)."""
        hidden = self.registry.hidden_ids()
        return {c: d for c, d in self.registry.chunk_ids().items() if d not in hidden}

    def repair(self, problems: list[Problem]) -> list[str]:
        """Fix what ``check`` found, from the registry alone. Returns what was done."""
        done: list[str] = []
        kinds = {p.kind for p in problems}
        redo: set[str] = set()
        for p in problems:
            if p.kind in ("pending", "missing_vectors"):
                redo.update(p.doc_ids)
        for p in problems:
            if p.kind == "chunk_count":
                for doc_id in p.doc_ids:
                    # Chunks were lost: the document must be ingested again from its file.
                    self.remove(doc_id)
                    redo.discard(doc_id)
                    done.append(f"removed {doc_id} (incomplete; ingest it again)")
        for doc_id in sorted(redo):
            hidden = bool(self.registry.overrides(doc_id)[0].get(HIDDEN))
            n = self._index_from_registry(doc_id, hidden=hidden)
            done.append(f"{'hid' if hidden else 're-indexed'} {doc_id} ({n} chunks)")
        if "orphan_vectors" in kinds:
            known = self._indexed_chunk_ids()
            orphans = [cid for cid in self.vectors.ids() if cid not in known]
            self.vectors.delete(chunk_ids=orphans)
            done.append(f"deleted {len(orphans)} orphan vector(s)")
        if kinds & {"lexical_stale", "lexical_mismatch", "tokens_stale"} or redo or done:
            self.refresh_lexical(force=True)
            done.append("rebuilt the BM25 index")
        # Documents finished above may have been staged without sentences (by a version
        # before them, or with KDT_SENTENCE_WEIGHT=0): fill those too.
        sentence_kinds = {"missing_sentences", "sentences_stale"}
        if self.sentences is not None and (kinds & sentence_kinds or redo):
            if "sentences_stale" in kinds:
                self.registry.clear_sentence_vectors()
            n = self._embed_missing_sentences()
            if n:
                done.append(f"embedded the sentences of {n} chunk(s)")
        return done


def build_knowledge_base(
    config: KnowledgeConfig,
    *,
    fusion: FusionParams | None = None,
    embeddings=None,
    tokenizer: Tokenizer | None = None,
    query_cache: int = 0,
    engine: Engine | None = None,
) -> KnowledgeBase:
    """The composition of the default backends from plain configuration values.

    ``embeddings`` lets a caller share one loaded model between knowledge bases (tests,
    benchmarks); by default it is built from ``config.embedding``. ``query_cache``: see
    ``KnowledgeBase``. ``fusion`` defaults to ``FusionParams`` with the configured
    ``sentence_weight``. ``engine``: the process's one database engine (the composition
    root's, ``tutor.services``); without it one is made from ``config.database_url``.
    """
    fusion = fusion or FusionParams(sentence_weight=config.sentence_weight)
    config.kb_dir.mkdir(parents=True, exist_ok=True)
    registry = DocumentRegistry(engine or make_engine(config.database_url))
    embeddings = embeddings or build_embeddings(
        config.embedding, onnx_cache_dir=config.onnx_cache_dir
    )
    return KnowledgeBase(
        registry=registry,
        vectors=build_vector_index(
            chroma_url=config.chroma_url,
            kb_dir=config.kb_dir,
            collection=collection_name(config.collection, embeddings.name),
        ),
        lexical=LexicalIndex(config.kb_dir / "bm25"),
        embeddings=embeddings,
        tokenizer=tokenizer or Tokenizer(),
        chunk_size=config.chunk_size,
        fusion=fusion,
        query_cache=query_cache,
    )


def collection_name(base: str, embedding_name: str) -> str:
    """One Chroma collection per embedding model: vectors of two models never mix.

    Switching ``KDT_EMBEDDING`` therefore starts an empty collection, which the next
    ingest (or ``kb check --repair``) fills from the registry.
    """
    import hashlib
    import re

    slug = re.sub(r"[^A-Za-z0-9]+", "-", embedding_name).strip("-")[:40].strip("-")
    digest = hashlib.sha256(embedding_name.encode("utf-8")).hexdigest()[:8]
    return f"{base}-{slug}-{digest}"

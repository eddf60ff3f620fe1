"""search-20k: hybrid search latency on a knowledge base of >= 20,000 real chunks.

The knowledge base is built once (and cached under ``bench/out/kb20k``) with the default
settings and real embeddings of real course text: sliding windows of ~900 characters
over the lessons of ML-For-Beginners and python-basics, English and Korean, written
through the normal write path (``KnowledgeBase.write``) and indexed for BM25.

Then quiz questions of both courses are searched with ``kb.search`` (with and without a
course filter). The baseline is dense-only search on the same index (embed the query,
Chroma top-k), the core of LangChain's default retrieval pipeline.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.common import (
    ML_COURSE,
    OUT_DIR,
    SAMPLE_COURSE,
    format_table,
    log,
    percentiles_ms,
    row,
)
from eval.datasets import read_quiz
from knowledge.chunking import chunk_document
from knowledge.ingest import course_id_for
from knowledge.knowledge_base import KnowledgeBase, PreparedDocument, build_knowledge_base
from knowledge.loaders import load_document
from knowledge.retrieval import HybridRetriever
from knowledge.sentences import best_sentence_scores
from knowledge.types import LoadedDocument, SearchFilter
from tutor.settings import Settings

NAME = "search-20k"
DEFAULT_CHUNKS = 20_000
DEFAULT_QUERIES = 300
WINDOW_CHARS = 900
WARMUP_QUERIES = 10
EMBED_BATCH_DOCS = 64
TARGET_P95_MS = 50.0
_SPACE = re.compile(r"\s+")


# --- the corpus ---------------------------------------------------------------------------
def course_roots() -> list[Path]:
    return [ML_COURSE, SAMPLE_COURSE]


def source_documents() -> list[LoadedDocument]:
    """Every lesson (lessons/ and lessons-ko/) of both courses, through the real loader."""
    docs = []
    for root in course_roots():
        course = course_id_for(root, None)
        for folder in ("lessons", "lessons-ko"):
            for path in sorted((root / folder).glob("*.md")):
                docs.append(
                    load_document(path, course_root=root, course=course, max_bytes=1 << 24)
                )
    return docs


def window_starts(text: str, stride: int) -> list[int]:
    """Window starts every ``stride`` characters, moved forward to the start of a word."""
    starts = []
    for i in range(0, max(1, len(text) - WINDOW_CHARS + 1), stride):
        if i > 0:
            space = _SPACE.search(text, i - 1)
            i = space.end() if space else i
        if not starts or i > starts[-1]:
            starts.append(i)
    return starts


def window_documents(sources: list[LoadedDocument], stride: int) -> list[LoadedDocument]:
    """One document per window; it keeps its source's metadata (course, title, lang...)."""
    docs = []
    for src in sources:
        for start in window_starts(src.text, stride):
            text = src.text[start : start + WINDOW_CHARS]
            docs.append(
                replace(
                    src,
                    doc_id=f"{src.doc_id}@{start}",
                    text=text,
                    content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    size_bytes=len(text.encode("utf-8")),
                    line_offset=src.line_offset + src.text.count("\n", 0, start),
                )
            )
    return docs


def plan_corpus(target_chunks: int, chunk_size: int) -> tuple[list[LoadedDocument], int, int]:
    """Choose a window stride that gives at least ``target_chunks`` chunks, barely more.

    Returns (window documents, stride, chunk count). Chunking is cheap, so the stride is
    found by trying: a guess from the chunks per window, then smaller strides until enough.
    """
    sources = source_documents()
    positions = sum(max(1, len(s.text) - WINDOW_CHARS) for s in sources)

    def count(docs: list[LoadedDocument]) -> int:
        return sum(len(chunk_document(d, chunk_size=chunk_size)) for d in docs)

    stride = max(1, positions // target_chunks)
    docs = window_documents(sources, stride)
    per_window = count(docs) / len(docs)
    stride = max(1, int(stride * per_window) + 1)
    while True:
        docs = window_documents(sources, stride)
        n_chunks = count(docs)
        if n_chunks >= target_chunks or stride == 1:
            return docs, stride, n_chunks
        stride -= 1


# --- building (cached) --------------------------------------------------------------------
def kb_dir_for(chunks: int) -> Path:
    label = f"{chunks // 1000}k" if chunks % 1000 == 0 else str(chunks)
    return OUT_DIR / f"kb{label}"


def open_kb(data_dir: Path) -> KnowledgeBase:
    """The default settings, with the data dir pointing at the benchmark's own folder."""
    config = Settings(data_dir=data_dir).knowledge_config()
    return build_knowledge_base(config)


def prepare_batch(kb: KnowledgeBase, docs: list[LoadedDocument]) -> list[PreparedDocument]:
    """``kb.prepare`` for many documents, with one embedding call for all their chunks."""
    chunked = [chunk_document(d, chunk_size=kb.chunk_size) for d in docs]
    flat = [c for chunks in chunked for c in chunks]
    vectors = kb.embed_chunks(flat)
    sentences = kb.embed_chunk_sentences(flat)
    prepared, at = [], 0
    for doc, chunks in zip(docs, chunked, strict=True):
        tokens = kb.tokenizer.tokenize_many([c.index_text for c in chunks])
        end = at + len(chunks)
        prepared.append(
            PreparedDocument(
                doc,
                chunks,
                tokens,
                vectors[at:end],
                sentence_vectors=None if sentences is None else sentences[at:end],
            )
        )
        at = end
    return prepared


def cache_problems(kb: KnowledgeBase, target_chunks: int) -> list[str]:
    """Why the cached KB cannot be used as it is (empty list: it can)."""
    problems = [p.kind for p in kb.check()]
    n_chunks = kb.registry.counts()[1]
    if n_chunks < target_chunks:
        problems.append(f"only {n_chunks} chunks")
    return problems


def build(kb: KnowledgeBase, target_chunks: int, manifest_path: Path) -> dict:
    """Write the window documents that the KB does not hold yet (so a build can resume)."""
    started = time.perf_counter()
    docs, stride, n_chunks = plan_corpus(target_chunks, kb.chunk_size)
    log(f"corpus: {len(docs)} windows of {WINDOW_CHARS} chars, stride {stride}, {n_chunks} chunks")
    known = {r.doc_id: (r.content_hash, r.status) for r in kb.registry.list()}
    wanted = {d.doc_id for d in docs}
    for doc_id in sorted(set(known) - wanted):  # left by an earlier plan
        kb.remove(doc_id)
    todo = [d for d in docs if known.get(d.doc_id) != (d.content_hash, "ready")]
    log(f"{len(docs) - len(todo)} windows already in the KB, {len(todo)} to embed and write")
    for i in range(0, len(todo), EMBED_BATCH_DOCS):
        for prepared in prepare_batch(kb, todo[i : i + EMBED_BATCH_DOCS]):
            kb.write(prepared)
        done = min(i + EMBED_BATCH_DOCS, len(todo))
        if done % (EMBED_BATCH_DOCS * 10) == 0 or done == len(todo):
            elapsed = time.perf_counter() - started
            log(f"  {done}/{len(todo)} windows written ({elapsed:.0f} s)")
    kb.refresh_lexical()
    problems = kb.check()
    if problems:
        log(f"repairing: {[p.kind for p in problems]}")
        kb.repair(problems)
    seconds = time.perf_counter() - started
    manifest = _read_manifest(manifest_path)
    manifest.setdefault("sessions", []).append(
        {"seconds": round(seconds, 1), "windows_written": len(todo), "at": time.ctime()}
    )
    manifest.update(
        windows=len(docs),
        stride=stride,
        window_chars=WINDOW_CHARS,
        chunks=kb.registry.counts()[1],
        build_seconds=round(sum(s["seconds"] for s in manifest["sessions"]), 1),
    )
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def ensure_kb(target_chunks: int) -> tuple[KnowledgeBase, dict, bool]:
    """Open the cached KB, building (or finishing) it first when it is not usable."""
    data_dir = kb_dir_for(target_chunks)
    manifest_path = data_dir / "bench-build.json"
    kb = open_kb(data_dir)
    problems = cache_problems(kb, target_chunks)
    if not problems:
        log(f"reusing cached KB at {data_dir}")
        return kb, _read_manifest(manifest_path), False
    log(f"building KB at {data_dir} ({', '.join(problems)}); embedding takes a while")
    manifest = build(kb, target_chunks, manifest_path)
    log(f"KB built in {manifest['sessions'][-1]['seconds']:.0f} s")
    return kb, manifest, True


# --- queries ------------------------------------------------------------------------------
def load_queries(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(question, course) pairs: every quiz question of both courses, shuffled, cycled to n."""
    pool = []
    for root in course_roots():
        course = course_id_for(root, None)
        items, _ = read_quiz(root / "quiz.jsonl")
        pool += [(item.question, course) for item in items]
    random.Random(seed).shuffle(pool)
    return [pool[i % len(pool)] for i in range(n)]


# --- measuring ----------------------------------------------------------------------------
def _timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - t0, value


def dense_only(kb: KnowledgeBase, query: str, *, k: int, where: SearchFilter | None = None):
    """The baseline: embed the query, take Chroma's top-k."""
    return kb.vectors.search(kb.embed_query(query), k=k, where=where)


def without_sentences(kb: KnowledgeBase) -> HybridRetriever:
    """The knowledge base's retriever with sentence evidence off (same indexes)."""
    r = kb.retriever
    return HybridRetriever(
        embed_query=kb.embed_query,
        vectors=kb.vectors,
        lexical=kb.lexical,
        tokenizer=kb.tokenizer,
        hydrate=kb.registry.chunks,
        params=replace(r.params, sentence_weight=0.0),
    )


def sentence_scores(kb: KnowledgeBase, query: str, vector, pool: list[str]):
    """The sentence evidence stage: the pool's stored sentences read and scored."""
    if kb.sentences is None:
        return []
    return best_sentence_scores(
        kb.sentence_query(query, vector), kb.registry.sentence_vectors(pool)
    )


def measure(kb: KnowledgeBase, queries: list[tuple[str, str]]) -> dict[str, list[float]]:
    """Per query: full searches (ours, ours without sentence evidence, baseline) and each
    search stage on its own."""
    n = kb.retriever.params.candidates
    k = 5
    times: dict[str, list[float]] = {}
    plain = without_sentences(kb)

    def search_plain(q: str, **kwargs):
        kb.refresh_lexical()  # as kb.search does
        return plain.search(q, **kwargs)

    def record(name: str, fn: Callable, *args, **kwargs):
        seconds, value = _timed(fn, *args, **kwargs)
        times.setdefault(name, []).append(seconds)
        return value

    for q, course in queries:
        where = SearchFilter(course=course)
        # Full operations, ours and the baseline interleaved so load spikes hit both alike.
        record("ours_filtered", kb.search, q, k=k, where=where)
        record("plain_filtered", search_plain, q, k=k, where=where)
        record("base_filtered", dense_only, kb, q, k=k, where=where)
        record("ours_unfiltered", kb.search, q, k=k)
        record("base_unfiltered", dense_only, kb, q, k=k)
        # The stages of one filtered search, measured separately.
        record("generation_check", kb.refresh_lexical)
        vec = record("embed", kb.embed_query, q)
        # As the retriever asks: candidates filtered by the lexical index's metadata.
        default = SearchFilter()
        dense = record(
            "dense", kb.vectors.search, vec, k=n, where=where,
            accepts=lambda ids, w=where: kb.lexical.accepts(ids, w),
        )  # fmt: skip
        record(
            "dense_unfiltered", kb.vectors.search, vec, k=n, where=default,
            accepts=lambda ids, w=default: kb.lexical.accepts(ids, w),
        )  # fmt: skip
        tokens = record("tokenize", kb.tokenizer.tokenize, q)
        lexical = record("bm25", kb.lexical.search, tokens, k=n, where=where)
        pool = list(dict.fromkeys(cid for cid, _ in [*dense, *lexical]))
        record("sentences", sentence_scores, kb, q, vec, pool)
        record("bm25_unfiltered", kb.lexical.search, tokens, k=n, where=SearchFilter())
        top = [cid for cid, _ in dense[: k + 10]]  # the retriever hydrates k + 10 ids
        record("hydrate", kb.registry.chunks, top)
    return times


BREAKDOWN = [
    ("generation_check", "registry state check (refresh_lexical)"),
    ("embed", "query embedding"),
    ("dense", "dense top-{n}, course filter"),
    ("dense_unfiltered", "dense top-{n}, default filter"),
    ("tokenize", "query tokenization"),
    ("bm25", "BM25 top-{n}, course filter"),
    ("bm25_unfiltered", "BM25 top-{n}, default filter"),
    ("sentences", "sentence evidence (read + score the pool)"),
    ("hydrate", "hydration of 15 chunks (registry)"),
]


def run(chunks: int = DEFAULT_CHUNKS, queries: int = DEFAULT_QUERIES) -> dict:
    kb, manifest, built = ensure_kb(chunks)
    n_docs, n_chunks = kb.registry.counts()
    log("loading models and warming up")
    load_s, _ = _timed(kb.search, "warm up", k=5)
    # Kiwi loads its Korean model on the first Korean text: keep that out of the timings.
    korean_s, _ = _timed(kb.search, "리스트를 정렬하는 방법", k=5)
    all_queries = load_queries(WARMUP_QUERIES + queries)
    measure(kb, all_queries[:WARMUP_QUERIES])
    log(f"timing {queries} queries")
    times = measure(kb, all_queries[WARMUP_QUERIES:])
    stats = {name: percentiles_ms(values) for name, values in times.items()}

    rows = []
    for mode, label in (("filtered", "course filter"), ("unfiltered", "no course filter")):
        ours, base = stats[f"ours_{mode}"], stats[f"base_{mode}"]
        for p in ("p50", "p95", "p99"):
            target = f"p95 <= {TARGET_P95_MS:g} ms" if p == "p95" else ""
            rows.append(row(f"search, {label}, {p}", ours[p], base[p], unit="ms", target=target))
    sessions = manifest.get("sessions", [])
    embedded_now = built and sessions[-1]["windows_written"] > 0
    loaded = "models loaded by the build" if embedded_now else "incl. model load"
    build_note = (
        f"KB build time {manifest.get('build_seconds', '?')} s in {len(sessions)} session(s) "
        f"({manifest.get('windows', '?')} windows, stride {manifest.get('stride', '?')}); "
    )
    if built:
        build_note += (
            f"this run built: {sessions[-1]['seconds']} s, "
            f"{sessions[-1]['windows_written']} windows written"
        )
    else:
        build_note += "this run reused the cache"
    n = kb.retriever.params.candidates
    notes = [
        f"{n_chunks} chunks in {n_docs} documents; embedding {kb.embeddings.name}; "
        f"{queries} queries (+{WARMUP_QUERIES} warm-up), k=5",
        "without a course filter kb.search still applies its default filter (no solutions); "
        "the baseline then has no filter at all",
        build_note,
        f"first search ({loaded}): {load_s * 1000:.0f} ms; "
        f"first Korean search: {korean_s * 1000:.0f} ms",
        "dense stages: Chroma's unfiltered top 4n, kept by the lexical index's metadata",
        "ours with sentence evidence off, same KB, interleaved (course filter): "
        + " / ".join(f"{p} {stats['plain_filtered'][p]:.1f}" for p in ("p50", "p95", "p99"))
        + " ms",
        f"{'breakdown, each stage timed on its own (ms)':<46}{'p50':>9}{'p95':>9}{'p99':>9}",
    ]
    for key, label in BREAKDOWN:
        s = stats[key]
        notes.append(
            f"  {label.format(n=n):<44}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['p99']:>9.2f}"
        )
    return {
        "name": NAME,
        "title": f"search latency, {n_chunks} chunks, model loaded",
        "baseline_name": "dense-only",
        "baseline_desc": "embed query + Chroma top-k (kb.vectors.search), same index, "
        "same course filter",
        "rows": rows,
        "notes": notes,
        "details": {
            "chunks": n_chunks,
            "documents": n_docs,
            "embedding": kb.embeddings.name,
            "queries": queries,
            "built_in_this_run": built,
            "build": manifest,
            "first_search_ms": round(load_s * 1000, 1),
            "first_korean_search_ms": round(korean_s * 1000, 1),
            "stats_ms": stats,
        },
    }


if __name__ == "__main__":
    print(format_table(run()))

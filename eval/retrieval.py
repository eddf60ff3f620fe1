"""The retrieval benchmark: ours vs named baselines on a course benchmark folder.

Every quiz question (its text only) is asked; a pipeline's chunk hits become a ranked list
of lesson ids, scored against the question's ``lesson_id`` with hit@1, hit@5 and MRR@10.
Questions whose lesson is missing from the knowledge base (e.g. a lesson with no Korean
version) are left out and counted in ``skipped``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from eval.baselines import LangChainDefaultRetriever, PlainBM25Retriever, read_sources
from eval.datasets import load_course_benchmark
from eval.metrics.retrieval import dedupe, hit_at_k, percentile, reciprocal_rank
from knowledge.config import KnowledgeConfig
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.retrieval import FusionParams
from knowledge.types import SearchFilter

PIPELINES = ("ours", "langchain-default", "bm25")


def score_pipeline(
    rank: Callable[[str], list[str]], questions: list[tuple[str, str]]
) -> dict[str, float]:
    """hit@1, hit@5, mrr@10 and latency percentiles of ``rank`` over (question, gold) pairs."""
    hits1 = hits5 = rr = 0.0
    latencies = []
    for question, gold in questions:
        started = time.perf_counter()
        ranked = dedupe(rank(question))
        latencies.append((time.perf_counter() - started) * 1000)
        hits1 += hit_at_k(ranked, {gold}, 1)
        hits5 += hit_at_k(ranked, {gold}, 5)
        rr += reciprocal_rank(ranked, {gold}, 10)
    n = max(len(questions), 1)
    return {
        "hit@1": round(hits1 / n, 4),
        "hit@5": round(hits5 / n, 4),
        "mrr@10": round(rr / n, 4),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }


def run_retrieval_benchmark(
    course_dir: Path,
    *,
    kb_lang: str = "en",
    config: KnowledgeConfig | None = None,
    fusion: FusionParams | None = None,
    pipelines: tuple[str, ...] = PIPELINES,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the benchmark; returns the JSON-ready result (stable keys, see README)."""
    bench = load_course_benchmark(course_dir, kb_lang=kb_lang)
    sources = read_sources(bench.lessons_dir)
    questions = [(q.question, q.lesson_id) for q in bench.items if q.lesson_id in sources]
    result: dict = {
        "course": bench.name,
        "kb_lang": kb_lang,
        "questions": len(questions),
        "skipped": len(bench.items) - len(questions),
        "problems": bench.problems,
        "pipelines": {},
    }
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="kdt-bench-") as tmp:
        if "ours" in pipelines:
            base = config or KnowledgeConfig(data_dir=Path(tmp), database_url="")
            cfg = replace(
                base,
                data_dir=Path(tmp),
                database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                chroma_url=None,
            )
            say(f"ours: ingesting {bench.lessons_dir}")
            kb = build_knowledge_base(cfg, fusion=fusion)
            ingest_path(kb, bench.lessons_dir, course=bench.name)
            kb.search("warm up")
            where = SearchFilter(course=bench.name)
            say("ours: asking")
            result["pipelines"]["ours"] = score_pipeline(
                lambda q: [s.chunk.lesson_id for s in kb.search(q, k=30, where=where)], questions
            )
        if "langchain-default" in pipelines:
            say("langchain-default: indexing")
            lc = LangChainDefaultRetriever(sources)
            lc.rank("warm up")
            result["pipelines"]["langchain-default"] = score_pipeline(lc.rank, questions)
        if "bm25" in pipelines:
            say("bm25: indexing")
            bm25 = PlainBM25Retriever(sources)
            result["pipelines"]["bm25"] = score_pipeline(bm25.rank, questions)
    return result


def format_table(result: dict) -> str:
    """The benchmark as a plain-text table, with each pipeline's ratio to the LangChain default."""
    header = f"{'pipeline':<20}{'hit@1':>8}{'hit@5':>8}{'mrr@10':>8}{'p50 ms':>9}{'p95 ms':>9}"
    lines = [
        f"course {result['course']}  kb_lang {result['kb_lang']}  questions {result['questions']}"
        + (f"  (skipped {result['skipped']}: gold lesson not in KB)" if result["skipped"] else ""),
        header,
        "-" * len(header),
    ]
    for name, m in result["pipelines"].items():
        lines.append(
            f"{name:<20}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}{m['mrr@10']:>8.3f}"
            f"{m['p50_ms']:>9.1f}{m['p95_ms']:>9.1f}"
        )
    base = result["pipelines"].get("langchain-default")
    ours = result["pipelines"].get("ours")
    if base and ours and base["mrr@10"]:
        lines.append(
            f"ours / langchain-default: hit@1 x{ours['hit@1'] / max(base['hit@1'], 1e-9):.2f}, "
            f"mrr@10 x{ours['mrr@10'] / base['mrr@10']:.2f}"
        )
    return "\n".join(lines)

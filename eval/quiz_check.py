"""Quiz check: does the offline answerer cite the right lesson first?

For every quiz question of a course benchmark folder (DESIGN.md), retrieve k=5 passages
from the course, answer with ``ExtractiveAnswerer`` (level 2, English), and compare the
lesson of the answer's first citation (the first ``[n]`` in the text, outside code) with
the question's ``lesson_id``. Retrieval hit@1 (the lesson of the top passage) is reported
beside it: the answerer's own unit scoring should beat it. ``p50_ms``/``p95_ms`` time the
answer alone, on top of retrieval (``retrieval_p50_ms`` times the search).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from eval.datasets import load_course_benchmark
from eval.metrics.retrieval import percentile
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import CachedEmbedding, build_embeddings
from knowledge.embeddings import answer_embedding as product_answer_embedding
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.types import SearchFilter
from tutor.chat.answering import AnswerRequest, LearnerContext, answer_text
from tutor.chat.extractive import ExtractiveAnswerer

K = 5
_FENCED = re.compile(r"```.*?```", re.S)
_INLINE = re.compile(r"`[^`\n]*`")
_MARKER = re.compile(r"(?:^|\s)\[(\d+)\](?=\s|$)")


def first_citation(text: str) -> int | None:
    """The number of the first ``[n]`` marker of an answer, ignoring code."""
    match = _MARKER.search(_INLINE.sub("", _FENCED.sub("", text)))
    return int(match.group(1)) if match else None


def run_quiz_check(
    course_dir: Path,
    *,
    kb_lang: str = "en",
    config: KnowledgeConfig,
    answer_embedding: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the check on a course benchmark folder; returns the JSON-ready result.

    ``answer_embedding`` names another embedding model for the answerer's unit scoring
    (e.g. ``hybrid``: slower, slightly better); by default the product's choice is used
    (``knowledge.embeddings.answer_embedding``: the USE half of the KB's hybrid model).
    """
    bench = load_course_benchmark(course_dir, kb_lang=kb_lang)
    lessons = {p.stem for p in bench.lessons_dir.glob("*.md")}
    items = [q for q in bench.items if q.lesson_id in lessons]
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="kdt-quiz-") as tmp:
        cfg = replace(
            config,
            data_dir=Path(tmp),
            database_url=f"sqlite:///{Path(tmp) / 'quiz.db'}",
            chroma_url=None,
        )
        say(f"ingesting {bench.lessons_dir}")
        kb = build_knowledge_base(cfg)
        ingest_path(kb, bench.lessons_dir, course=bench.name)
        scorer = CachedEmbedding(
            build_embeddings(answer_embedding)
            if answer_embedding
            else product_answer_embedding(kb.embeddings)
        )
        answerer = ExtractiveAnswerer(embed=scorer.embed_array, tokenizer=kb.tokenizer)
        where = SearchFilter(course=bench.name)
        kb.search("warm up", k=K, where=where)
        say(f"asking {len(items)} questions")
        first_hits = top_hits = 0
        answer_ms: list[float] = []
        search_ms: list[float] = []
        for item in items:
            started = time.perf_counter()
            hits = kb.search(item.question, k=K, where=where)
            searched = time.perf_counter()
            request = AnswerRequest(
                question=item.question,
                passages=hits,
                lang="en",
                learner=LearnerContext(level=2),
            )
            answer = answer_text(answerer.stream(request))
            answer_ms.append((time.perf_counter() - searched) * 1000)
            search_ms.append((searched - started) * 1000)
            if hits and hits[0].chunk.lesson_id == item.lesson_id:
                top_hits += 1
            n = first_citation(answer.text)
            if (
                n is not None
                and 1 <= n <= len(hits)
                and hits[n - 1].chunk.lesson_id == (item.lesson_id)
            ):
                first_hits += 1
    total = max(len(items), 1)
    return {
        "course": bench.name,
        "kb_lang": kb_lang,
        "embedding": config.embedding,
        "answer_embedding": answer_embedding or config.embedding,
        "questions": len(items),
        "skipped": len(bench.items) - len(items),
        "first_citation_accuracy": round(first_hits / total, 4),
        "retrieval_hit@1": round(top_hits / total, 4),
        "p50_ms": round(percentile(answer_ms, 50), 2),
        "p95_ms": round(percentile(answer_ms, 95), 2),
        "retrieval_p50_ms": round(percentile(search_ms, 50), 2),
    }


def format_quiz_check(result: dict) -> str:
    """The quiz check as a small plain-text table."""
    header = f"{'questions':>10}{'first cite':>12}{'hit@1':>8}{'p50 ms':>9}{'p95 ms':>9}"
    row = (
        f"{result['questions']:>10}{result['first_citation_accuracy']:>12.3f}"
        f"{result['retrieval_hit@1']:>8.3f}{result['p50_ms']:>9.1f}{result['p95_ms']:>9.1f}"
    )
    title = (
        f"quiz check: course {result.get('course', '?')}  kb_lang {result.get('kb_lang', '?')}"
        f"  answer embedding {result.get('answer_embedding', '?')}"
    )
    note = "first cite = lesson of the answer's first [n]; hit@1 = lesson of the top passage;"
    note += " ms = answer time on top of retrieval"
    return "\n".join([title, header, "-" * len(header), row, note])

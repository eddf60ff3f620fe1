"""The eval runner: ask every dataset item through the product, score it, build report.json.

For each item of a dataset (``eval/datasets.py``):

1. **The product's reply**: ``ChatService.reply`` runs the real policy (retrieval with the
   course filter, level preference, hint mode for exercises, "not covered" below the
   coverage threshold, solutions withheld) and the configured answerer, nothing stored.
   Its wall time is the item's latency.
2. **Retrieval** on its own (k=10, same filter) for hit@k, MRR, nDCG and context
   precision/recall against the item's gold sources.
3. **Multiple choice** when the item has options: the tutor searches with the question
   and its options and picks one from those passages (``tutor/chat/multiple_choice.py``:
   evidence scoring offline, the model's choice with an LLM).
4. **Metrics** (``eval/metrics/``): answer correctness on the bare answer, citation
   accuracy, groundedness of the answer in the passages it cites, solution leakage for
   exercise items, expected mode (answer / hint / not covered), language, length and
   reading level for the level, latency; LLM-judged metrics when a judge is configured.
5. **Baselines** in the same run: ``naive-langchain``, the LangChain default retrieval
   (``RecursiveCharacterTextSplitter(1000, 200)`` + Chroma + MiniLM top-k) over the same
   lesson files, and the naive option scorer on its top 5 chunks; ``extractive-v1``, the
   offline answerer's composition before issue 12 (``eval/extractive_v1.py``) answering
   the product's own request for the item (same retrieval, mode and passages), scored with
   the answer metrics (correctness, lead, focus, citations, groundedness).

The summary aggregates each metric of ``eval/metrics/catalog.py`` over the items where it
applies. ``eval/report_files.py`` writes report.json and report.html atomically.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval.datasets import EvalDataset, EvalItem, gold_matches
from eval.extractive_v1 import DESCRIPTION as ANSWER_BASELINE_DESCRIPTION
from eval.extractive_v1 import NAME as ANSWER_BASELINE
from eval.extractive_v1 import ExtractiveV1Answerer
from eval.metrics import catalog
from eval.metrics.choice import chance, choice_accuracy
from eval.metrics.citations import citation_accuracy
from eval.metrics.correctness import answer_correctness
from eval.metrics.focus import focus, focus_target
from eval.metrics.groundedness import groundedness
from eval.metrics.lead import lead
from eval.metrics.leakage import solution_leakage
from eval.metrics.retrieval import percentile, retrieval_scores
from eval.metrics.score import Score, not_applicable
from eval.metrics.style import answer_length, language_match, latency, reading_level
from knowledge.embeddings import minilm_embedding
from knowledge.ingest import course_id_for, ingest_path
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import ScoredChunk, SearchFilter
from tutor.chat.answering import Answer, Answerer, LearnerContext, answer_text
from tutor.chat.extractive import place_label
from tutor.chat.multiple_choice import EvidenceOptionPicker, OptionPicker, search_text
from tutor.chat.service import ChatService
from tutor.services import build_services
from tutor.settings import Settings

RETRIEVAL_K = 10
BASELINE = "naive-langchain"
BASELINE_DESCRIPTION = (
    "LangChain default retrieval (RecursiveCharacterTextSplitter(1000, 200) + Chroma + "
    "all-MiniLM-L6-v2, top 5) and the naive option scorer (the option whose 'question + "
    "option' embedding is closest to a sentence of those chunks)"
)
DEFAULT_LEVEL = 2
# Query vectors the KB remembers: an item's reply embeds its question, and the retrieval
# check searches the same question again (the cache is emptied before each reply, so every
# reply is timed with its own query embedding).
QUERY_CACHE = 4

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    answerer: str = "extractive"  # "extractive" | "llm"
    level: int | None = None  # every item at this level; default: the item's level, else 2
    k: int = 5
    baselines: bool = True
    kb_lang: str | None = None  # course folders: "ko" answers from lessons-ko/ only


@dataclass
class EvalSetup:
    """What a run needs, built once: the knowledge base, the product's chat service, the
    option picker, the similarity model for metrics, the baseline and an optional judge."""

    kb: KnowledgeBase
    service: ChatService
    picker: OptionPicker
    similarity: Callable[[list[str], list[str]], np.ndarray]
    course: str | None
    kb_source: str
    baseline: Any = None  # (LangChainDefaultRetriever, NaiveOptionPicker) or None
    timings: dict[str, float] = field(default_factory=dict)  # set-up stages, seconds
    judge: Any = None  # eval.judge.LLMJudge or None
    options: RunOptions = field(default_factory=RunOptions)
    answer_baseline: Answerer | None = None  # extractive-v1, asked the product's request


# --- setting up ---------------------------------------------------------------------------
@contextmanager
def prepared(
    *,
    settings: Settings,
    dataset: EvalDataset,
    course_dir: Path | None,
    course: str | None,
    options: RunOptions,
    judge: Any = None,
    progress: Progress | None = None,
) -> Iterator[EvalSetup]:
    """Build the run's components; with a course folder, in a temporary knowledge base.

    ``course_dir`` (or the dataset itself when it is a course folder) is ingested into a
    fresh KB under a temporary data dir, so a run never touches the configured one.
    Without a folder the configured KB is used, filtered to ``course``. Either way the
    knowledge base and the chat service come from ``build_services``, as in the product,
    with the run's answerer (``options.answerer``) and passages per answer (``options.k``).
    """
    from threadpoolctl import threadpool_limits

    say = progress or (lambda _m: None)
    folder = course_dir or (dataset.path if dataset.path.is_dir() else None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    # One BLAS thread for the run, as in `kdt-tutor serve`: torch (MiniLM) has its own
    # OpenMP threads, and idle OpenBLAS workers spin on the cores it needs; numpy work here
    # (USE, fusion) is in small pieces that a second BLAS thread barely speeds up.
    # Measured: USE over the 660 chunks of ML-For-Beginners 10-12 s with one thread,
    # 49 s with two at load ~3.5 (bench/RESULTS.md).
    with (
        threadpool_limits(limits=1, user_api="blas"),
        tempfile.TemporaryDirectory(prefix="kdt-eval-") as tmp,
    ):
        lessons: list[Path] = []
        run_settings = settings.model_copy(
            update={
                "answerer": "openai" if options.answerer == "llm" else "extractive",
                "chat_k": options.k,
            }
        )
        if folder is not None:
            folder = Path(folder)
            run_settings = run_settings.model_copy(
                update={
                    "data_dir": Path(tmp),
                    "database_url": f"sqlite:///{Path(tmp) / 'eval.db'}",
                    "chroma_url": None,
                }
            )
        services = build_services(run_settings, query_cache=QUERY_CACHE)
        kb = services.kb
        if folder is not None:
            lessons = _lesson_dirs(folder, options.kb_lang)
            if (folder / "course.yaml").is_file():
                course = course_id_for(folder, course)
                targets = [folder]
            else:  # the benchmark format: lesson folders only (no quiz answers in the KB)
                course = course or folder.name
                targets = lessons
            for target in targets:
                say(f"ingesting {target}")
                report = ingest_path(kb, target, course=course)
                if report.failed:
                    say(f"{len(report.failed)} file(s) failed to ingest: {report.failed[0]}")
            kb_source = str(folder)
        else:
            kb_source = f"configured knowledge base ({run_settings.resolved_database_url})"
        timings["ingest_s"] = round(time.perf_counter() - started, 1)
        scorer = services.answer_embedding  # the answerer's, with its cache
        service = services.chat
        chat_model = getattr(service.answerer, "chat_model", None)
        picker: OptionPicker
        if options.answerer == "llm" and chat_model is not None:
            from tutor.chat.multiple_choice import LLMOptionPicker

            picker = LLMOptionPicker(chat_model)
        else:
            picker = EvidenceOptionPicker(embed=scorer.embed_array, tokenizer=kb.tokenizer)

        def similarity(a: list[str], b: list[str]) -> np.ndarray:
            if not a or not b:
                return np.zeros((len(a), len(b)), dtype=np.float32)
            return scorer.embed_array(list(a)) @ scorer.embed_array(list(b)).T

        baseline = None
        if options.baselines and lessons:
            say("building the LangChain default baseline")
            mark = time.perf_counter()
            baseline = _build_baseline(lessons, minilm_embedding(kb.embeddings))
            timings["baseline_build_s"] = round(time.perf_counter() - mark, 1)
        answer_baseline = None
        if options.baselines:
            answer_baseline = ExtractiveV1Answerer(
                embed=scorer.embed_array, tokenizer=kb.tokenizer
            )
        kb.search("warm up 준비", k=1)
        try:
            yield EvalSetup(
                kb=kb,
                service=service,
                picker=picker,
                similarity=similarity,
                course=course,
                kb_source=kb_source,
                baseline=baseline,
                judge=judge,
                options=options,
                timings=timings,
                answer_baseline=answer_baseline,
            )
        finally:
            services.close()  # before the temporary data dir goes


def _lesson_dirs(folder: Path, kb_lang: str | None) -> list[Path]:
    names = {"en": ["lessons"], "ko": ["lessons-ko"]}.get(kb_lang or "", ["lessons", "lessons-ko"])
    if kb_lang is None and not (folder / "course.yaml").is_file():
        names = ["lessons"]  # benchmark folders: the English lessons, like the quiz
    return [folder / n for n in names if (folder / n).is_dir()]


def _build_baseline(lessons: list[Path], minilm):
    """The baseline's retriever and option scorer, on ``minilm`` (the KB's MiniLM model
    when it has one: the same weights, loaded once)."""
    from eval.baselines import LangChainDefaultRetriever, NaiveOptionPicker, read_sources

    sources: dict[str, str] = {}
    for folder in lessons:
        for stem, text in read_sources(folder).items():
            sources[f"{folder.name}/{stem}"] = text
    retriever = LangChainDefaultRetriever(sources, k=RETRIEVAL_K, embeddings=minilm)
    return retriever, NaiveOptionPicker(embed=minilm.embed_array)


# --- one item -----------------------------------------------------------------------------
def source_of(hit: ScoredChunk) -> str:
    """The id a gold source is compared with: the lesson id, else the document id."""
    return hit.chunk.lesson_id or hit.chunk.doc_id


def _gold(item: EvalItem, hits: list[ScoredChunk]) -> tuple[list[str], set[str]]:
    """Ranked sources as gold-comparable ids: a hit matching a gold id is named by it."""
    ranked = []
    for hit in hits:
        match = next(
            (
                g
                for g in item.gold_sources
                if gold_matches(g, lesson_id=hit.chunk.lesson_id or "", doc_id=hit.chunk.doc_id)
            ),
            None,
        )
        ranked.append(match or source_of(hit))
    return ranked, set(item.gold_sources)


def _expect_score(item: EvalItem, mode: str) -> Score:
    if item.expect == "not_covered":
        ok = mode == "not_covered"
        why = "said the course does not cover it" if ok else f"answered in mode {mode!r}"
    elif item.expect == "hint":
        ok = mode == "hint"
        why = "gave hints (exercise)" if ok else f"mode {mode!r} for an exercise question"
    else:
        ok = mode != "not_covered"
        why = f"answered (mode {mode})" if ok else "said 'not covered' for an in-course question"
    return Score(1.0 if ok else 0.0, why)


def evaluate_item(setup: EvalSetup, item: EvalItem) -> dict[str, Any]:
    """Run one item through the product and score it; the report's item record."""
    level = setup.options.level or item.level or DEFAULT_LEVEL
    learner = LearnerContext(level=level)
    setup.kb.forget_queries()
    started = time.perf_counter()
    decision, answer = setup.service.reply(
        item.question, course=setup.course, lang=item.lang, learner=learner
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    passages = decision.request.passages
    metrics: dict[str, Score] = {}

    where = SearchFilter(course=setup.course)
    retrieved = setup.kb.search(item.question, k=RETRIEVAL_K, where=where)
    ranked, gold = _gold(item, retrieved)
    if gold:
        metrics.update(retrieval_scores(ranked, gold))

    picked = None
    if item.is_mcq:
        # The tutor sees the options: it searches with them (tutor/chat/multiple_choice.py).
        passages_for_choice = setup.kb.search(
            search_text(item.question, item.options), k=setup.options.k, where=where
        )
        choice = setup.picker.pick(item.question, list(item.options), passages_for_choice)
        picked = choice.index
        metrics["mcq"] = choice_accuracy(picked, item.answer_index, len(item.options))
        metrics["mcq_chance"] = chance(len(item.options))

    cited = _cited_sources(item, answer, passages)
    metrics.update(_answer_metrics(setup, item, answer, passages, cited))
    if item.exercise_id:
        metrics["solution_leak"] = solution_leakage(
            answer.text,
            list(setup.service.solution_texts(item.exercise_id)),
            setup.similarity,
            public=list(setup.service.exercise_texts(item.exercise_id)),
        )
    metrics["not_covered"] = _expect_score(item, answer.mode)
    metrics["language_match"] = language_match(answer.text, item.lang, notices=answer.notices)
    if answer.mode == "answer":
        metrics["length"] = answer_length(answer.text, level)
        metrics["reading_level"] = reading_level(answer.text, level)
    metrics["latency_ms"] = latency(elapsed_ms)
    if setup.judge is not None:
        metrics.update(
            setup.judge.judge(
                question=item.question,
                answer=answer.text,
                contexts=[p.chunk.text for p in passages],
                reference=item.reference,
            )
        )

    record: dict[str, Any] = {
        **item.to_dict(),
        "level": level,
        "contexts": [_context(n, p) for n, p in enumerate(passages, start=1)],
        "answer": answer.text,
        "mode": answer.mode,
        "answerer": answer.answerer,
        "notices": list(answer.notices),
        "cited_sources": cited,
        "retrieved_sources": ranked,
        "picked": picked,
        "latency_ms": round(elapsed_ms, 1),
        "metrics": {k: v.to_json() for k, v in metrics.items()},
    }
    baselines: dict[str, Any] = {}
    if setup.baseline is not None:
        baselines[BASELINE] = _baseline_item(setup, item)
    if setup.answer_baseline is not None:
        baselines[ANSWER_BASELINE] = _answer_baseline_item(setup, item, decision.request)
    if baselines:
        record["baselines"] = baselines
    return record


def _answer_metrics(
    setup: EvalSetup,
    item: EvalItem,
    answer: Answer,
    passages: list[ScoredChunk],
    cited: list[str],
) -> dict[str, Score]:
    """The metrics of an answer's text (ours and the ``extractive-v1`` baseline's alike):
    correctness and lead (multiple choice), citations, focus, groundedness."""
    metrics: dict[str, Score] = {}
    skip = [*answer.notices, *(place_label(p) for p in passages)]
    if item.is_mcq and item.expect == "answer":
        options = list(item.options)
        metrics["answer_correctness"] = answer_correctness(
            answer.text, options, item.answer_index, setup.similarity
        )
        metrics["lead"] = lead(
            answer.text, options, item.answer_index, setup.similarity, skip=skip
        )
    if item.gold_sources and item.expect == "answer":
        metrics["citation_accuracy"] = citation_accuracy(cited, set(item.gold_sources))
    if answer.mode == "not_covered":
        metrics["groundedness"] = not_applicable("a 'not covered' answer quotes no material")
        metrics["focus"] = not_applicable("a 'not covered' answer quotes no material")
        return metrics
    metrics["groundedness"] = groundedness(
        answer.text, [p.chunk.text for p in passages], setup.similarity, skip=skip
    )
    target = focus_target(
        item.question,
        reference=item.reference,
        options=list(item.options),
        answer_index=item.answer_index,
    )
    metrics["focus"] = focus(
        answer.text, item.question, setup.similarity, reference=target, skip=skip
    )
    return metrics


def _answer_baseline_item(setup: EvalSetup, item: EvalItem, request) -> dict[str, Any]:
    """``extractive-v1`` on the product's request for this item (not timed)."""
    answer = answer_text(setup.answer_baseline.stream(request))
    cited = _cited_sources(item, answer, request.passages)
    metrics = _answer_metrics(setup, item, answer, request.passages, cited)
    return {
        "answer": answer.text,
        "cited_sources": cited,
        "metrics": {k: v.to_json() for k, v in metrics.items()},
    }


def _cited_sources(item: EvalItem, answer: Answer, passages: list[ScoredChunk]) -> list[str]:
    by_chunk = {p.chunk.id: p for p in passages}
    cited: list[str] = []
    for citation in answer.citations:
        hit = by_chunk.get(citation.chunk_id)
        if hit is None:
            continue
        ranked, _ = _gold(item, [hit])
        if ranked[0] not in cited:
            cited.append(ranked[0])
    return cited


def _context(n: int, hit: ScoredChunk) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "n": n,
        "source": source_of(hit),
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "heading": " › ".join(chunk.heading_path),
        "text": chunk.text,
    }


def _prefetch_baseline(setup: EvalSetup, items: list[EvalItem]) -> None:
    """Embed what the baseline will need for every item in two batches (the questions,
    then the option statements and passage sentences of the multiple-choice items) instead
    of a few texts per item: the same vectors, without padding each item's short sentences
    to its longest one. Only the baseline's work: our items are timed as they come."""
    retriever, naive = setup.baseline
    retriever.prefetch(item.question for item in items)
    naive.prefetch(
        (item.question, list(item.options), retriever.texts(item.question, 5))
        for item in items
        if item.is_mcq
    )


def _baseline_item(setup: EvalSetup, item: EvalItem) -> dict[str, Any]:
    retriever, naive = setup.baseline
    metrics: dict[str, Score] = {}
    ranked_keys = retriever.rank(item.question)
    ranked = [
        next((g for g in item.gold_sources if gold_matches(g, doc_id=key)), key)
        for key in ranked_keys
    ]
    if item.gold_sources:
        metrics.update(retrieval_scores(ranked, set(item.gold_sources)))
    picked = None
    if item.is_mcq:
        texts = retriever.texts(item.question, 5)
        picked = naive.pick_from_texts(item.question, list(item.options), texts)
        metrics["mcq"] = choice_accuracy(picked, item.answer_index, len(item.options))
        metrics["mcq_chance"] = chance(len(item.options))
    return {"picked": picked, "metrics": {k: v.to_json() for k, v in metrics.items()}}


# --- the whole run -----------------------------------------------------------------------
def summarize(items: list[dict[str, Any]], *, baseline: str | None = None) -> dict[str, Any]:
    """Aggregate item metrics by the catalog (ours, or one baseline's)."""
    return summarize_by(items, (*catalog.METRICS, *catalog.JUDGE_METRICS), baseline=baseline)


def summarize_by(
    items: Sequence[dict[str, Any]],
    specs: Sequence[catalog.MetricSpec],
    *,
    baseline: str | None = None,
) -> dict[str, Any]:
    """Aggregate item metrics by ``specs`` (ours, or one baseline's), plus the item count; a
    metric no item has is left out."""
    summary: dict[str, Any] = {}
    for spec in specs:
        values = []
        for item in items:
            metrics = (
                item.get("baselines", {}).get(baseline, {}).get("metrics", {})
                if baseline
                else item.get("metrics", {})
            )
            value = metrics.get(spec.item_key, {}).get("value")
            if value is not None:
                values.append(float(value))
        if not values:
            continue
        if spec.aggregate == "mean":
            summary[spec.key] = round(sum(values) / len(values), 4)
        elif spec.aggregate == "sum":
            summary[spec.key] = round(sum(values), 4)
        else:
            summary[spec.key] = round(percentile(values, 50 if spec.aggregate == "p50" else 95), 1)
    summary["items"] = len(items)
    return summary


def run_eval(
    setup: EvalSetup,
    dataset: EvalDataset,
    *,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Evaluate every item; returns the report (schema 1, docs/evaluation.md)."""
    from tqdm import tqdm

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    items: list[dict[str, Any]] = []
    mark = time.perf_counter()
    if setup.baseline is not None:
        _prefetch_baseline(setup, dataset.items)
    for item in tqdm(
        dataset.items,
        desc="eval",
        unit="q",
        disable=not progress_bar,
        dynamic_ncols=True,
    ):
        items.append(evaluate_item(setup, item))
    report: dict[str, Any] = {
        "schema": 1,
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.path),
            "items": len(dataset.items),
            "problems": list(dataset.problems),
        },
        "config": {
            "answerer": items[0]["answerer"] if items else setup.options.answerer,
            "level": setup.options.level,
            "embedding": setup.kb.embeddings.name,
            "k": setup.options.k,
            "course": setup.course,
            "knowledge_base": setup.kb_source,
            "started_at": started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": _machine(),
            "judge": setup.judge.config.to_json() if setup.judge is not None else None,
        },
        "summary": summarize(items),
        "timings": {**setup.timings, "items_s": round(time.perf_counter() - mark, 1)},
        "baselines": {},
        "items": items,
    }
    if setup.baseline is not None:
        report["baselines"][BASELINE] = {
            "description": BASELINE_DESCRIPTION,
            "summary": summarize(items, baseline=BASELINE),
        }
    if setup.answer_baseline is not None:
        report["baselines"][ANSWER_BASELINE] = {
            "description": ANSWER_BASELINE_DESCRIPTION,
            "summary": summarize(items, baseline=ANSWER_BASELINE),
        }
    return report


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"

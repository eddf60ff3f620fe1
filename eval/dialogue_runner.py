"""Dialogue evaluation: every conversation through the real policy, turn by turn.

For each dialogue of a dialogue dataset (``eval/dialogue_datasets.py``) the chat service
answers each turn with the earlier turns as its history, exactly as the chat does:
``ChatService.reply(user, history=...)`` then ``decision.exchange(answer)`` appended to the
history (nothing is stored). Each turn is scored (``eval/metrics/``, one item per turn in
report.json):

- ``citation@turn1`` / ``citation@turn2`` / ``citation@turn3+``: the first citation is gold
  (turns expecting an answer, with gold sources), by turn position;
- ``topic_switch``: a turn whose gold kind is ``new`` after an earlier course turn: decided
  ``new`` and the first citation is gold;
- ``follow_up``: a turn whose gold kind is ``follow_up``: the first citation is gold;
- ``expected_mode``: the mode is the expected one (answer, hint, not covered, small talk);
- ``smalltalk_gap``: a small-talk turn that would be recorded as a content gap;
- ``turn_language``: the reply is in the turn's language.

**Ours** is the service's configured topic rule (``tutor/chat/topics.py``: the offline
``EvidenceRule``, or the model's ``LLMTopicRule`` with the LLM answerer); the **baseline**
``length-rule`` runs the same dialogues in the same run with ``LengthRule`` (the rule
before evidence: a message of at most 30 characters or 4 words joins the previous question)
on the same knowledge base and answerer. The summary aggregates the metrics of
``eval.metrics.catalog.DIALOGUE_METRICS``; ``by_turn`` has every metric per position.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eval.datasets import gold_matches
from eval.dialogue_datasets import Dialogue, DialogueDataset, DialogueTurn
from eval.metrics.catalog import DIALOGUE_METRICS
from eval.metrics.expected_mode import expected_mode
from eval.metrics.follow_up import follow_up_on_topic
from eval.metrics.score import Score
from eval.metrics.smalltalk_gap import smalltalk_gap
from eval.metrics.style import language_match
from eval.metrics.topic_switch import topic_switch
from eval.metrics.turn_citation import BUCKETS, position_bucket, turn_citation
from eval.runner import EvalSetup, _machine, summarize_by
from tutor.chat.answering import Answer, LearnerContext
from tutor.chat.service import ChatService, Decision
from tutor.chat.topics import Exchange, LengthRule, TopicRule

BASELINE_RULE = "length-rule"
BASELINE_DESCRIPTION = (
    "LengthRule, the topic rule before evidence: a message of at most 30 characters or 4 "
    "words (or opening with 'and', '그럼' ...) joins the previous question; same knowledge "
    "base, retrieval and answerer"
)
DEFAULT_LEVEL = 2

BeforeTurn = Callable[[Dialogue, int, DialogueTurn], None]


@dataclass(frozen=True)
class TurnOutcome:
    """One turn as the policy handled it."""

    position: int  # 1-based
    turn: DialogueTurn
    decision: Decision
    answer: Answer
    elapsed_ms: float


def with_topic_rule(service: ChatService, rule: TopicRule) -> ChatService:
    """A chat service like ``service`` (same KB, store, answerer, k, coverage rule) that
    follows conversations with ``rule``."""
    return service.with_topic_rule(rule)


def converse(
    service: ChatService,
    dialogue: Dialogue,
    *,
    course: str | None,
    level: int | None = None,
    before_turn: BeforeTurn | None = None,
) -> list[TurnOutcome]:
    """Answer every turn of ``dialogue`` with the history of the earlier ones.

    ``before_turn(dialogue, position, turn)`` runs before each reply (the LLM benchmark
    scripts its server there)."""
    learner = LearnerContext(level=level or dialogue.level or DEFAULT_LEVEL)
    history: list[Exchange] = []
    outcomes: list[TurnOutcome] = []
    for position, turn in enumerate(dialogue.turns, start=1):
        if before_turn is not None:
            before_turn(dialogue, position, turn)
        service.kb.forget_queries()
        started = time.perf_counter()
        decision, answer = service.reply(
            turn.user, course=course, lang=turn.lang, learner=learner, history=history
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        outcomes.append(TurnOutcome(position, turn, decision, answer, elapsed_ms))
        history.append(decision.exchange(answer))
    return outcomes


# --- scoring -----------------------------------------------------------------------------------
def cited_sources(turn: DialogueTurn, decision: Decision, answer: Answer) -> list[str]:
    """The cited documents in citation order, each named by the gold id it matches, else
    by its lesson id (else document id)."""
    by_chunk = {p.chunk.id: p.chunk for p in decision.request.passages}
    out: list[str] = []
    for citation in answer.citations:
        chunk = by_chunk.get(citation.chunk_id)
        lesson_id = (chunk.lesson_id if chunk is not None else "") or ""
        doc_id = chunk.doc_id if chunk is not None else citation.doc_id
        source = next(
            (g for g in turn.gold_sources if gold_matches(g, lesson_id=lesson_id, doc_id=doc_id)),
            lesson_id or doc_id,
        )
        if source not in out:
            out.append(source)
    return out


def score_turn(
    outcome: TurnOutcome, *, kind: str, after_topic: bool, clear_threshold: float
) -> tuple[dict[str, Score], list[str]]:
    """The turn's metrics and its cited sources. ``kind``: the gold kind; ``after_topic``:
    an earlier turn of the dialogue was about the course (so a ``new`` turn is a switch)."""
    turn, decision, answer = outcome.turn, outcome.decision, outcome.answer
    topic = decision.topic
    decided = topic.kind if topic is not None else "new"
    reason = topic.reason if topic is not None else ""
    cited = cited_sources(turn, decision, answer)
    gold = set(turn.gold_sources)
    metrics: dict[str, Score] = {}
    if gold and turn.expect == "answer":
        key, score = turn_citation(position=outcome.position, cited_sources=cited, gold=gold)
        metrics[key] = score
        if kind == "new" and after_topic:
            metrics["topic_switch"] = topic_switch(
                decided=decided, reason=reason, cited_sources=cited, gold=gold
            )
        elif kind == "follow_up":
            metrics["follow_up"] = follow_up_on_topic(
                decided=decided, reason=reason, cited_sources=cited, gold=gold
            )
    metrics["expected_mode"] = expected_mode(expect=turn.expect, mode=answer.mode)
    if turn.expect == "smalltalk":
        metrics["smalltalk_gap"] = smalltalk_gap(
            expect=turn.expect,
            mode=answer.mode,
            low_confidence=decision.confidence < clear_threshold,
        )
    metrics["turn_language"] = language_match(answer.text, turn.lang, notices=answer.notices)
    return metrics, cited


def _turn_fields(outcome: TurnOutcome, cited: list[str], metrics: dict[str, Score]) -> dict:
    topic = outcome.decision.topic
    return {
        "answer": outcome.answer.text,
        "mode": outcome.answer.mode,
        "answerer": outcome.answer.answerer,
        "decided": {
            "kind": topic.kind if topic else "new",
            "query": topic.query if topic else outcome.turn.user,
            "reason": topic.reason if topic else "",
        },
        "cited_sources": cited,
        "retrieved_sources": [
            h.chunk.lesson_id or h.chunk.doc_id for h in outcome.decision.retrieved
        ],
        "latency_ms": round(outcome.elapsed_ms, 1),
        "metrics": {k: v.to_json() for k, v in metrics.items()},
    }


def evaluate_dialogue(
    dialogue: Dialogue,
    *,
    services: dict[str, ChatService],
    course: str | None,
    level: int | None = None,
    hooks: Mapping[str, BeforeTurn] | None = None,
) -> list[dict[str, Any]]:
    """The report's turn records of one dialogue: ``services["ours"]`` fills the record,
    every other service (a baseline) its ``baselines[name]``. ``hooks[name]`` runs before
    each of that service's turns (see :func:`converse`)."""
    kinds = dialogue.kinds()
    hooks = hooks or {}
    runs = {
        name: converse(
            service, dialogue, course=course, level=level, before_turn=hooks.get(name)
        )
        for name, service in services.items()
    }
    records: list[dict[str, Any]] = []
    earlier: list[str] = []
    for i, turn in enumerate(dialogue.turns):
        after_topic = any(k != "smalltalk" for k in kinds[:i])
        record: dict[str, Any] = {
            "id": f"{dialogue.id}#{i + 1}",
            "dialogue": dialogue.id,
            "turn": i + 1,
            "position": position_bucket(i + 1),
            "question": turn.user,
            "history": list(earlier),
            "lang": turn.lang,
            "level": level or dialogue.level or DEFAULT_LEVEL,
            "gold_sources": list(turn.gold_sources),
            "expect": turn.expect,
            "kind": kinds[i],
            "standalone": turn.standalone,
        }
        for name, outcomes in runs.items():
            service = services[name]
            metrics, cited = score_turn(
                outcomes[i],
                kind=kinds[i],
                after_topic=after_topic,
                clear_threshold=service.coverage.threshold,
            )
            fields = _turn_fields(outcomes[i], cited, metrics)
            if name == "ours":
                record.update(fields)
            else:
                record.setdefault("baselines", {})[name] = fields
        records.append(record)
        earlier.append(turn.user)
    return records


# --- the whole run -----------------------------------------------------------------------------
def summarize_turns(items: Sequence[dict[str, Any]], *, baseline: str | None = None) -> dict:
    """Aggregate the turn metrics by ``DIALOGUE_METRICS`` (ours, or one baseline's)."""
    summary = summarize_by(items, DIALOGUE_METRICS, baseline=baseline)
    summary["dialogues"] = len({item.get("dialogue") for item in items})
    return summary


def by_turn(items: Sequence[dict[str, Any]], *, baseline: str | None = None) -> dict:
    """Every dialogue metric per turn position (``turn1``, ``turn2``, ``turn3+``)."""
    return {
        bucket: summarize_turns([i for i in items if i.get("position") == bucket],
                                baseline=baseline)
        for bucket in BUCKETS
    }


def unknown_gold(dataset: DialogueDataset, known: Sequence[tuple[str, str]]) -> list[str]:
    """Warnings for gold sources that match no document of the knowledge base.
    ``known``: ``(lesson_id, doc_id)`` of every document."""
    problems = []
    for dialogue in dataset.dialogues:
        for i, turn in enumerate(dialogue.turns):
            for gold in turn.gold_sources:
                if not any(gold_matches(gold, lesson_id=lid, doc_id=did) for lid, did in known):
                    problems.append(
                        f"{dialogue.id} turns[{i}]: warning: gold source {gold!r} matches no "
                        "document of the knowledge base (dialogue kept)"
                    )
    return problems


def run_dialogues(
    setup: EvalSetup,
    dataset: DialogueDataset,
    *,
    baseline: bool = True,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Every dialogue with ours (``setup.service``) and (``baseline``) the LengthRule on the
    same knowledge base and answerer; the report (schema 1, docs/evaluation.md)."""
    from tqdm import tqdm

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    ours: ChatService = setup.service
    services = {"ours": ours}
    if baseline:
        services[BASELINE_RULE] = with_topic_rule(ours, LengthRule())
    known = [(r.lesson_id, r.doc_id) for r in setup.kb.registry.list(course=setup.course)]
    problems = [*dataset.problems, *unknown_gold(dataset, known)]
    mark = time.perf_counter()
    items: list[dict[str, Any]] = []
    for dialogue in tqdm(
        dataset.dialogues, desc="dialogues", unit="d", disable=not progress_bar,
        dynamic_ncols=True,
    ):  # fmt: skip
        items.extend(
            evaluate_dialogue(
                dialogue, services=services, course=setup.course, level=setup.options.level
            )
        )
    report: dict[str, Any] = {
        "schema": 1,
        "kind": "dialogues",
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.path),
            "items": len(items),
            "dialogues": len(dataset.dialogues),
            "problems": problems,
        },
        "config": {
            "answerer": items[0]["answerer"] if items else setup.options.answerer,
            "topic_rule": ours.topic_rule.name,
            "level": setup.options.level,
            "embedding": setup.kb.embeddings.name,
            "k": ours.k,
            "course": setup.course,
            "knowledge_base": setup.kb_source,
            "started_at": started_at,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": _machine(),
            "judge": None,
        },
        "summary": summarize_turns(items),
        "by_turn": {"ours": by_turn(items)},
        "timings": {**setup.timings, "items_s": round(time.perf_counter() - mark, 1)},
        "baselines": {},
        "items": items,
    }
    if baseline:
        report["baselines"][BASELINE_RULE] = {
            "description": BASELINE_DESCRIPTION,
            "summary": summarize_turns(items, baseline=BASELINE_RULE),
        }
        report["by_turn"][BASELINE_RULE] = by_turn(items, baseline=BASELINE_RULE)
    return report

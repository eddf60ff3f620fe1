"""The metrics of an evaluation report: summary key, family, direction, aggregate.

``report.json``'s ``summary`` uses exactly these keys (stable: the gate thresholds, the
compare command and the HTML report read them). ``aggregate`` says how item values become
the summary value: ``mean`` over items where the metric applies, ``sum`` (a count, e.g.
leaks), or ``p50``/``p95`` of item values (latency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Aggregate = Literal["mean", "sum", "p50", "p95"]


@dataclass(frozen=True)
class MetricSpec:
    key: str  # summary key in report.json
    item_key: str  # key of the per-item metric in items[].metrics
    family: str  # chart grouping in the HTML report
    higher_is_better: bool
    aggregate: Aggregate
    description: str


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("hit@1", "hit@1", "retrieval", True, "mean", "a gold source is the top passage"),
    MetricSpec("hit@5", "hit@5", "retrieval", True, "mean", "a gold source is in the top 5"),
    MetricSpec("mrr@10", "mrr@10", "retrieval", True, "mean", "1 / rank of the first gold source"),
    MetricSpec("ndcg@10", "ndcg@10", "retrieval", True, "mean", "binary-relevance nDCG@10"),
    MetricSpec("context_precision", "context_precision", "retrieval", True, "mean",
               "rank-weighted share of retrieved passages from a gold source"),
    MetricSpec("context_recall", "context_recall", "retrieval", True, "mean",
               "share of gold sources among the retrieved passages"),
    MetricSpec("mcq_accuracy", "mcq", "answer", True, "mean",
               "the tutor's pick among the options is the right one"),
    MetricSpec("mcq_chance", "mcq_chance", "answer", True, "mean",
               "expected accuracy of a random pick (1 / number of options)"),
    MetricSpec("answer_correctness", "answer_correctness", "answer", True, "mean",
               "the bare answer is closer to the right option than to every distractor"),
    MetricSpec("lead", "lead", "answer", True, "mean",
               "the answer's first sentence alone is closer to the right option than to "
               "every distractor"),
    MetricSpec("focus", "focus", "answer", True, "mean",
               "share of the answer's sentences that support the question (similar to the "
               "reference answer, else question + keyed option, else the question)"),
    MetricSpec("citation_accuracy", "citation_accuracy", "grounding", True, "mean",
               "the cited documents include a gold source"),
    MetricSpec("groundedness", "groundedness", "grounding", True, "mean",
               "share of answer sentences supported by the cited passages"),
    MetricSpec("solution_leaks", "solution_leak", "safety", False, "sum",
               "exercise answers that reproduce the solution"),
    MetricSpec("not_covered_accuracy", "not_covered", "safety", True, "mean",
               "out-of-scope questions answered 'not covered' and in-scope ones answered"),
    MetricSpec("language_match", "language_match", "style", True, "mean",
               "the answer is in the question's language (or says it quotes English)"),
    MetricSpec("length_ok", "length", "style", True, "mean",
               "answer length within the band for the trainee's level"),
    MetricSpec("reading_level_ok", "reading_level", "style", True, "mean",
               "sentence length / word difficulty within the band for the level"),
    MetricSpec("p50_ms", "latency_ms", "latency", False, "p50", "answer time, median"),
    MetricSpec("p95_ms", "latency_ms", "latency", False, "p95", "answer time, 95th percentile"),
)

JUDGE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("judge_faithfulness", "judge_faithfulness", "judge", True, "mean",
               "LLM judge: every claim is supported by the passages (0..1)"),
    MetricSpec("judge_relevance", "judge_relevance", "judge", True, "mean",
               "LLM judge: the answer addresses the question (0..1)"),
    MetricSpec("judge_correctness", "judge_correctness", "judge", True, "mean",
               "LLM judge: agrees with the reference answer (0..1)"),
)


# Dialogue datasets (``eval/dialogue_runner.py``): one item per turn.
DIALOGUE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("citation@turn1", "citation@turn1", "conversation", True, "mean",
               "first turn of a dialogue: the first citation is a gold source"),
    MetricSpec("citation@turn2", "citation@turn2", "conversation", True, "mean",
               "second turn: the first citation is a gold source"),
    MetricSpec("citation@turn3+", "citation@turn3+", "conversation", True, "mean",
               "third turn and later: the first citation is a gold source"),
    MetricSpec("topic_switch_accuracy", "topic_switch", "conversation", True, "mean",
               "a new topic mid-dialogue: decided 'new' and the first citation is gold"),
    MetricSpec("follow_up_on_topic", "follow_up", "conversation", True, "mean",
               "a follow-up turn: the first citation is gold (stays on topic)"),
    MetricSpec("expected_mode_accuracy", "expected_mode", "conversation", True, "mean",
               "the reply's mode is the expected one (answer, hint, not covered, small talk)"),
    MetricSpec("smalltalk_gaps", "smalltalk_gap", "conversation", False, "sum",
               "small-talk turns that would be recorded as content gaps"),
    MetricSpec("turn_language_match", "turn_language", "conversation", True, "mean",
               "the reply is in the turn's language (or says it quotes the other one)"),
)


def spec(key: str) -> MetricSpec | None:
    """The spec of a summary key, or None for keys outside the catalog (e.g. counts)."""
    return next((m for m in (*METRICS, *JUDGE_METRICS, *DIALOGUE_METRICS) if m.key == key), None)

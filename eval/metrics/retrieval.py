"""Retrieval metrics over ranked lists of source ids (pure functions).

The runner gives, per question, the source id (e.g. lesson id) of each retrieved chunk in
rank order; ids repeat when several chunks come from one source. Rank metrics (hit@k,
MRR, nDCG) run on the de-duplicated list of sources (:func:`dedupe`): finding the lesson
twice is no better than once. Context precision and recall look at the chunks:

- ``context_precision`` (RAGAS-style, rank-weighted): over the first k chunks, the mean of
  precision@i over the positions i that hold a gold chunk; 0.0 when none does. A gold chunk
  at rank 1 counts more than one at rank 5, and off-topic chunks above it cost precision.
- ``context_recall``: the share of gold ids present among the retrieved chunks.

Both are nan without gold ids (like :func:`ndcg_at_k`); :func:`retrieval_scores` reports the
catalog's retrieval keys as ``Score``s, not applicable when there is no gold id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from eval.metrics.score import Score, not_applicable


def dedupe(ids: Sequence[str]) -> list[str]:
    """Keep the first occurrence of each id: chunk hits become a ranked list of sources."""
    seen: set[str] = set()
    out = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def hit_at_k(ranked: Sequence[str], gold: set[str], k: int) -> float:
    """1.0 when a gold id is among the first k, else 0.0."""
    return 1.0 if any(r in gold for r in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """1 / rank of the first gold id within the first k (0.0 when none)."""
    for rank, r in enumerate(ranked[:k], start=1):
        if r in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k; nan when there is no gold id."""
    if not gold:
        return math.nan
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(ranked[:k]) if r in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def context_precision(ranked_sources: Sequence[str], gold: set[str], k: int = 5) -> float:
    """Mean precision@i over the gold positions i among the first k chunks (0.0 when none;
    nan without gold). E.g. gold at ranks 1 and 3: (1/1 + 2/3) / 2 = 0.833."""
    if not gold:
        return math.nan
    relevant = 0
    precisions = []
    for i, source in enumerate(ranked_sources[:k], start=1):
        if source in gold:
            relevant += 1
            precisions.append(relevant / i)
    return sum(precisions) / len(precisions) if precisions else 0.0


def context_recall(retrieved_sources: Sequence[str], gold: set[str]) -> float:
    """The share of gold ids among the retrieved sources (nan without gold)."""
    if not gold:
        return math.nan
    present = set(retrieved_sources)
    return sum(1 for g in gold if g in present) / len(gold)


def retrieval_scores(ranked_sources: Sequence[str], gold: set[str]) -> dict[str, Score]:
    """The catalog's retrieval metrics for one question: ``hit@1``, ``hit@5``, ``mrr@10``,
    ``ndcg@10``, ``context_precision`` (first 5 chunks) and ``context_recall``."""
    keys = ("hit@1", "hit@5", "mrr@10", "ndcg@10", "context_precision", "context_recall")
    if not gold:
        return {key: not_applicable("no gold source") for key in keys}
    sources = dedupe(ranked_sources)
    rank = next((i for i, s in enumerate(sources, start=1) if s in gold), None)
    where = (
        f"first gold source at rank {rank} of {len(sources)} sources"
        if rank
        else f"no gold source among {len(sources)} retrieved sources"
    )
    ranked = {"rank": rank}
    top5 = list(ranked_sources[:5])
    n_gold_top5 = sum(1 for s in top5 if s in gold)
    found = sorted(g for g in gold if g in set(ranked_sources))
    return {
        "hit@1": Score(hit_at_k(sources, gold, 1), where, {**ranked, "sources": sources[:10]}),
        "hit@5": Score(hit_at_k(sources, gold, 5), where, ranked),
        "mrr@10": Score(reciprocal_rank(sources, gold, 10), where, ranked),
        "ndcg@10": Score(ndcg_at_k(sources, gold, 10), where, ranked),
        "context_precision": Score(
            context_precision(ranked_sources, gold, k=5),
            f"{n_gold_top5} of the top {len(top5)} chunks from a gold source",
            {"gold_positions": [i for i, s in enumerate(top5, start=1) if s in gold]},
        ),
        "context_recall": Score(
            context_recall(ranked_sources, gold),
            f"{len(found)} of {len(gold)} gold sources retrieved",
            {"missing": sorted(gold - set(ranked_sources))},
        ),
    }

"""Retrieval metrics over ranked lists of source ids (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence


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

"""Citation accuracy by turn position: is the first citation gold at turn 1, 2, 3+?

A dialogue's first turn is a single question; later turns depend on how the conversation
is followed. The position buckets are ``turn1``, ``turn2`` and ``turn3+`` (every turn from
the third on, small talk included in the count), and each bucket is its own summary key
(``citation@turn1`` ...). The value is :func:`eval.metrics.citations.first_citation_correct`:
1.0 when the answer's first citation is a gold source.
"""

from __future__ import annotations

from collections.abc import Sequence

from eval.metrics.citations import first_citation_correct
from eval.metrics.score import Score

BUCKETS: tuple[str, ...] = ("turn1", "turn2", "turn3+")


def position_bucket(position: int) -> str:
    """``turn1``, ``turn2`` or ``turn3+`` for a 1-based turn position."""
    if position < 1:
        raise ValueError(f"turn positions start at 1 (got {position})")
    return BUCKETS[min(position, 3) - 1]


def turn_citation(
    *, position: int, cited_sources: Sequence[str], gold: set[str]
) -> tuple[str, Score]:
    """The item key (``citation@turn2``) and the score of one turn."""
    return f"citation@{position_bucket(position)}", first_citation_correct(cited_sources, gold)

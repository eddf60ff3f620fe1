"""Follow-ups stay on topic: does an elliptical follow-up keep the conversation's topic?

For a turn whose gold kind is ``follow_up`` ("Why?", "예를 들어?", "How do I sort it?",
"튜플은요?" after a question on dictionaries): 1.0 when the answer's first citation is a
gold source (for "X은요?" the gold is X's lesson), else 0.0. Only the citation is scored: a
follow-up that the policy searched as a new question but that still lands on the right
lesson stays on topic. The reason names the kind the policy decided and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from eval.metrics.score import Score, not_applicable


def _compute_score(*, first_in_gold: bool) -> float:
    return 1.0 if first_in_gold else 0.0


def follow_up_on_topic(
    *, decided: str, reason: str, cited_sources: Sequence[str], gold: set[str]
) -> Score:
    if not gold:
        return not_applicable("no gold source")
    first = cited_sources[0] if cited_sources else None
    first_in_gold = first is not None and first in gold
    value = _compute_score(first_in_gold=first_in_gold)
    details = {"decided": decided, "first": first, "gold": sorted(gold)}
    if first is None:
        return Score(value, f"no citation (decided {decided}: {reason})", details)
    verdict = "on topic" if first_in_gold else f"off topic; gold is {', '.join(sorted(gold))}"
    return Score(value, f"first citation {first} ({verdict}; decided {decided}: {reason})", details)

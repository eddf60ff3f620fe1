"""Topic-switch accuracy: when the trainee changes the subject, does the tutor follow?

For a turn whose gold kind is ``new`` and that comes after an earlier course turn (a
switch, e.g. "How do I read a file?" then "What is a tuple?"): 1.0 when the policy decided
the turn is a new topic **and** the answer's first citation is a gold source; 0.0
otherwise, with the reason saying which of the two failed and the topic rule's own reason.
A turn without gold sources (an off-course question) is not scored here.
"""

from __future__ import annotations

from collections.abc import Sequence

from eval.metrics.score import Score, not_applicable


def _compute_score(*, decided_new: bool, first_in_gold: bool) -> float:
    return 1.0 if decided_new and first_in_gold else 0.0


def topic_switch(
    *, decided: str, reason: str, cited_sources: Sequence[str], gold: set[str]
) -> Score:
    """``decided``: the turn kind the policy chose; ``reason``: why (its topic reason);
    ``cited_sources``: the cited source ids in order, gold ones named by their gold id."""
    if not gold:
        return not_applicable("no gold source")
    first = cited_sources[0] if cited_sources else None
    first_in_gold = first is not None and first in gold
    value = _compute_score(decided_new=decided == "new", first_in_gold=first_in_gold)
    cited = "no citation" if first is None else f"first citation {first}"
    verdict = "gold" if first_in_gold else f"gold is {', '.join(sorted(gold))}"
    details = {"decided": decided, "first": first, "gold": sorted(gold)}
    return Score(value, f"decided {decided} ({reason}); {cited} ({verdict})", details)

"""Citation accuracy: does the answer cite a gold source?

``cited_sources`` are the source ids (e.g. the lesson ids) of the passages an answer cites,
in the order their ``[n]`` markers first appear in the text (the runner maps markers to
passages and passages to sources). ``gold`` is the set of source ids that answer the
question (for a course quiz: the question's ``lesson_id``).

- ``citation_accuracy``: 1.0 when any cited source is gold.
- ``first_citation_correct``: 1.0 when the first cited source is gold (the passage the
  answer leads with; the quiz check's measure).

Both are 0.0 with the reason "no citation" when the answer cites nothing (an uncited answer
is a failure), and do not apply to items without gold sources.
"""

from __future__ import annotations

from collections.abc import Sequence

from eval.metrics.retrieval import dedupe
from eval.metrics.score import Score, not_applicable


def _listing(ids: Sequence[str]) -> str:
    return ", ".join(ids)


def citation_accuracy(cited_sources: Sequence[str], gold: set[str]) -> Score:
    """1.0 when any cited source is gold; see the module doc."""
    if not gold:
        return not_applicable("no gold source")
    cited = dedupe(cited_sources)
    details = {"cited": cited, "gold": sorted(gold)}
    if not cited:
        return Score(0.0, "no citation", details)
    hits = [c for c in cited if c in gold]
    if hits:
        return Score(1.0, f"cited {_listing(hits)} (gold)", details)
    return Score(0.0, f"cited {_listing(cited)}; gold is {_listing(sorted(gold))}", details)


def first_citation_correct(cited_sources: Sequence[str], gold: set[str]) -> Score:
    """1.0 when the first cited source is gold; see the module doc."""
    if not gold:
        return not_applicable("no gold source")
    details = {"first": cited_sources[0] if cited_sources else None, "gold": sorted(gold)}
    if not cited_sources:
        return Score(0.0, "no citation", details)
    first = cited_sources[0]
    if first in gold:
        return Score(1.0, f"first citation {first} (gold)", details)
    return Score(0.0, f"first citation {first}; gold is {_listing(sorted(gold))}", details)

"""Focus: the share of the answer's prose sentences that support the question.

An answer stitched from several sections carries sentences about other things ("A slice of
a list is a new list." for "What is a list?", a definition of pip for a question about
dictionaries). ``focus`` counts them:

1. The answer's *sentences* are its prose claims (:func:`eval.metrics.groundedness.claims_of`:
   sentences and list items; code, header lines, questions and the caller's ``skip`` texts,
   such as notices and ``Title › Heading`` pointers, are not claims).
2. A sentence *supports* the question when its cosine similarity to the *target* is at least
   ``floor``. The target is the best statement of a right answer the item has
   (:func:`focus_target`): its reference answer; else, for a multiple-choice item, the
   question followed by the keyed option; else the question itself.
3. ``value = supporting sentences / sentences``; not applicable without a prose sentence
   (e.g. a "not covered" reply, an answer that is only code).

Why not the question alone, always: the offline answerer picks sentences by their
similarity to the question, so that similarity would grade it by its own yardstick; a
reference (or the keyed option) is something it never sees.

``FOCUS_FLOOR`` was calibrated on 304 hand-labelled (question, answer sentence) pairs
(``eval/datasets/focus-calibration.jsonl``: every prose sentence the pre-change offline
answerer gave for the sample course's eval set, EN and KO; 128 labelled as supporting the
question) with the multilingual USE model the runner passes (``python -m bench.focus_floor``
prints the table). Balanced accuracy (mean of the share of supporting sentences kept and of
the others rejected) at 0.50, per target:

- reference answer (all 304; cosine median 0.58 supporting, 0.30 others): 0.76 (63 % kept,
  89 % rejected; the best floor, 0.45, reaches 0.78);
- question + keyed option (the 91 pairs with a keyed content option): 0.70, the best floor;
- question alone (all 304; medians 0.49 / 0.35): 0.67 (49 % / 84 %), the best floor.

One floor for the three keeps the metric simple; cosine cannot see negation, so a sentence
that contradicts the target while reusing its words still counts as support.
"""

from __future__ import annotations

from collections.abc import Sequence

from eval.metrics.correctness import option_kind
from eval.metrics.groundedness import claims_of, clean
from eval.metrics.score import Score, Similarity, not_applicable

FOCUS_FLOOR = 0.5


def focus(
    answer: str,
    question: str,
    similarity: Similarity,
    *,
    reference: str | None = None,
    skip: Sequence[str] = (),
    floor: float = FOCUS_FLOOR,
) -> Score:
    """Share of the answer's prose sentences that support the question (module doc); pass
    ``reference=focus_target(...)``."""
    sentences = [clean(u.text) for u in claims_of(answer, skip=skip) if u.kind != "code"]
    sentences = [s for s in sentences if s]
    if not sentences:
        return not_applicable("no prose sentence to judge")
    if not question.strip():
        return not_applicable("no question")
    target = reference if reference and reference.strip() else question
    support = similarity(sentences, [target])[:, 0]
    kept = [float(v) >= floor for v in support]
    off = [s for s, ok in zip(sentences, kept, strict=True) if not ok]
    value = sum(kept) / len(sentences)
    details = {
        "sentences": len(sentences),
        "floor": floor,
        "support": [round(float(v), 3) for v in support],
        "off_topic": [_short(s, 200) for s in off],
    }
    if not off:
        reason = f"all {len(sentences)} sentences support the question"
    else:
        reason = (
            f"{sum(kept)} of {len(sentences)} sentences support the question; off topic: "
            f"{_short(off[0], 80)!r}" + (f" and {len(off) - 1} more" if len(off) > 1 else "")
        )
    return Score(value, reason, details)


def focus_target(
    question: str,
    *,
    reference: str | None = None,
    options: Sequence[str] = (),
    answer_index: int | None = None,
) -> str | None:
    """The reference ``focus`` compares with (module doc, step 2); None: the question."""
    if reference and reference.strip():
        return reference
    if options and answer_index is not None and 0 <= answer_index < len(options):
        key = str(options[answer_index]).strip()
        if option_kind(key) == "content":
            return f"{question.strip()} {key}"
    return None


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

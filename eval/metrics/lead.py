"""Lead: does the answer's first sentence, alone, answer the question?

A trainee reads the first sentence first, and often only that one. ``lead`` judges it the
way :func:`eval.metrics.correctness.answer_correctness` judges the whole bare answer: the
sentence must be closer to the keyed option than to every distractor (same option kinds,
same "does not apply" rules, same similarity model).

The *first sentence* is the first prose claim of the answer (:func:`first_sentence`):
scaffolding is skipped as groundedness skips it (the caller's ``skip`` texts such as
notices, header lines, questions, units without a letter), and so is code. An answer that
stitches a stray sentence in front of the one that answers scores 0 here even when its
whole text would pass ``answer_correctness``.

An answer without any prose claim scores 0.0 ("empty answer"), like an empty answer does
for ``answer_correctness``.
"""

from __future__ import annotations

from collections.abc import Sequence

from eval.metrics.correctness import answer_correctness
from eval.metrics.groundedness import claims_of
from eval.metrics.score import Score, Similarity


def first_sentence(answer: str, *, skip: Sequence[str] = ()) -> str:
    """The answer's first prose claim (sentence or list item), or "" when it has none."""
    for unit in claims_of(answer, skip=skip):
        if unit.kind != "code":
            return unit.text
    return ""


def lead(
    answer: str,
    options: Sequence[str],
    answer_index: int | None,
    similarity: Similarity,
    *,
    skip: Sequence[str] = (),
) -> Score:
    """``answer_correctness`` of the answer's first sentence alone (module doc)."""
    sentence = first_sentence(answer, skip=skip)
    judged = answer_correctness(sentence, options, answer_index, similarity)
    if judged.value is None or not sentence:
        return judged
    shown = " ".join(sentence.split())
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    return Score(
        judged.value,
        f"first sentence {shown!r}: {judged.reason}",
        {**judged.details, "sentence": sentence},
    )

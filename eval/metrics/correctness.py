"""Answer correctness without a judge: does the free-text answer point to the keyed option?

For a quiz item, the tutor's answer (asked without the options) is compared with every
option. The answer is first cleaned: citation markers, fenced code blocks and header lines
are removed, list bullets dropped (:func:`eval.metrics.groundedness.split_units`).

    support(option) = max(cos(whole answer, option), max over answer sentences s of cos(s, option))

The whole-answer term rewards an answer that covers the option across sentences; the
per-sentence term finds an option stated in one sentence of a long answer. The value is
1.0 when the keyed option's support is strictly greater than every distractor's, else
0.0. The reason names the best option and the margin (key minus best distractor);
``details["supports"]`` lists each option's support (``None`` for an option left out).

Options without content of their own, which cosine similarity cannot compare:

- "all of the above", "both (of these)", "모두", "전부", "둘 다", ...: compared as the
  conjunction of the content options they stand for ("a; b; c"). An answer that covers
  every option is closer to the conjunction than to any single option, and one that covers
  only one is closer to that one.
- "none of the above", "neither", "없음", "해당 없음", "모두 아니다", ...: an absence has no
  text to compare with. As a distractor it is left out of the comparison; when it is the
  keyed option the metric does not apply.
- True/False, Yes/No, 참/거짓, O/X, ...: cosine similarity cannot tell a statement from its
  negation (a contradiction of a passage scores about as high as a paraphrase), so an item
  whose options are all of this kind is not applicable; ``mcq_accuracy`` still scores it.

The metric also does not apply without options, without a valid answer key, or with fewer
than two comparable options. An empty answer (nothing left after cleaning) is a failure:
0.0 with the reason "empty answer".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eval.metrics.groundedness import clean, has_letter, prose_units
from eval.metrics.score import Score, Similarity, not_applicable

_PREFIX_KO = r"(?:위의?\s*)?(?:보기\s*)?(?:의\s*)?"
_ALL = re.compile(
    r"(?:all|both)(?: (?:of )?(?:the )?(?:above|these|those|them|options|answers|choices))?"
    r"(?: (?:are )?(?:correct|true|right))?"
    rf"|{_PREFIX_KO}(?:모두|모든\s*것|모든\s*보기|전부|둘\s*다)"
    r"(?:\s*(?:정답|맞다|맞음|맞습니다|옳다|옳음|해당(?:됨|한다|합니다)?))?(?:\s*(?:이다|입니다))?"
)
_NONE = re.compile(
    r"none(?: of (?:the )?(?:above|these|those|them|options|answers|choices))?"
    r"(?: (?:is|are) (?:correct|true|right))?"
    r"|neither(?: of (?:the )?(?:above|these|those|them))?|no correct answer"
    rf"|{_PREFIX_KO}(?:(?:해당\s*|정답\s*)?없음|(?:해당\s*|정답\s*)?없다|정답이\s*없(?:음|다|습니다)"
    r"|(?:모두|둘\s*다|어느\s*것도)\s*(?:아님|아니다|아닙니다|틀림|틀리다|틀렸다|해당\s*없음))"
)
_BOOLEAN = re.compile(
    r"true|false|yes|no|o|x|correct|incorrect|right|wrong"
    r"|참|거짓|예|네|아니오|아니요|맞다|틀리다|맞음|틀림|맞습니다|틀립니다|그렇다|아니다|옳다|그르다"
)
_PUNCT = re.compile(r"[\s.,!;:()\[\]\"'`]+")


def option_kind(option: str) -> str:
    """``content``, ``all`` (all/both of the above), ``none`` (none of the above) or
    ``boolean`` (true/false); see the module doc."""
    text = _PUNCT.sub(" ", option.casefold()).strip()
    if not text:
        return "none"
    if _BOOLEAN.fullmatch(text):
        return "boolean"
    if _NONE.fullmatch(text):
        return "none"
    if _ALL.fullmatch(text):
        return "all"
    return "content"


def _letter(index: int) -> str:
    return chr(ord("A") + index) if 0 <= index < 26 else f"#{index}"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answer_correctness(
    answer: str,
    options: Sequence[str],
    answer_index: int | None,
    similarity: Similarity,
) -> Score:
    """1.0 when the answer supports the keyed option more than every distractor (module doc)."""
    if not options:
        return not_applicable("no options")
    if answer_index is None or not 0 <= answer_index < len(options):
        return not_applicable("no valid answer key")
    kinds = [option_kind(o) for o in options]
    if all(kind == "boolean" for kind in kinds):
        return not_applicable(
            "true/false item: similarity cannot tell a statement from its negation"
        )
    # "x" among "x", "y", "z" is content: only an all-boolean item is a true/false item.
    kinds = ["content" if kind == "boolean" else kind for kind in kinds]
    if kinds[answer_index] == "none":
        return not_applicable("the key is 'none of the above': no text to compare with")
    content = [o for o, kind in zip(options, kinds, strict=True) if kind == "content"]
    compared: dict[int, str] = {}
    for i, (option, kind) in enumerate(zip(options, kinds, strict=True)):
        if kind == "content":
            compared[i] = option
        elif kind == "all" and len(content) >= 2:
            compared[i] = "; ".join(content)
    if answer_index not in compared or len(compared) < 2:
        return not_applicable("fewer than two options with content to compare")

    units = [clean(u.text) for u in prose_units(answer)]
    units = [u for u in units if has_letter(u)]
    if not units:
        return Score(0.0, "empty answer", {"supports": [None] * len(options)})

    indexes = sorted(compared)
    whole = " ".join(units)
    rows = [whole, *units] if len(units) > 1 else [whole]
    matrix = similarity(rows, [compared[i] for i in indexes])
    best_per_option = matrix.max(axis=0)
    supports: list[float | None] = [None] * len(options)
    for column, i in enumerate(indexes):
        supports[i] = float(best_per_option[column])

    key = float(supports[answer_index])
    rivals = {i: float(supports[i]) for i in indexes if i != answer_index}
    rival = max(rivals, key=lambda i: rivals[i])
    margin = key - rivals[rival]
    best = answer_index if margin > 0 else rival
    details = {
        "supports": [None if s is None else round(s, 4) for s in supports],
        "best": best,
        "margin": round(margin, 4),
    }
    aggregated = {i: text for i, text in compared.items() if kinds[i] == "all"}
    if aggregated:
        details["compared_as"] = {str(i): text for i, text in aggregated.items()}
    ignored = [i for i in range(len(options)) if i not in compared]
    if ignored:
        details["ignored"] = ignored
    name = f"{_letter(best)} {_short(options[best])!r} ({supports[best]:.2f})"
    if margin > 0:
        reason = f"closest to the key {name}, {margin:+.2f} over {_letter(rival)}"
    else:
        reason = (
            f"closest to {name}; the key {_letter(answer_index)} scores {key:.2f} ({margin:+.2f})"
        )
    return Score(1.0 if margin > 0 else 0.0, reason, details)

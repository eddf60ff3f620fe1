"""Split a course passage (Markdown) into quotable units for the extractive answerer.

A unit is a sentence, a whole fenced code block (never cut), or a list item. Display text
is the source text with heading lines dropped and ``**bold**`` markers removed; inline
code, links and everything else stay verbatim. Korean and English share one splitter:
a sentence ends at ``.``, ``!``, ``?`` (or ``。``) followed by whitespace and a likely
sentence start, which covers Korean endings such as ``다.``, ``요.`` and ``니다.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# `- **term**: definition` (also with a dash or a full-width colon as the separator).
_TERM_ITEM = re.compile(r"^\s*[-*+]\s+\*\*([^*]{1,80}?)\*\*\s*[:：—–]\s*(\S.*)$")
_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?。])|(?<=[.!?。][\"')\]]))\s+(?=[A-Z0-9\"'`(\[*_\uac00-\ud7a3])"
)
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|Mr|Dr|No|Fig|approx)\.|\b[A-Z]\.)$")
_NOISE = re.compile(r"^\s*(?:!\[[^\]]*\]\([^)]*\)|<[^>]+>|\[[^\]]*\]\([^)]*\)|[-=*_|: ]+)\s*$")
_WORDS = re.compile(r"[A-Za-z\uac00-\ud7a3]{2,}")

UnitKind = str  # "sentence" | "item" | "term" | "code"


@dataclass(frozen=True)
class Unit:
    """One quotable piece of passage ``passage`` (0-based index into the request)."""

    passage: int
    order: int  # position within the passage
    block: int  # paragraph / list / code block number: consecutive sentences share it
    kind: UnitKind
    text: str  # display text (verbatim after dropping bold markers)
    term: str = ""  # for kind == "term": the defined term
    definition: str = ""  # for kind == "term": the definition text


def strip_bold(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def code_body(text: str) -> str:
    """The code inside a fenced block, without the fence lines."""
    lines = text.splitlines()
    if lines and _FENCE.match(lines[0]):
        lines = lines[1:]
    if lines and _FENCE.match(lines[-1]):
        lines = lines[:-1]
    return "\n".join(lines)


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


def _worth_quoting(text: str) -> bool:
    return not _NOISE.match(text) and len(_WORDS.findall(text)) >= 2


def split_units(text: str, *, passage: int, python: bool = False) -> list[Unit]:
    """Units of one passage in source order; ``python``: the passage is Python source (one
    code unit, fenced for display)."""
    if python:
        return (
            [Unit(passage, 0, 0, "code", f"```python\n{text.strip()}\n```")] if text.strip() else []
        )
    units: list[Unit] = []
    block = 0
    paragraph: list[str] = []
    lines = text.splitlines()

    def add(kind: str, body: str, **extra: str) -> None:
        units.append(Unit(passage, len(units), block, kind, body, **extra))

    def flush() -> None:
        nonlocal block
        if paragraph:
            joined = strip_bold(" ".join(line.strip() for line in paragraph))
            for sentence in split_sentences(joined):
                if _worth_quoting(sentence):
                    add("sentence", sentence)
            paragraph.clear()
            block += 1

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            end = i + 1
            while end < len(lines) and not lines[end].lstrip().startswith(fence.group(1)):
                end += 1
            code = "\n".join(lines[i : end + 1]).strip()
            if code_body(code).strip():
                add("code", code)
            block += 1
            i = end + 1
            continue
        if not line.strip() or _HEADING.match(line):
            flush()
        elif _LIST_ITEM.match(line):
            flush()
            term = _TERM_ITEM.match(line)
            if term:
                add(
                    "term",
                    strip_bold(_LIST_ITEM.sub("", line, count=1).strip()),
                    term=term.group(1).strip(),
                    definition=strip_bold(term.group(2).strip()),
                )
            else:
                item = strip_bold(_LIST_ITEM.sub("", line, count=1).strip())
                if _worth_quoting(item):
                    add("item", item)
            block += 1
        else:
            paragraph.append(line)
        i += 1
    flush()
    return units

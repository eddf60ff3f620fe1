"""Split a course passage (Markdown) into quotable units for the extractive answerer.

A unit is a sentence, a whole fenced code block (never cut), or a list item. Display text
is the source text with heading lines dropped and ``**bold**`` markers removed; inline
code, links and everything else stay verbatim. Korean and English share one splitter:
a sentence ends at ``.``, ``!``, ``?`` (or ``。``) followed by whitespace and a likely
sentence start, which covers Korean endings such as ``다.``, ``요.`` and ``니다.``; never
inside an inline code span (```if ... else```).

Not quoted at all: image and link-only lines (also a linked image, a video thumbnail), and an
image's caption (a ``>`` quote right after an image line: "Sketchnote by ...", "Click the
image above ..."). Other ``>`` quotes (notes, tips) are prose; their ``>`` is dropped.

Two checks on a unit's text serve the answerer (:func:`needs_antecedent`,
:func:`is_signpost`): whether it leans on a sentence before it ("It ...", "This method ...",
"However, ...", "그래서 ...", "이 함수는 ..."), and whether it talks about the lesson rather
than the topic ("In this lesson you will ...", "Click the image above ...").
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
# `- **Label.** explanation` / `1. **Label**. explanation`: shown as "Label: explanation", so
# that the label is not read as a sentence of its own.
_LABEL_ITEM = re.compile(
    r"^\s*(?:[-*+]|\d{1,3}[.)])\s+[^\w*`\[]{0,3}\*\*([^*]{1,80}?)\.\*\*\s+(\S.*)$"
    r"|^\s*(?:[-*+]|\d{1,3}[.)])\s+[^\w*`\[]{0,3}\*\*([^*]{1,80}?)\*\*\.\s+(\S.*)$"
)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?。])|(?<=[.!?。][\"')\]]))\s+(?=[A-Z0-9\"'`(\[*_\uac00-\ud7a3\x00])"
)
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|Mr|Dr|No|Fig|approx)\.|\b[A-Z]\.)$")
_IMAGE = re.compile(r"^\s*(?:!\[[^\]]*\]\([^)]*\)|\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\))\s*$")
_NOISE = re.compile(
    r"^\s*(?:!\[[^\]]*\]\([^)]*\)|\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)|<[^>]+>"
    r"|\[[^\]]*\]\([^)]*\)|[-=*_|: ]+)\s*$"
)
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_WORDS = re.compile(r"[A-Za-z\uac00-\ud7a3]{2,}")
_INLINE_CODE = re.compile(r"`[^`\n]+`")

# A sentence that leans on what came before it: a pronoun, a demonstrative or a connective
# at its start ("It ...", "This method ...", "However, ...", "그래서 ...", "이 함수는 ...").
_EN_LEANS = re.compile(
    r"^(?:It|Its|It's|This|These|That|Those|They|Them|Their|Such|Here|Therefore|Thereby|Thus"
    r"|Hence|So|Then|However|But|And|Or|Nor|Yet|Also|Instead|Otherwise|Similarly|Likewise"
    r"|Meanwhile|Moreover|Furthermore|Additionally|Consequently|Accordingly|Nevertheless"
    r"|Nonetheless|Still|Again|Now|Next|Finally|Lastly|Secondly|Thirdly|Afterwards?|Above"
    r"|Below|Another|Both of (?:them|these|those)|Each of (?:them|these|those)"
    r"|One (?:is|was|of (?:them|these|those))|The (?:same|former|latter|other|rest|result"
    r"|previous|above|following|last line|next line|first line|second line)"
    r"|In (?:this|that|these|those|such|either|both) (?:case|cases|way|example|situation)"
    r"|As (?:a result|such|shown|you can see|we (?:saw|have seen|can see))"
    r"|For (?:this|that|these) reasons?|For (?:example|instance)|In addition"
    r"|On the other hand|In other words|That is)\b"
)
_KO_LEANS = re.compile(
    r"^(?:그것|이것|저것|그건|이건|그걸|이걸|그게|이게|그들|이들|이렇게|그렇게|그래서|그러나"
    r"|하지만|그런데|그러면|그럼|그러므로|따라서|또한|게다가|더구나|예를 들어|예컨대|반면"
    r"|반대로|그리고|이때|그때|여기서|여기에서|대신|결국|마지막으로|다음으로|이어서|한편|특히"
    r"|(?:마지막|첫|첫 번째|두 번째|세 번째|이전|다음) 줄"
    r"|(?:이|그|저|이런|그런|저런|이러한|그러한|저러한|이와 같은|위의?|아래의?|앞의?|다음의?"
    r"|또|즉)[\s,])"
)
# "the code above", "the following example", "아래 코드": the thing meant is not quoted.
_POINTS_AWAY = re.compile(
    r"\b(?:above|below|following|previous|preceding)\s+(?:\w+\s+)?(?:code|cell|example"
    r"|image|picture|figure|chart|plot|graph|table|diagram|video|snippet|output|step"
    r"|screenshot|equation|formula)s?\b|\b(?:code|cell|example|image|picture|figure|chart"
    r"|plot|graph|table|diagram|video|snippet|output|screenshot)s?\s+(?:above|below)\b"
    r"|(?:위|아래|앞|다음)의?\s*(?:코드|예시|예제|그림|표|출력|셀|영상|이미지|그래프)",
    re.IGNORECASE,
)
# "In the context of time series, it's ...": the pronoun is the subject after an opener.
_EN_LEANS_LATE = re.compile(
    r"^[^,;:]{1,60},\s*(?:it|this|these|they|those|that)(?:'s|\s+(?:is|are|was|were|can|will"
    r"|has|have|does|do|makes?|means?))\b",
    re.IGNORECASE,
)
# A sentence about the lesson rather than its topic, or one that sends the reader elsewhere.
_EN_SIGNPOST = re.compile(
    r"^(?:In this (?:lesson|section|unit|chapter|tutorial|module|course|notebook|exercise)"
    r"|Welcome\b|Let's\b|Let us\b|We(?:'ll| will| are going to)\b"
    r"|You(?:'ll| will) (?:learn|see|build|use|explore|discover|find|practice|work)"
    r"|In the (?:next|previous|following|last) (?:lesson|section|unit|chapter)"
    r"|Click\b|Watch\b|(?:To )?(?:Learn|Read) more\b)"
    r"|\bclick (?:the|this|on the) (?:image|link|button|video)\b"
    r"|\bin (?:this|the (?:next|previous|last)) (?:lesson|section|tutorial|course|notebook)\b"
    r"|\bin (?:the )?(?:previous|earlier|next|later|upcoming) lessons?\b"
    r"|\[(?:here|this|these|that|those|link|more)\b[^\]]{0,40}\]\("
    r"|\b(?:take a look at|check out|have a look at|learn about|see|visit|follow|watch|read"
    r"|try)\s+"
    r"(?:this|these|the following|our)?\s*\[",
    re.IGNORECASE,
)
_KO_POINTER = re.compile(r"\[(?:여기|이 |이곳|링크)[^\]]{0,40}\]\(")
_KO_SIGNPOST = re.compile(
    r"^(?:이번|이) (?:레슨|장|절|단원|강의|수업|노트북|과정)(?:에서는|에서|은|는)\s"
    r"|^다음 (?:레슨|장|절|단원|강의)에서"
    r"|환영합니다|(?:알아봅시다|살펴봅시다|살펴보겠습니다|알아보겠습니다|배워 ?봅시다"
    r"|만들어 ?봅시다)[.!]?$"
)
_LEAD_NOISE = re.compile(r"^[\W_]+")
_CODE_MARKS = re.compile(r"[{}]|=>|\);")

UnitKind = str  # "sentence" | "item" | "term" | "code"


@dataclass(frozen=True)
class Unit:
    """One quotable piece of passage ``passage`` (0-based index into the request)."""

    passage: int
    order: int  # position within the passage
    block: int  # paragraph / list / code block number: consecutive sentences share it
    kind: UnitKind
    text: str  # display text (verbatim after dropping bold markers)
    term: str = ""  # kind "term": the defined term; a labelled "item": its bold label
    definition: str = ""  # the text after the term or label


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
    """Sentences of one paragraph (English or Korean), verbatim; an inline code span is never
    cut (```if ... else``` stays in one sentence)."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    hidden = _INLINE_CODE.sub(hide, paragraph.strip())
    parts = [p.strip() for p in _SENTENCE_END.split(hidden) if p and p.strip()]
    if spans:
        parts = [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], p) for p in parts]
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREVIATION.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def _worth_quoting(text: str) -> bool:
    return not _NOISE.match(text) and len(_WORDS.findall(_LINK_TARGET.sub("]", text))) >= 2


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
    after_image = False  # a ``>`` quote right after an image is its caption
    caption = False
    while i < len(lines):
        line = lines[i]
        if _IMAGE.match(line):
            flush()
            after_image = True
            i += 1
            continue
        if caption and not line.strip():
            after_image = caption = False
        if _QUOTE.match(line):
            if after_image:
                caption = True
                i += 1
                continue
            line = _QUOTE.sub("", line, count=1)
            if not line.strip():  # a bare ">" separates paragraphs of the quote
                flush()
                i += 1
                continue
        elif line.strip():
            after_image = False
        fence = _FENCE.match(line)
        if fence:
            flush()
            end = i + 1
            while end < len(lines) and not lines[end].lstrip().startswith(fence.group(1)):
                end += 1
            code = "\n".join(lines[i : end + 1]).strip()
            if end >= len(lines):  # the passage ends inside the block: close it for display
                code += "\n" + fence.group(1)
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
            label = None if term else _LABEL_ITEM.match(line)
            if term:
                add(
                    "term",
                    strip_bold(_LIST_ITEM.sub("", line, count=1).strip()),
                    term=term.group(1).strip(),
                    definition=strip_bold(term.group(2).strip()),
                )
            elif label:
                name = (label.group(1) or label.group(3)).strip()
                rest = strip_bold((label.group(2) or label.group(4)).strip())
                add("item", f"{name}: {rest}", term=name, definition=rest)
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


def needs_antecedent(text: str) -> bool:
    """Whether a sentence leans on something before it that a reader of it alone would miss:
    an opening pronoun, demonstrative or connective ("It ...", "This method ...", "However,
    ...", "For example, ...", "그래서 ...", "이 함수는 ..."), or a pointer to a figure or
    code block ("the code above", "아래 코드")."""
    start = _LEAD_NOISE.sub("", text)
    return bool(
        _EN_LEANS.match(start)
        or _KO_LEANS.match(start)
        or _EN_LEANS_LATE.match(start)
        or _POINTS_AWAY.search(text)
    )


def is_signpost(text: str) -> bool:
    """Whether a sentence talks about the lesson rather than its topic ("In this lesson you
    will ...", "Let's ...", "Click the image above ...", "이번 레슨에서는 ...")."""
    start = _LEAD_NOISE.sub("", text)
    return bool(
        _EN_SIGNPOST.search(start) or _KO_SIGNPOST.search(start) or _KO_POINTER.search(text)
    )


def stands_alone(text: str) -> bool:
    """Whether a unit can be quoted as a statement on its own: not a question to the reader
    ("What do you learn?"), not a lead-in to what follows ("Import it like this:", "다음과
    같습니다."), not a stray line of code outside a code block, and no signpost."""
    plain = _INLINE_CODE.sub("code", text).strip()
    if plain.endswith(("?", "？", ":", "：")) or plain.endswith(("다음과 같습니다.", "같습니다:")):
        return False
    if plain[:1] in "}])" or len(_CODE_MARKS.findall(plain)) >= 2:
        return False
    return not is_signpost(text)

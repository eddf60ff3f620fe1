"""Draft eval questions from a course's own material, for instructors to review.

Offline (:func:`generate_questions`), from the chunks of ``lesson``, ``reference`` and
``faq`` documents only (exercise and solution material is never used):

- **definition** questions, "What is X?" / "X란 무엇인가요?", from the course's key-term
  list items (``- **term**: definition``) and from definitional sentences ("A list is
  a ...", "... is called a nested list.", "리스트(list)는 ...입니다.", "...을 별칭(alias)이라고
  합니다."). The reference is the definition, quoted verbatim from the lesson.
- **cloze** multiple-choice questions from key sentences (those that mention the most key
  terms): one key term is blanked (``____``), the options are that term and three other
  key terms of the same course and language, in an order shuffled with a fixed seed. The
  reference is the whole sentence.

Every draft is an eval JSONL record (``docs/evaluation.md``, "Datasets") with
``gold_sources`` = the lesson it came from, ``level`` = the lesson's level, ``tags``
``["generated", "definition" | "cloze"]``, ``draft: true`` and a ``source`` object (document,
heading, lines) for the reviewer; the loader ignores the extra keys. Ids are
``gen-<lesson>-<lang>-<n>``. The same chunks give the same drafts, in any input order.

With a chat model (:func:`generate_with_llm`) the prompt ``prompts/eval/generate.text.j2``
asks for JSON lines of questions per lesson; :func:`parse_generated` keeps the valid ones.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge.types import Chunk
from prompts import render
from tutor.chat.sentences import split_units

GENERATED_KINDS: tuple[str, ...] = ("lesson", "reference", "faq")
BLANK = "____"
N_OPTIONS = 4
_MAX_PASSAGE_CHARS = 6000  # lesson text passed to the model in one prompt

Tokenize = Callable[[str], Sequence[str]]

# --------------------------------------------------------------------- Korean particles

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TRAILING_GLOSS = re.compile(r"\s*\([^()]*\)\s*$")


def has_final_consonant(word: str) -> bool:
    """Whether ``word`` ends in a consonant sound (받침), which picks 은/는, 이/가, 이란/란.

    A trailing gloss is skipped (``리스트(list)`` -> ``리스트``). Hangul: the last
    syllable's final (``(code - 0xAC00) % 28 != 0``). Digits as read in Korean (영, 일, 삼,
    육, 칠, 팔). Latin letters: a rough reading of the English word (``-l``, ``-m``, ``-n``,
    ``-ng``, ``-le``, ``-me``, ``-ne`` end in a consonant: ``file이란``, ``string이란``; most
    others in a vowel: ``list란``, ``KeyError란``). Drafts are reviewed, so rare misses
    (``dtype``: 디타입) are acceptable.
    """
    text = _TRAILING_GLOSS.sub("", word.strip()) or word.strip()
    text = text.rstrip(" `'\"”’.,")
    if not text:
        return False
    last = text[-1]
    if _HANGUL.match(last):
        return (ord(last) - 0xAC00) % 28 != 0
    if last.isdigit():
        return last in "013678"
    return text.lower().endswith(("l", "m", "n", "ng", "le", "me", "ne"))


def with_particle(word: str, with_final: str, without_final: str) -> str:
    """``word`` followed by the right form of a particle: ``with_particle("파일", "이란",
    "란")`` -> ``파일이란``; ``with_particle("리스트", "은", "는")`` -> ``리스트는``."""
    return word + (with_final if has_final_consonant(word) else without_final)


# ---------------------------------------------------------------------- definitions

_EN_STOP_SUBJECTS = frozenset(
    {
        "it", "this", "that", "there", "here", "what", "which", "who", "each", "every", "one",
        "another", "such", "its", "these", "those", "they", "he", "she", "we", "you", "result",
        "example", "difference", "reason", "answer", "rule", "way"
    }
)  # fmt: skip
_KO_STOP_SUBJECTS = frozenset(
    {
        "이", "그", "이것", "그것", "저것", "이는", "둘", "다음", "결과", "이유", "차이", "방법",
        "예", "예시", "핵심", "목적", "답", "정답", "요약"
    }
)  # fmt: skip
# "A list is an ordered ...": an indefinite article, or a capitalised name ("NumPy is a").
_EN_IS_A = re.compile(
    r"^(?:(?P<article>An?)\s+(?P<noun>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2})"
    r"|(?P<name>[A-Z][\w-]*))\s+is\s+(?:an?|the|one)\s+\S"
)
# "... is called a nested list." / "... are called aliases."
_EN_CALLED = re.compile(
    r"\b(?P<verb>is|are)\s+called\s+(?P<x>(?:(?:an?|the)\s+)?[A-Za-z][\w-]*(?:\s+[a-z][\w-]*){0,2})"
    r"\s*\.$"
)
_KO_WORD = r"[가-힣A-Za-z][가-힣A-Za-z0-9_-]*"
# "리스트(list)는 ... 모음입니다."
_KO_TOPIC = re.compile(
    rf"^(?P<x>(?:{_KO_WORD}\s)?{_KO_WORD}?(?:\([^()]{{1,40}}\))?)(?P<p>은|는)\s+\S.*입니다\.$"
)
# "... 같은 객체를 가리키는 두 이름을 별칭(alias)이라고 합니다."
_KO_CALLED = re.compile(
    rf"(?:을|를)\s+(?P<x>(?:{_KO_WORD}\s)?{_KO_WORD}?(?:\([^()]{{1,40}}\))?)"
    r"(?P<p>이라고|라고)\s+(?:합니다|부릅니다)\.$"
)


@dataclass(frozen=True)
class _Definition:
    term: str  # as asked about: "list", "a nested list", "리스트(list)"
    key: str  # for deduplication and key terms: "list", "nested list", "리스트"
    reference: str  # verbatim from the chunk
    question: str
    from_list: bool  # a key-term list item (the course's own definition)
    introduced: bool = True  # the sentence introduces the term ("is called", a gloss)


def _head(term: str) -> str:
    """A term without its gloss or article: ``리스트(list)`` -> ``리스트``."""
    head = _TRAILING_GLOSS.sub("", term).strip() or term.strip()
    return re.sub(r"^(?:an?|the)\s+", "", head, flags=re.IGNORECASE).strip("` ")


def _en_question(term: str, definition: str) -> str:
    """The English question about a listed term.

    "What is a list?" when the definition reads like a noun's ("an ordered ..."), "What is
    NumPy?" for names and code, else "What does “mutable” mean?" (a bare noun would read
    badly: "What is label?").
    """
    lead = definition.split(maxsplit=1)[0].lower() if definition.split() else ""
    if "`" in term or any(ch.isupper() for ch in term):
        return f"What is {term}?"
    if lead in ("a", "an"):
        article = "an" if term[:1].lower() in "aeiou" else "a"
        return f"What is {article} {term}?"
    return f"What does “{term}” mean?"


def _ko_question(term: str) -> str:
    return f"{with_particle(term, '이란', '란')} 무엇인가요?"


def _term_definition(term: str, definition: str, lang: str) -> _Definition:
    question = _ko_question(term) if lang == "ko" else _en_question(term, definition)
    return _Definition(term, _head(term), definition, question, True)


def _sentence_definition(sentence: str, lang: str) -> _Definition | None:
    if lang == "ko":
        for pattern in (_KO_TOPIC, _KO_CALLED):
            match = pattern.search(sentence)
            if not match:
                continue
            term, particle = match.group("x").strip(), match.group("p")
            agrees = has_final_consonant(term) == (particle in ("은", "이라고"))
            if term and agrees and _head(term) not in _KO_STOP_SUBJECTS:
                glossed = term.endswith(")")
                return _Definition(term, _head(term), sentence, _ko_question(term), False, glossed)
        return None
    match = _EN_CALLED.search(sentence)
    if match:
        term = match.group("x")
        if _head(term).lower() not in _EN_STOP_SUBJECTS:
            question = f"What {match.group('verb')} {term}?"
            return _Definition(term, _head(term), sentence, question, False)
    match = _EN_IS_A.match(sentence)
    if match:
        term = match.group("noun") or match.group("name")
        if term.split()[0].lower() in _EN_STOP_SUBJECTS or term.lower() == "python":
            return None
        article = match.group("article")
        asked = f"{article.lower()} {term}" if article else term
        return _Definition(asked, term, sentence, f"What is {asked}?", False, bool(article))
    return None


# --------------------------------------------------------------------------- cloze

# Particles and endings that may follow a Korean noun: a key term is matched only when
# what follows it is one of these (or not Hangul), so 변수 is not found inside 변수명.
_KO_FOLLOWERS = tuple(
    sorted(
        [
            "은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "도", "만", "로", "으로",
            "라고", "이라고", "란", "이란", "라는", "이라는", "처럼", "보다", "까지", "부터",
            "에서", "에게", "이나", "나", "이며", "며", "이고", "고", "입니다", "이다", "였",
            "이었", "인", "일", "과의", "와의", "에는", "에서는", "으로는", "로는", "들", "마다",
            "조차", "뿐"
        ],
        key=len,
        reverse=True,
    )
)  # fmt: skip


@dataclass(frozen=True)
class _Term:
    text: str  # the form blanked and offered as an option: "list", "리스트", "append"
    lesson: str


@dataclass(frozen=True)
class _Cloze:
    sentence: str
    question: str
    options: tuple[str, ...]
    answer_index: int
    answer: str


def _occurrence(term: str, sentence: str, lang: str) -> int:
    """Where ``term`` occurs as a whole word (a Korean noun may carry a particle), or -1."""
    for match in re.finditer(re.escape(term), sentence):
        start, end = match.span()
        before = sentence[start - 1] if start else " "
        after = sentence[end:]
        if re.match(r"[\w-]", before) or after.startswith("("):
            continue
        if before == "(" and after.startswith(")"):  # a gloss: 발생시킵니다(raise)
            continue
        if lang == "ko" and _HANGUL.match(after[:1] or " "):
            if not after.startswith(_KO_FOLLOWERS):
                continue
        elif re.match(r"[\w-]", after[:1] or " "):
            continue
        return start
    return -1


def _slot(sentence: str, start: int, end: int, lang: str) -> tuple[str, str]:
    """What the words around a blank demand of the answer: (a/an before, particle after)."""
    before = sentence[:start].rstrip().rsplit(maxsplit=1)
    article = before[-1].lower() if before and lang == "en" else ""
    after = sentence[end : end + 1]
    return article if article in ("a", "an") else "", after if _HANGUL.match(after) else ""


def _particle_needs_final(particle: str) -> bool | None:
    pairs = {"은": True, "는": False, "이": True, "가": False, "을": True, "를": False,
             "과": True, "와": False, "으": True}  # fmt: skip
    return pairs.get(particle)


def _compatible(term: str, slot: tuple[str, str]) -> bool:
    article, particle = slot
    if article and (term[:1].lower() in "aeiou") != (article == "an"):
        return False
    needs_final = _particle_needs_final(particle) if particle else None
    return needs_final is None or has_final_consonant(term) == needs_final


def _make_cloze(
    sentence: str,
    *,
    lang: str,
    lesson: str,
    terms: Sequence[_Term],
    rng: random.Random,
    used: set[str],
) -> _Cloze | None:
    """Blank the longest key term of the sentence not yet blanked in this lesson."""
    found = [
        (t, pos)
        for t in terms
        if t.text.casefold() not in used and (pos := _occurrence(t.text, sentence, lang)) >= 0
    ]
    if not found:
        return None
    found.sort(key=lambda tp: (-len(tp[0].text), tp[0].lesson != lesson, tp[1]))
    answer, start = found[0]
    end = start + len(answer.text)
    slot = _slot(sentence, start, end, lang)
    folded = sentence.casefold()
    answer_key = answer.text.casefold()
    seen = {answer_key}
    candidates: list[_Term] = []
    for t in terms:
        key = t.text.casefold()
        if key in seen or key in folded or key in answer_key or answer_key in key:
            continue
        seen.add(key)
        candidates.append(t)
    same = [t.text for t in candidates if t.lesson == lesson]
    other = [t.text for t in candidates if t.lesson != lesson]
    rng.shuffle(same)
    rng.shuffle(other)
    ranked = same + other
    distractors = [t for t in ranked if _compatible(t, slot)]
    distractors += [t for t in ranked if t not in distractors]
    if len(distractors) < N_OPTIONS - 1:
        return None
    options = [answer.text, *distractors[: N_OPTIONS - 1]]
    rng.shuffle(options)
    blanked = sentence[:start] + BLANK + sentence[end:]
    lead = "빈칸에 들어갈 말을 고르세요:" if lang == "ko" else "Fill in the blank:"
    return _Cloze(
        sentence=sentence,
        question=f"{lead} {blanked}",
        options=tuple(options),
        answer_index=options.index(answer.text),
        answer=answer.text,
    )


# ------------------------------------------------------------------------ extraction


@dataclass
class _Lesson:
    """What one lesson in one language offers, in source order."""

    course: str
    key: str  # lesson id, or doc id when the chunk has none
    lang: str
    level: int | None
    definitions: list[tuple[_Definition, Chunk]] = field(default_factory=list)
    sentences: list[tuple[str, Chunk]] = field(default_factory=list)


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _verbatim(text: str, chunk: Chunk) -> bool:
    """The text occurs in the chunk as written (line breaks may differ)."""
    return bool(text) and _normalize(text) in _normalize(chunk.text)


# Sentences that lean on the one before ("It ...", "이는 ...") do not stand alone.
_LEANING = re.compile(
    r"^(?:(?:it|its|this|that|these|those|they|them|here|there|so|but|and|or|also|then|"
    r"instead|otherwise|finally|however)\b|(?:이|그|저)\s|(?:이것|그것|이는|이렇게|그래서|하지만|"
    r"그러나|그러면|그런데|여기서|또한|즉|대신|마지막으로)(?=\s|[은는이가을를,]))",
    re.IGNORECASE,
)
# ... or point at something on the page ("the code below").
_POINTING = re.compile(r"\b(?:below|above|following)\b|아래|위의|다음 (?:코드|예|표)")


def _sentence_ok(sentence: str, lang: str) -> bool:
    words = len(sentence.split())
    if "`" in sentence or sentence.endswith("?") or "](" in sentence:
        return False
    if _LEANING.match(sentence) or _POINTING.search(sentence):
        return False
    if lang == "ko":
        return 20 <= len(sentence) <= 200 and words >= 4
    return 40 <= len(sentence) <= 250 and words >= 7


def _lessons(chunks: Iterable[Chunk], langs: Sequence[str]) -> list[_Lesson]:
    usable = [c for c in chunks if c.kind in GENERATED_KINDS and c.lang in langs]
    usable.sort(key=lambda c: (c.course, c.lesson_id or c.doc_id, c.doc_id, c.index))
    lessons: dict[tuple[str, str, str], _Lesson] = {}
    for chunk in usable:
        key = chunk.lesson_id or chunk.doc_id
        lesson = lessons.setdefault(
            (chunk.course, key, chunk.lang), _Lesson(chunk.course, key, chunk.lang, chunk.level)
        )
        if lesson.level is None:
            lesson.level = chunk.level
        for unit in split_units(chunk.text, passage=0):
            if unit.kind == "term":
                if _verbatim(unit.definition, chunk) and len(unit.definition) >= 10:
                    definition = _term_definition(unit.term, unit.definition, chunk.lang)
                    lesson.definitions.append((definition, chunk))
            elif unit.kind == "sentence" and _verbatim(unit.text, chunk):
                defined = _sentence_definition(unit.text, chunk.lang)
                if defined is not None and "`" not in unit.text and len(unit.text) <= 300:
                    lesson.definitions.append((defined, chunk))
                if _sentence_ok(unit.text, chunk.lang):
                    lesson.sentences.append((unit.text, chunk))
    order = {lang: i for i, lang in enumerate(langs)}
    return sorted(lessons.values(), key=lambda ls: (ls.course, ls.key, order[ls.lang]))


def _key_terms(lessons: Sequence[_Lesson]) -> dict[tuple[str, str], list[_Term]]:
    """Per (course, lang): each term of the key-term lists once (its head form), in lesson
    order; a course without such lists falls back on the terms its sentences introduce."""
    terms: dict[tuple[str, str], list[_Term]] = defaultdict(list)
    for from_list in (True, False):
        seen: set[tuple[str, str, str]] = set()
        for lesson in lessons:
            if not from_list and (lesson.course, lesson.lang) in terms:
                continue
            for definition, _chunk in lesson.definitions:
                if definition.from_list != from_list or not definition.introduced:
                    continue
                text = definition.key
                mark = (lesson.course, lesson.lang, text.casefold())
                if len(text) < 2 or mark in seen:
                    continue
                seen.add(mark)
                terms[(lesson.course, lesson.lang)].append(_Term(text, lesson.key))
    return terms


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_]+|[\uac00-\ud7a3]+", text.lower())


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / len(a | b) >= 0.6


# --------------------------------------------------------------------------- records


def _record(
    *,
    lesson: _Lesson,
    chunk: Chunk,
    question: str,
    reference: str | None,
    tags: Sequence[str],
    options: Sequence[str] = (),
    answer_index: int | None = None,
) -> dict[str, Any]:
    return {
        "id": "",  # numbered per lesson and language once the drafts are picked
        "question": question,
        "lang": lesson.lang,
        "level": lesson.level,
        "options": list(options),
        "answer_index": answer_index,
        "reference": reference,
        "gold_sources": [lesson.key],
        "exercise_id": None,
        "tags": list(tags),
        "expect": "answer",
        "draft": True,
        "source": {
            "doc_id": chunk.doc_id,
            "title": chunk.title,
            "heading": " > ".join(chunk.heading_path),
            "lines": [chunk.line_start, chunk.line_end],
        },
    }


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-") or "lesson"


def generate_questions(
    chunks: Iterable[Chunk],
    *,
    per_lesson: int = 5,
    langs: Sequence[str] = ("en", "ko"),
    tokenizer: Tokenize | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Offline drafts: definition and cloze questions, at most ``per_lesson`` per lesson and
    language, alternating (definition first) while both kinds last.

    A question already drafted (in the same language) is not asked again, and a sentence
    much like one already used in the lesson is skipped: ``tokenizer`` (e.g.
    ``knowledge.lexical.Tokenizer().tokenize``) compares them, Korean particles aside;
    without it, plain words are compared. Deterministic: the same chunks and ``seed`` give
    the same drafts in the same order, whatever the order of ``chunks``.
    """
    lessons = _lessons(chunks, langs)
    key_terms = _key_terms(lessons)
    novelty = _Novelty(tokenizer or _words)
    out: list[dict[str, Any]] = []
    for lesson in lessons:
        draft = _LessonDrafts(lesson, key_terms.get((lesson.course, lesson.lang), []), seed)
        novelty.quoted.clear()
        sources = [draft.definitions(novelty), draft.clozes(novelty)]
        picked: list[dict[str, Any]] = []
        while sources and len(picked) < per_lesson:
            for source in list(sources):
                record = next(source, None)
                if record is None:
                    sources.remove(source)
                elif len(picked) < per_lesson:
                    picked.append(record)
        for n, record in enumerate(picked, start=1):
            record["id"] = f"gen-{_slug(lesson.key)}-{lesson.lang}-{n}"
        out.extend(picked)
    return out


class _Novelty:
    """Questions drafted so far (per language, across the course) and the sentences quoted
    in the current lesson, as token sets."""

    def __init__(self, tokenize: Tokenize) -> None:
        self.tokenize = tokenize
        self.asked: set[tuple[str, str]] = set()
        self.quoted: list[set[str]] = []

    def accept(self, lang: str, question: str, quoted: str) -> bool:
        """Record and accept a draft unless its question was asked or its quote is close to
        one already used."""
        mark = (lang, _normalize(question).casefold())
        tokens = set(self.tokenize(quoted))
        if mark in self.asked or any(_similar(tokens, seen) for seen in self.quoted):
            return False
        self.asked.add(mark)
        self.quoted.append(tokens)
        return True


class _LessonDrafts:
    """The drafts one lesson offers, made lazily so that what is picked first (questions
    asked, sentences quoted, terms blanked) shapes what comes next."""

    def __init__(self, lesson: _Lesson, terms: list[_Term], seed: int) -> None:
        self.lesson = lesson
        self.terms = terms
        self.seed = seed

    def definitions(self, novelty: _Novelty) -> Iterator[dict[str, Any]]:
        """The course's own key-term list first, then definitional sentences."""
        lesson = self.lesson
        known = {t.text.casefold() for t in self.terms}
        defined: set[str] = set()
        for definition, chunk in sorted(lesson.definitions, key=lambda dc: not dc[0].from_list):
            key = definition.key.casefold()
            if key in defined or not (definition.introduced or key in known):
                continue
            if not novelty.accept(lesson.lang, definition.question, definition.reference):
                continue
            defined.add(key)
            yield _record(
                lesson=lesson,
                chunk=chunk,
                question=definition.question,
                reference=definition.reference,
                tags=("generated", "definition"),
            )

    def clozes(self, novelty: _Novelty) -> Iterator[dict[str, Any]]:
        """Key sentences first: those mentioning the most key terms, then source order."""
        lesson = self.lesson
        mentions = [
            sum(_occurrence(t.text, sentence, lesson.lang) >= 0 for t in self.terms)
            for sentence, _chunk in lesson.sentences
        ]
        blanked: set[str] = set()
        for i in sorted(range(len(mentions)), key=lambda i: (-mentions[i], i)):
            if mentions[i] == 0:
                return
            sentence, chunk = lesson.sentences[i]
            rng = random.Random(f"{self.seed}:{lesson.course}:{lesson.key}:{lesson.lang}:{i}")
            cloze = _make_cloze(
                sentence, lang=lesson.lang, lesson=lesson.key, terms=self.terms, rng=rng,
                used=blanked,
            )  # fmt: skip
            if cloze is None or not novelty.accept(lesson.lang, cloze.question, sentence):
                continue
            blanked.add(cloze.answer.casefold())
            yield _record(
                lesson=lesson,
                chunk=chunk,
                question=cloze.question,
                reference=sentence,
                tags=("generated", "cloze"),
                options=cloze.options,
                answer_index=cloze.answer_index,
            )


# ------------------------------------------------------------------------------- LLM


def parse_generated(text: str) -> list[dict[str, Any]]:
    """The valid questions in a model's reply, in order; anything else is skipped.

    Accepts one JSON object a line (with or without a ```json fence, list numbering or
    trailing commas) or one JSON array. A question needs a non-empty ``question``;
    ``reference`` is a string or absent; ``options`` (when given) 2..6 distinct strings
    with an ``answer_index`` inside them. Returns ``{question, reference, options,
    answer_index, kind}`` dicts (``kind``: ``definition`` | ``cloze`` | ``concept``).
    """
    body = re.sub(r"^\s*```[\w-]*\s*$", "", text or "", flags=re.MULTILINE).strip()
    raws: list[Any] = []
    try:
        whole = json.loads(body)
    except (json.JSONDecodeError, ValueError):
        whole = None
    if isinstance(whole, list):
        raws = whole
    elif isinstance(whole, dict):
        raws = [whole]
    else:
        for line in body.splitlines():
            start, end = line.find("{"), line.rfind("}")
            if start < 0 or end <= start:
                continue
            try:
                raws.append(json.loads(line[start : end + 1]))
            except (json.JSONDecodeError, ValueError):
                continue
    out = []
    for raw in raws:
        question = _parsed(raw)
        if question is not None:
            out.append(question)
    return out


def _parsed(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        return None
    reference = raw.get("reference")
    if reference is not None and not isinstance(reference, str):
        return None
    options = raw.get("options") or []
    answer_index = raw.get("answer_index")
    if not isinstance(options, list):
        return None
    if options:
        if not 2 <= len(options) <= 6 or not all(isinstance(o, str) and o.strip() for o in options):
            return None
        options = [o.strip() for o in options]
        if len(set(options)) != len(options):
            return None
        if isinstance(answer_index, bool) or not isinstance(answer_index, int):
            return None
        if not 0 <= answer_index < len(options):
            return None
    else:
        answer_index = None
    kind = raw.get("kind")
    if kind not in ("definition", "cloze", "concept"):
        kind = "cloze" if options else "concept"
    return {
        "question": question.strip(),
        "reference": (reference or "").strip() or None,
        "options": options,
        "answer_index": answer_index,
        "kind": kind,
    }


def generate_with_llm(
    chunks: Iterable[Chunk],
    chat_model: Any,
    *,
    per_lesson: int = 5,
    langs: Sequence[str] = ("en", "ko"),
) -> list[dict[str, Any]]:
    """Drafts written by a chat model: one prompt per lesson and language.

    ``chat_model`` is anything with ``invoke(messages)`` returning a message with a string
    ``content`` (a LangChain chat model). Only lesson, reference and FAQ chunks are sent;
    replies are read with :func:`parse_generated` and bad lines skipped. The records have
    the offline drafts' shape, tags ``["generated", "llm", <kind>]`` and ids
    ``gen-<lesson>-<lang>-llm<n>``.
    """
    usable = [c for c in chunks if c.kind in GENERATED_KINDS and c.lang in langs]
    usable.sort(key=lambda c: (c.course, c.lesson_id or c.doc_id, c.doc_id, c.index))
    groups: dict[tuple[str, str, str], list[Chunk]] = defaultdict(list)
    for chunk in usable:
        groups[(chunk.course, chunk.lesson_id or chunk.doc_id, chunk.lang)].append(chunk)
    order = {lang: i for i, lang in enumerate(langs)}
    out: list[dict[str, Any]] = []
    for (course, key, lang), group in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], order[kv[0][2]])
    ):
        passage = "\n\n".join(c.text for c in group)[:_MAX_PASSAGE_CHARS]
        prompt = render(
            "eval/generate.text",
            title=group[0].title,
            passage=passage,
            lang=lang,
            count=per_lesson,
        )
        reply = chat_model.invoke([("human", prompt)])
        content = getattr(reply, "content", reply)
        lesson = _Lesson(course, key, lang, next((c.level for c in group if c.level), None))
        parsed = parse_generated(content if isinstance(content, str) else "")
        for n, item in enumerate(parsed[: max(per_lesson, 0)], start=1):
            record = _record(
                lesson=lesson,
                chunk=group[0],
                question=item["question"],
                reference=item["reference"],
                tags=("generated", "llm", item["kind"]),
                options=item["options"],
                answer_index=item["answer_index"],
            )
            record["id"] = f"gen-{_slug(key)}-{lang}-llm{n}"
            out.append(record)
    return out

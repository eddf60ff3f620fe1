"""Style: is the answer in the right language, of the right length and reading level?

All three look at the answer's prose only: fenced code, URLs, citation markers and header
lines are removed first (:func:`eval.metrics.groundedness.split_units`). Inline code is
left out of the language count and counts as one (technical) word for length and reading.

``language_match`` (1.0 / 0.0). The Hangul share of letters, ``hangul / (hangul + latin)``
(Hangul syllables and jamo vs ``A-Za-z``). Korean course text keeps many English terms
(ML-For-Beginners' Korean lessons: median paragraph share 0.68, a quarter below 0.48, Korean
sentences full of English names go down to 0.2), so an answer is Korean from
``KO_MIN_HANGUL`` (0.2) and English up to ``EN_MAX_HANGUL`` (0.1); in between it is mixed
and matches neither. An answer in the other language matches only if the caller passes a
notice (e.g. the answerer's "the material is only in English, so the original is quoted"):
the notice texts are removed before counting, and the reason says the notice excused it.

``answer_length`` (1.0 / 0.0). Words of prose: whitespace-separated tokens with a letter or
digit (for Korean these are eojeol). Bands per level, ``LENGTH_BANDS``, from the tutoring
policy: Lv1 a short direct answer (2-3 sentences) plus definitions of up to three terms and
one example (whose code is not counted); Lv2/Lv3 three to five sentences and an example;
Lv4 one or two sentences and pointers. English sentences of the course material average
16 words (ML-For-Beginners lessons, median per lesson), so Lv1 = 3 x 16 + 3 definitions x
~20 + an example line comes to ~120 words: the band is 20..150. Korean text has 0.65 eojeol
per English word (median over the same lessons in both languages), so the Korean bands are
the English ones x 0.65. Each sentence is counted in its own language (Korean when its
Hangul share is at least ``KO_MIN_HANGUL``), and a mixed answer (a Korean notice before
English quotes) is converted at 0.65 into the units of the language with more text.

``reading_level`` (1.0 / 0.0). English: LIX (Björnsson 1968), ``words / sentences + 100 x
long words / words``, where a long word has more than 6 letters or is a technical token
(``snake_case``, ``obj.attr``, ``call()``, ``camelCase``, letters mixed with digits).
LIX < 30 is very easy, 40 medium, > 60 very hard; ML-For-Beginners lessons score 36..51
(10th..90th percentile, median 41). Korean: mean eojeol per sentence (word length does not
carry over to Hangul syllable blocks); the same lessons in Korean: 9.6..13.7 (median 11.4).
English and Korean sentences of a mixed answer are measured apart; both must be in band.
Bands are ceilings (simpler text is never wrong for a level), ``READING_BANDS``: Lv1 must
read like an easy lesson, each level above allows a little more.

``latency``: the answer time in ms as the value (aggregated as p50/p95 by the catalog).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eval.metrics.groundedness import clean, prose_units
from eval.metrics.score import Score, not_applicable

KO_MIN_HANGUL = 0.2
EN_MAX_HANGUL = 0.1
KO_WORDS_PER_EN_WORD = 0.65

# (min, max) words of prose per level.
LENGTH_BANDS: dict[str, dict[int, tuple[int, int]]] = {
    "en": {1: (20, 150), 2: (20, 180), 3: (20, 200), 4: (8, 100)},
}
LENGTH_BANDS["ko"] = {
    level: (round(lo * KO_WORDS_PER_EN_WORD), round(hi * KO_WORDS_PER_EN_WORD))
    for level, (lo, hi) in LENGTH_BANDS["en"].items()
}  # {1: (13, 98), 2: (13, 117), 3: (13, 130), 4: (5, 65)}

# (min, max) of the readability measure per level: LIX for English, mean eojeol per
# sentence for Korean (roughly English words per sentence x 0.7).
READING_BANDS: dict[str, dict[int, tuple[float, float]]] = {
    "en": {1: (0.0, 50.0), 2: (0.0, 55.0), 3: (0.0, 60.0), 4: (0.0, 65.0)},
    "ko": {1: (0.0, 14.0), 2: (0.0, 16.0), 3: (0.0, 18.0), 4: (0.0, 20.0)},
}
LONG_WORD_LETTERS = 6  # LIX: a long word has more than 6 letters

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN = re.compile(r"[A-Za-z]")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_URL = re.compile(r"https?://\S+|\]\([^)]*\)")
_WORD = re.compile(r"[^\W_]")
_TECHNICAL = re.compile(r"\w_\w|[A-Za-z]\.[A-Za-z]|\w\(|[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]")
_CODE_TOKEN = " code_span "  # an inline code span counts as one (technical) word
_EDGE_PUNCT = re.compile(r"^[^\w`]+|[^\w`)]+$")


def _sentences(answer: str, *, remove: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Per prose unit: (text with each inline code span as one technical word, text without
    inline code); URLs dropped, ``remove`` texts cut out first."""
    for text in remove:
        if text.strip():
            answer = answer.replace(text.strip(), " ")
    out = []
    for unit in prose_units(answer):
        text = _URL.sub(" ", unit.text)
        pair = (clean(_INLINE_CODE.sub(_CODE_TOKEN, text)), clean(_INLINE_CODE.sub(" ", text)))
        if pair[0]:
            out.append(pair)
    return out


def _is_korean(text: str) -> bool:
    share = hangul_share([text])
    return share is not None and share >= KO_MIN_HANGUL


def hangul_share(texts: Sequence[str]) -> float | None:
    """Hangul letters / (Hangul + Latin letters); None without letters."""
    hangul = sum(len(_HANGUL.findall(t)) for t in texts)
    latin = sum(len(_LATIN.findall(t)) for t in texts)
    return hangul / (hangul + latin) if hangul + latin else None


def _lang_of(share: float) -> str:
    if share >= KO_MIN_HANGUL:
        return "ko"
    return "en" if share <= EN_MAX_HANGUL else "mixed"


def _level(level: int) -> int:
    return min(max(int(level), 1), 4)


def _words(text: str) -> list[str]:
    return [w for w in text.split() if _WORD.search(w)]


def language_match(answer: str, expected_lang: str, *, notices: Sequence[str] = ()) -> Score:
    """1.0 when the answer's prose is in ``expected_lang`` (``en``/``ko``) or a notice
    explains why it is not (module doc)."""
    if expected_lang not in ("en", "ko"):
        return not_applicable(f"unknown language {expected_lang!r}")
    notices = [n for n in notices if n.strip()]
    share = hangul_share([plain for _, plain in _sentences(answer, remove=notices)])
    if share is None:
        return not_applicable("no letters in the answer's prose")
    found = _lang_of(share)
    details = {"hangul_share": round(share, 3), "detected": found}
    where = f"Hangul {share:.0%} of letters"
    if found == expected_lang:
        return Score(1.0, f"in {expected_lang} ({where})", details)
    if notices:
        details["notices"] = list(notices)
        return Score(
            1.0,
            f"{found}, not {expected_lang} ({where}), and a notice says so: {notices[0]!r}",
            details,
        )
    return Score(0.0, f"{found}, not {expected_lang} ({where}), and no notice says why", details)


def answer_length(answer: str, level: int, *, lang: str | None = None) -> Score:
    """1.0 when the prose length is in the level's band (module doc).

    Korean sentences count eojeol, the others English words; a mixed answer (a Korean notice
    before English quotes) is counted in the units of its main language, converting the rest
    at ``KO_WORDS_PER_EN_WORD``. ``lang`` (``en``/``ko``) forces the band."""
    units = _sentences(answer)
    ko = sum(len(_words(text)) for text, plain in units if _is_korean(plain))
    en = sum(len(_words(text)) for text, plain in units if not _is_korean(plain))
    if lang not in LENGTH_BANDS:
        lang = "ko" if ko / KO_WORDS_PER_EN_WORD > en else "en"
    if lang == "ko":
        n = round(ko + en * KO_WORDS_PER_EN_WORD)
    else:
        n = round(en + ko / KO_WORDS_PER_EN_WORD)
    level = _level(level)
    lo, hi = LENGTH_BANDS[lang][level]
    unit = "eojeol" if lang == "ko" else "words"
    if ko and en:
        unit += f" (en {en} words + ko {ko} eojeol)"
    details = {"words": n, "band": [lo, hi], "lang": lang, "en_words": en, "ko_eojeol": ko}
    if n < lo:
        return Score(0.0, f"{n} {unit}: shorter than {lo} for Lv{level}", details)
    if n > hi:
        return Score(0.0, f"{n} {unit}: longer than {hi} for Lv{level}", details)
    return Score(1.0, f"{n} {unit}, within {lo}..{hi} for Lv{level}", details)


def is_long_word(word: str) -> bool:
    """LIX long word (more than 6 letters) or a technical token."""
    core = _EDGE_PUNCT.sub("", word)
    letters = sum(1 for c in core if c.isalpha())
    return letters > LONG_WORD_LETTERS or _TECHNICAL.search(core) is not None


def readability(sentences: Sequence[str], lang: str) -> dict[str, float]:
    """The measures of ``reading_level`` for a list of sentences (module doc)."""
    counts = [len(_words(s)) for s in sentences]
    counts = [c for c in counts if c]
    if not counts:
        return {}
    mean_words = sum(counts) / len(counts)
    if lang == "ko":
        return {"score": mean_words, "mean_sentence_words": mean_words}
    words = [w for s in sentences for w in _words(s)]
    long_share = sum(map(is_long_word, words)) / len(words)
    return {
        "score": mean_words + 100.0 * long_share,
        "mean_sentence_words": mean_words,
        "long_word_share": long_share,
    }


def reading_level(answer: str, level: int) -> Score:
    """1.0 when the answer's readability is within the level's band (module doc). English
    and Korean sentences are measured apart, each against its own band; both must pass."""
    units = _sentences(answer)
    groups = {
        "en": [text for text, plain in units if not _is_korean(plain)],
        "ko": [text for text, plain in units if _is_korean(plain)],
    }
    level = _level(level)
    details: dict[str, dict] = {}
    parts: list[str] = []
    ok = True
    for lang, sentences in groups.items():
        measures = readability(sentences, lang)
        if not measures:
            continue
        lo, hi = READING_BANDS[lang][level]
        score = measures["score"]
        within = lo <= score <= hi
        ok = ok and within
        details[lang] = {k: round(v, 3) for k, v in measures.items()} | {"band": [lo, hi]}
        if lang == "ko":
            what = f"{score:.1f} eojeol per sentence"
        else:
            what = (
                f"LIX {score:.0f} ({measures['mean_sentence_words']:.1f} words per sentence, "
                f"{measures['long_word_share']:.0%} long words)"
            )
        parts.append(f"{what}: {'within' if within else 'outside'} {lo:g}..{hi:g}")
    if not details:
        return not_applicable("no prose to read")
    return Score(1.0 if ok else 0.0, f"{'; '.join(parts)} for Lv{level}", details)


def latency(ms: float | None) -> Score:
    """The answer time in milliseconds as the value."""
    if ms is None:
        return not_applicable("not timed")
    return Score(float(ms), f"{ms:.0f} ms")

"""Multiple-choice questions: pick one of the given options from the retrieved passages.

Two pickers share the ``OptionPicker`` Protocol and return a ``Choice`` (the option index or
``None``, a score per option, a reason and the evidence sentences):

- ``EvidenceOptionPicker`` (offline, no LLM): the option best supported by the passages.
- ``LLMOptionPicker``: asks a LangChain chat model for a letter (prompt
  ``prompts/tutor/choice.text.j2``); ``parse_choice`` reads the reply.

Retrieve the passages with ``search_text(question, options)``: the options name the
concepts the question is about (on the ML-For-Beginners quiz, hit@5 0.87 -> 0.92 and
picking accuracy 0.79 -> 0.84 against searching with the question alone).

How the offline picker scores an option:

1. *Units*: the passages' sentences, list items and code blocks (``tutor/chat/sentences.py``),
   embedded in one batch with the question, the statements and the options.
2. *Statement*: the question with the option filled in (into the blank ``___`` when the
   question has one, else appended), without the negation word of a NOT question.
3. *Support from one unit* = cosine(statement, unit) + ``option`` x cosine(option, unit)
   + ``lexical`` x the IDF-weighted share of the option's *distinctive* words found in the
   unit (``Weights``). Distinctive words are the option's own: words shared by every option
   or taken from the question say nothing about which option is right (so "model.train"
   gets no credit for "training" in "start the training process"), and a word found in no
   passage weighs most (made-up distractors such as "elocation" lose). An option's support
   is its best unit's, minus ``number`` when a number of the option is in no passage.
4. *Question forms* (``read_form``): a NOT / EXCEPT question picks the least supported
   option; "all/both of the above" wins when every other option's support over the
   question's own reaches ``all_share`` of the best one's; "none of the above" when no
   option reaches ``supported``; a true/false question is true when the statement's
   support reaches ``supported`` and its best sentence does not contradict it (a negation
   on one side only).

``analyse`` computes everything weight-free once per question and ``choose`` applies
``Weights``, so a benchmark can try many weightings for the price of one run.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from knowledge.lexical import Tokenizer
from knowledge.types import ScoredChunk
from prompts import render
from tutor.chat.sentences import Unit, split_units

EMBED_CHARS = 400  # units are embedded up to this many characters
MAX_UNITS = 80  # at most this many units are embedded (those sharing most words with the claims)

# "What can it NOT do?", "all EXCEPT", "Which of these is not ...", "is not true", "아닌 것은".
_NEGATED = re.compile(
    r"\bNOT\b|\b(?i:except)\b|\bincorrect\b|\bfalse\s+about\b|\bleast\s+likely\b"
    r"|^(?i:which)\b[^?]{0,60}?\bnot\b|\bis\s+not\s+(?:true|correct)\b"
    r"|아닌\s*것|않은\s*것|틀린\s*것|옳지\s*않은"
)
_NEGATION_WORD = re.compile(r"\s*\b(?:NOT|not|EXCEPT|except)\b")
_BLANK = re.compile(r"_{2,}")
_ALL = re.compile(
    r"^\s*(?:(?:all|both)\s+(?:of\s+)?(?:the\s+)?(?:above|these|of\s+these)"
    r"|(?:위의?\s*)?(?:보기\s*)?모두(?:\s*맞[음다])?|둘\s*다(?:\s*맞[음다])?)\W*$",
    re.I,
)
_NONE = re.compile(
    r"^\s*(?:(?:none|neither)\s+(?:of\s+)?(?:the\s+)?(?:above|these)|해당\s*없음|정답\s*없음)\W*$",
    re.I,
)
_TRUE = frozenset({"true", "t", "o", "yes", "correct", "참", "맞다", "맞음", "예"})
_FALSE = frozenset({"false", "f", "x", "no", "incorrect", "거짓", "틀리다", "틀림", "아니오"})
_NEGATION_CUE = re.compile(
    r"\b(?:not|no|never|cannot|can't|don't|doesn't|isn't|aren't|won't|without|neither|nor)\b",
    re.I,
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SUFFIX = re.compile(r"(?:ies|es|s|ing|ed|ly)$")


# --- the result and the role ------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """The sentence that supports ``option`` best, from passage ``passage`` (1-based)."""

    option: int
    passage: int
    sentence: str


@dataclass(frozen=True)
class Choice:
    """The picked option (``index``, 0-based; ``None`` when no pick could be made), one score
    per option (higher = better supported by the passages; NOT questions pick the lowest),
    a one-line reason, and the best evidence sentence of each option."""

    index: int | None
    scores: tuple[float, ...]
    reason: str
    evidence: tuple[Evidence, ...] = ()


class OptionPicker(Protocol):
    def pick(
        self, question: str, options: Sequence[str], passages: list[ScoredChunk]
    ) -> Choice: ...


def search_text(question: str, options: Sequence[str]) -> str:
    """What to search the course with for a multiple-choice question: the question, then
    every option on its own line."""
    return "\n".join([question, *(str(o) for o in options)])


# --- reading the question ---------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionForm:
    """What the wording of a question and its options says about how to pick."""

    negated: bool  # "Which is NOT ...": the least supported option is the answer
    true_false: bool  # the options are "true" and "false"
    all_options: tuple[int, ...]  # "all of the above", "both of these"
    none_options: tuple[int, ...]  # "none of the above"

    def content(self, n_options: int) -> list[int]:
        """The options that state something (not "all/none of the above")."""
        skip = set(self.all_options) | set(self.none_options)
        return [i for i in range(n_options) if i not in skip]


def read_form(question: str, options: Sequence[str]) -> QuestionForm:
    words = [_word(o) for o in options]
    true_false = (
        len(words) == 2 and any(w in _TRUE for w in words) and any(w in _FALSE for w in words)
    )
    return QuestionForm(
        negated=bool(_NEGATED.search(question.strip())),
        true_false=true_false,
        all_options=tuple(i for i, o in enumerate(options) if _ALL.match(o)),
        none_options=tuple(i for i, o in enumerate(options) if _NONE.match(o)),
    )


def statement(question: str, option: str, *, negated: bool = False) -> str:
    """The question with ``option`` filled in: into the blank if there is one, else after it;
    a NOT question loses its negation (the statement is what a passage would support)."""
    text = _NEGATION_WORD.sub("", question, count=1) if negated else question
    if _BLANK.search(text):
        return _BLANK.sub(lambda _match: option, text, count=1)
    return f"{text.rstrip()} {option}"


# --- the offline picker -----------------------------------------------------------------------
@dataclass(frozen=True)
class Weights:
    """How the offline picker weighs its evidence (chosen with ``python -m bench.mcq``)."""

    option: float = 0.25  # cosine(option alone, unit), beside cosine(statement, unit)
    lexical: float = 0.4  # IDF share of the option's distinctive words that the unit holds
    number: float = 0.3  # subtracted when a number of the option is in no passage
    # "all/both of the above" wins when the weakest other option's support, above the
    # question's own (``Analysis.floor``), reaches this share of the best option's. On the
    # tuning quiz every such option (20) is the answer, so accuracy alone would push this
    # to "always"; 0.2 keeps 18 of them while picking "all" for only 30% of synthetic
    # negatives (one option swapped for another lesson's), against 72% for "always".
    all_share: float = 0.2
    # The support at which a claim counts as backed by the passages: a true/false
    # statement below it is false, and "none of the above" wins when no option reaches it.
    # The true statements of the tuning quiz scored 0.72-1.28, a false one 0.66 (too few,
    # 11, to tune; that one is caught by its negation).
    supported: float = 0.6


@dataclass(frozen=True)
class OptionSignals:
    """What the passages say about one option, unit by unit, before weighting."""

    index: int  # the option (0-based); for a true/false question, the "true" option
    statement: np.ndarray  # cosine(statement, unit)
    option: np.ndarray  # cosine(option text alone, unit)
    lexical: np.ndarray  # IDF share of the option's distinctive words in the unit
    number_missing: bool  # a number of the option appears in no unit


@dataclass(frozen=True)
class Analysis:
    """Everything the weights act on, computed once per question by ``analyse``."""

    form: QuestionForm
    n_options: int
    units: tuple[Unit, ...]
    floor: float  # the support the question alone gets: its best cosine to a unit
    signals: tuple[OptionSignals, ...]  # content options; true/false: the question itself
    contradiction: tuple[bool, ...] = ()  # true/false: negation mismatch, unit by unit

    def support(self, signals: OptionSignals, weights: Weights) -> tuple[float, int]:
        """The option's support and the unit (index into ``units``) that gives it."""
        per_unit = (
            signals.statement + weights.option * signals.option + weights.lexical * signals.lexical
        )
        best = int(np.argmax(per_unit))
        penalty = weights.number if signals.number_missing else 0.0
        return float(per_unit[best]) - penalty, best


class EvidenceOptionPicker:
    """Offline picker: the option best supported by sentences of the passages.

    ``embed`` maps texts to L2-normalised vectors: pass the multilingual USE model,
    ``CachedEmbedding(answer_embedding(kb.embeddings)).embed_array`` as for the answerer
    (``tutor/services.py``): about 30 texts a question, most of them passage sentences that
    other questions bring back. ``tokenizer`` is the knowledge base's.
    """

    def __init__(
        self,
        embed: Callable[[list[str]], np.ndarray],
        tokenizer: Tokenizer,
        *,
        weights: Weights | None = None,
    ) -> None:
        self._embed = embed
        self._tokenizer = tokenizer
        self.weights = weights or Weights()

    def pick(self, question: str, options: Sequence[str], passages: list[ScoredChunk]) -> Choice:
        analysis = self.analyse(question, options, passages)
        return analysis if isinstance(analysis, Choice) else choose(analysis, self.weights)

    def analyse(
        self, question: str, options: Sequence[str], passages: list[ScoredChunk]
    ) -> Analysis | Choice:
        """The weight-free signals of every option, or a ``Choice`` with ``index=None``
        when there is nothing to decide from."""
        options = [str(o) for o in options]
        if not options:
            return Choice(None, (), "no options")
        units = [
            u for p, hit in enumerate(passages) for u in split_units(hit.chunk.text, passage=p)
        ]
        if not units:
            return Choice(None, (0.0,) * len(options), "no passages to decide from")
        form = read_form(question, options)
        claims = _claims(question, options, form)
        if not claims:
            return Choice(None, (0.0,) * len(options), "no option states anything")
        units, stems = self._keep(units, question, claims)
        vectors = self._vectors(question, claims, units)
        words = _Words(stems)
        asked = self._stems(question)
        # A true/false statement's words all count; an option's own words only.
        own = (
            [asked]
            if form.true_false
            else _distinctive([self._stems(c.option) for c in claims], asked)
        )
        return Analysis(
            form=form,
            n_options=len(options),
            units=tuple(units),
            floor=float((vectors["units"] @ vectors["question"]).max()),
            signals=tuple(
                OptionSignals(
                    index=claim.index,
                    statement=vectors["units"] @ vectors["statements"][j],
                    option=vectors["units"] @ vectors["options"][j],
                    lexical=words.share(own[j]),
                    number_missing=_numbers_missing(claim.option, units),
                )
                for j, claim in enumerate(claims)
            ),
            contradiction=tuple(_negation_mismatch(question, u.text) for u in units)
            if form.true_false
            else (),
        )

    # --- steps --------------------------------------------------------------------------
    def _stems(self, text: str) -> set[str]:
        return {_stem(t) for t in self._tokenizer.tokenize(text)}

    def _keep(
        self, units: list[Unit], question: str, claims: list[_Claim]
    ) -> tuple[list[Unit], list[set[str]]]:
        """At most ``MAX_UNITS`` units (those sharing most words with the claims), in
        order, with their stems."""
        stems = [self._stems(u.text) for u in units]
        if len(units) <= MAX_UNITS:
            return units, stems
        wanted = self._stems(" ".join([question, *(c.option for c in claims)]))
        order = sorted(range(len(units)), key=lambda k: -len(stems[k] & wanted))
        keep = sorted(order[:MAX_UNITS])
        return [units[k] for k in keep], [stems[k] for k in keep]

    def _vectors(
        self, question: str, claims: list[_Claim], units: list[Unit]
    ) -> dict[str, np.ndarray]:
        """One embedding call for the statements, the options and the units."""
        n = len(claims)
        texts = [question, *(c.statement for c in claims), *(c.option for c in claims)]
        texts += [u.text[:EMBED_CHARS] for u in units]
        matrix = np.asarray(self._embed(texts), dtype=np.float32)
        return {
            "question": matrix[0],
            "statements": matrix[1 : 1 + n],
            "options": matrix[1 + n : 1 + 2 * n],
            "units": matrix[1 + 2 * n :],
        }


@dataclass(frozen=True)
class _Claim:
    index: int  # the option it stands for
    statement: str  # the question with the option filled in
    option: str  # the option's own text (for a true/false question: the question)


def _claims(question: str, options: list[str], form: QuestionForm) -> list[_Claim]:
    if form.true_false:
        true_index = next(i for i, o in enumerate(options) if _word(o) in _TRUE)
        return [_Claim(true_index, question, question)]
    return [
        _Claim(i, statement(question, options[i], negated=form.negated), options[i])
        for i in form.content(len(options))
    ]


class _Words:
    """IDF-weighted word overlap with the units of one request (IDF over the units)."""

    def __init__(self, stems: list[set[str]]) -> None:
        self.stems = stems
        self.df = Counter(s for unit in stems for s in unit)
        self.n = len(stems)

    def share(self, wanted: set[str]) -> np.ndarray:
        """Per unit, the IDF-weighted share of ``wanted`` that it holds. A word in no unit
        weighs most, so an option of made-up words ("elocation") finds little support."""
        weights = {w: math.log((self.n + 1) / (self.df.get(w, 0) + 0.5)) for w in wanted}
        total = sum(weights.values())
        if total <= 0:
            return np.zeros(self.n, dtype=np.float32)
        return np.array(
            [sum(weights[w] for w in wanted & unit) / total for unit in self.stems],
            dtype=np.float32,
        )


def _distinctive(option_stems: list[set[str]], asked: set[str]) -> list[set[str]]:
    """Each option's own words: not shared by every option, not taken from the question.
    (Falling back to the question's words for an option that has no others measured worse:
    0.846 vs 0.859.)"""
    shared = set.intersection(*option_stems) if len(option_stems) > 1 else set()
    return [s - shared - asked for s in option_stems]


def _stem(token: str) -> str:
    """A light suffix fold so that "clusters" meets "cluster" (matching only)."""
    return _SUFFIX.sub("", token) if len(token) > 4 else token


def _word(option: str) -> str:
    return option.strip().lower().rstrip(".")


def _numbers_missing(option: str, units: list[Unit]) -> bool:
    """Does a number of ``option`` appear in no unit?"""
    numbers = set(_NUMBER.findall(option))
    if not numbers:
        return False
    text = " ".join(u.text for u in units)
    return any(re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", text) is None for n in numbers)


def _negation_mismatch(claim: str, sentence: str) -> bool:
    return bool(_NEGATION_CUE.search(claim)) != bool(_NEGATION_CUE.search(sentence))


def choose(analysis: Analysis, weights: Weights) -> Choice:
    """Turn an ``Analysis`` into a pick, given the question's form and the weights."""
    if analysis.form.true_false:
        return _choose_true_false(analysis, weights)
    form = analysis.form
    support: dict[int, float] = {}
    found: list[Evidence] = []
    for signals in analysis.signals:
        value, best = analysis.support(signals, weights)
        support[signals.index] = value
        unit = analysis.units[best]
        found.append(Evidence(signals.index, unit.passage + 1, unit.text))
    scores = [support.get(i, 0.0) for i in range(analysis.n_options)]
    ranked = sorted(support, key=lambda i: -support[i])
    top, weakest = support[ranked[0]], support[ranked[-1]]
    if form.negated:
        best = ranked[-1]
        reason = f"{_letter(best)} is the least supported option (the question asks for NOT)"
    else:
        best = ranked[0]
        reason = f"{_letter(best)} is the best supported option"
    for i in form.all_options:
        scores[i] = weakest
    for i in form.none_options:
        scores[i] = weights.supported
    if form.negated:
        return Choice(best, tuple(round(s, 4) for s in scores), reason, tuple(found))
    share = (weakest - analysis.floor) / max(top - analysis.floor, 1e-6)
    if form.all_options and len(ranked) > 1 and share >= weights.all_share:
        best = form.all_options[0]
        reason = f"{_letter(best)}: every other option is supported (the weakest at {share:.0%})"
    elif form.none_options and top < weights.supported:
        best = form.none_options[0]
        reason = f"{_letter(best)}: no other option is supported (the best {top:.2f})"
    return Choice(best, tuple(round(s, 4) for s in scores), reason, tuple(found))


def _choose_true_false(analysis: Analysis, weights: Weights) -> Choice:
    signals = analysis.signals[0]
    true_index, false_index = signals.index, 1 - signals.index
    value, best = analysis.support(signals, weights)
    unit = analysis.units[best]
    contradicted = analysis.contradiction[best]
    is_true = value >= weights.supported and not contradicted
    scores = [0.0, 0.0]
    scores[true_index], scores[false_index] = round(value, 4), weights.supported
    if contradicted:
        why = "its best sentence says the opposite (a negation on one side only)"
    else:
        why = f"support {value:.2f} {'>=' if is_true else '<'} {weights.supported}"
    return Choice(
        true_index if is_true else false_index,
        tuple(scores),
        f"{'true' if is_true else 'false'}: {why}",
        (Evidence(true_index, unit.passage + 1, unit.text),),
    )


def _letter(index: int) -> str:
    return chr(ord("A") + index)


# --- the LLM picker ---------------------------------------------------------------------------
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The reply opens with a marked letter: "B", "b.", "(C)", "B) the use of ...".
_LONE_LETTER = re.compile(r"^\(?([A-Za-z])(?:\)|[.:]|$)")
# "Answer: B", "the correct option is (c)", "choice = a".
_ANSWER_CUE = re.compile(
    r"(?i:answer|choice|option)\s*(?:is\s*|:\s*|=\s*)?\(?"
    r"(?:([A-Z])(?![A-Za-z'])|([a-z])(?=\)|[.:,]|\s*$))"
)
# A capital letter standing alone anywhere ("I think it's B.").
_ANY_LETTER = re.compile(r"(?<![A-Za-z'])([A-Z])(?![A-Za-z'])")
_PRONOUN_I = re.compile(r"\bI(?=\s+[a-z]|'[a-z])")


def parse_choice(text: str, n_options: int) -> int | None:
    """The option index (0-based) a model's reply names, or ``None``.

    Accepted: a bare letter ("B", "b.", "(C)", "**A**", "B) the use of ..."), a cue
    ("Answer: B", "The answer is (c)"), or a reply in which exactly one capital letter of
    the options stands alone ("I think it's B."; the pronoun "I" does not count). Letters
    beyond ``n_options`` are ignored; two different letters are ambiguous.
    """
    if not text or n_options <= 0:
        return None
    valid = _LETTERS[: min(n_options, len(_LETTERS))]
    cleaned = re.sub(r"[*_`]", "", text).strip()
    for pattern in (_LONE_LETTER, _ANSWER_CUE):
        match = pattern.search(cleaned)
        letters = [g.upper() for g in match.groups() if g] if match else []
        if letters and letters[0] in valid:
            return valid.index(letters[0])
    letters = {m.group(1) for m in _ANY_LETTER.finditer(_PRONOUN_I.sub("", cleaned))}
    letters &= set(valid)
    return valid.index(letters.pop()) if len(letters) == 1 else None


class LLMOptionPicker:
    """Asks a LangChain chat model (e.g. ``ChatOpenAI``) to pick a letter.

    The prompt (``prompts/tutor/choice.text.j2``) numbers the passages, letters the options
    and asks for the letter only. An unparsable reply gives ``index=None`` with the reply in
    the reason; the caller decides what to do then (e.g. ask the offline picker).
    """

    def __init__(self, chat_model: Any) -> None:
        self._model = chat_model

    def prompt(self, question: str, options: Sequence[str], passages: list[ScoredChunk]) -> str:
        return render(
            "tutor/choice.text",
            question=question,
            options=[str(o) for o in options],
            passages=[
                {
                    "n": n,
                    "title": hit.chunk.title,
                    "heading": " › ".join(
                        h for h in hit.chunk.heading_path if h != hit.chunk.title
                    ),
                    "text": hit.chunk.text,
                }
                for n, hit in enumerate(passages, start=1)
            ],
        )

    def pick(self, question: str, options: Sequence[str], passages: list[ScoredChunk]) -> Choice:
        reply = self._model.invoke(self.prompt(question, options, passages))
        content = getattr(reply, "content", reply)
        text = content if isinstance(content, str) else str(content)
        index = parse_choice(text, len(options))
        scores = tuple(1.0 if i == index else 0.0 for i in range(len(options)))
        if index is None:
            return Choice(None, scores, f"unparsable model reply: {text.strip()[:80]!r}")
        return Choice(index, scores, f"the model chose {_letter(index)}")

"""The offline default answerer: quotes the course verbatim, with numbered citations.

No LLM. The passages are split into units (``tutor/chat/sentences.py``: sentences, list items,
key-term items, whole code blocks), scored against the question, and a few are quoted word
for word, each group followed by ``[n]`` (``n`` = the passage's index in
``request.passages`` + 1).

Scoring, per unit: cosine(unit, question) from one batched embedding call, plus IDF-weighted
overlap of tokenizer tokens, plus a small prior for the passage's retrieval rank. Units are
pre-filtered lexically to at most ``max_embedded`` before embedding (latency). Passages are
ranked by their best unit cosine, best unit overlap, retrieval rank and fused score, and the
cosine of their ``title > heading`` path (embedded in the same call). These passage weights
were chosen on the ML-For-Beginners quiz check (first-citation accuracy 0.801 vs retrieval
hit@1 0.756; 2-fold cross-validation of the weights: 0.77 / 0.82).

An answer reads as an explanation, not as stitched sentences:

1. **The lead** is the sentence that answers. The question's form is read
   (:func:`question_intent`): for "what is X" / "X란 무엇인가요" the lead is the course's
   definition of X ("A list is ...", "X: ..." key-term items, "... is called X") whenever
   the ``LEAD_PASSAGES`` best passages hold one; for "how do I ..." / "어떻게 하나요" a
   sentence that says how (an instruction, "you can ... by ...", "...하세요") gets
   ``HOW_BONUS``. A question that names its subject ("what is X", "X는 어떻게 ...") is led
   from the best passages that mention X, by a sentence that mentions it. The lead is the
   best standalone sentence of the ``LEAD_PASSAGES`` best (such) passages by its score,
   ``LEAD_PASSAGE_WEIGHT`` x its passage's score (relative to the best) and
   ``LEAD_ORDER_PENALTY`` x its position in the passage (topic sentences come first).
2. **One or two sections.** A second section is the best-scoring other passage (on the
   subject, when the question names one) with a standalone unit of at least
   ``SECOND_RATIO`` of the lead's score; that unit is quoted, and the rest is chosen
   MMR-style (similarity to what is already chosen keeps it diverse) from these passages.
3. **Only sentences that stand alone and support the question.** A sentence that leans on
   one before it ("It ...", "This method ...", "However, ...", "그래서 ...", "the code
   above") is quoted only right after that sentence; signposts ("In this lesson you will
   ...") never are; beyond the level's minimum a sentence must score ``KEEP_RATIO`` of the
   lead, and none is quoted below ``SUPPORT_RATIO`` of it.
4. Then one **code example** from the quoted sections, and **where to read more**: the
   quoted places as ``Title › Heading [n]``.

Reading order: the lead, then its passage's later and earlier chosen sentences (each in
source order), then the second passage's. ``LEAD_PASSAGE_WEIGHT``, ``LEAD_ORDER_PENALTY``,
``SECOND_RATIO``, ``KEEP_RATIO`` and ``SUPPORT_RATIO`` were chosen with 2-fold
cross-validation over the lessons of ML-For-Beginners and checked on the sample course
(bench/RESULTS.md, "Offline answers"); ``HOW_BONUS`` and ``TOPIC_BONUS`` are small
tie-breakers set by hand on the sample course's questions.

Level adaptation, hint and not-covered modes: see ``ExtractiveAnswerer``. Every fixed
phrase comes from ``prompts/tutor/offline_*.text.j2``. A notice (e.g. "the material is only
in English, so the original is quoted") goes into ``Answer.notices`` only: pages show
notices on their own.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from knowledge.lexical import Tokenizer
from knowledge.types import Chunk, ScoredChunk
from prompts import render
from tutor.chat.answering import Answer, AnswerEvent, AnswerRequest, Mode, citation_for
from tutor.chat.sentences import Unit, code_body, needs_antecedent, split_units, stands_alone

W_LEXICAL = 0.35
W_RANK = 0.06
# Passage score (which passage is quoted first): best unit cosine, best unit lexical overlap,
# retrieval rank and fused score, and the cosine of the passage's title > heading path.
P_LEXICAL = 0.5
P_RANK = 0.2
P_FUSED = 0.35
P_HEADER = 0.5
MMR_SIMILARITY = 0.3
SAME_PASSAGE_PENALTY = 0.06
NEAR_DUPLICATE = 0.92
KEEP_RATIO = 0.75  # beyond the level's minimum, a unit must score this share of the lead
SUPPORT_RATIO = 0.5  # no unit scoring below this share of the lead is quoted
# The lead: the best unit of the LEAD_PASSAGES best passages by its score, a bonus for the
# form the question asks for, and LEAD_PASSAGE_WEIGHT x (its passage's score - the best).
LEAD_PASSAGES = 2
LEAD_PASSAGE_WEIGHT = 1.5
LEAD_ORDER_PENALTY = 0.01  # per unit before it in its passage: topic sentences come first
HOW_BONUS = 0.1
TOPIC_BONUS = 0.2  # a how-question's topic as the unit's subject
SECOND_RATIO = 0.75  # a second section is quoted when a unit of it scores this share of the lead
MIN_ITEM_WORDS = 5  # a shorter list item is a label ("🎓 Time series"), quoted only in its list
EMBED_CHARS = 400
MAX_CODE_LINES = 25
MAX_KEY_TERMS = 3
MAX_POINTERS = 3
RELATED = 2  # other lessons' sections under "Read more" (Lv1-3; Lv4 has its pointers)
RELATED_FLOOR = 0.6  # ... scored at least this share of the best passage

# (min, max) quoted sentences by level; hint mode quotes 1-2.
_SENTENCES = {1: (2, 3), 2: (3, 5), 3: (3, 5), 4: (1, 2)}
_HINT_SENTENCES = (1, 2)

# Cues in a hint question that pick a guiding question (template offline_hint_question).
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("edge", re.compile(r"empty|none|null|edge|zero|빈\s|비어|없을|없는|엣지", re.I)),
    ("loop", re.compile(r"loop|range|index|off.by.one|iterat|반복|범위|인덱스|for\s", re.I)),
    ("types", re.compile(r"type|str\b|int\b|float|convert|자료형|타입|형\s?변환|문자열", re.I)),
    ("return", re.compile(r"return|print|none\b|반환|출력|리턴", re.I)),
    ("error", re.compile(r"error|exception|traceback|오류|에러|예외", re.I)),
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_SIMPLE_CODE = re.compile(r"^[A-Za-z_][\w.]*(?:\(\))?$")
_INLINE_CODE = re.compile(r"`([^`]+)`")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EN_DEFINITION = re.compile(
    r"^(?:(?:An?|The)\s+)?([A-Za-z][\w\-]*(?:\s[\w\-]+){0,3}?)\s+(?:is|are|means|refers to)\s",
)
_KO_DEFINITION = re.compile(
    r"^([^\s,.]{1,20}?)(?:\([^)]*\))?(?:은|는|이란|란)\s.*(?:입니다|이다|합니다|말합니다)\.$"
)
_TERM_VARIANTS = re.compile(r"[^()（）]+")

# --- the question's form ------------------------------------------------------------------
# "What is a list?", "What are hyperparameters in ML?", "What does 'overfitting' mean?"
_EN_WHAT_IS = re.compile(
    r"^(?:(?:so|and|then|ok|okay),?\s+)?what(?:\s+(?:is|are|was|were)|'s|’s)\s+"
    r"(?:an?\s+|the\s+)?(?P<subject>[^?,]{1,60}?)\s*(?:,\s*and\b[^?]*)?[?.!]*\s*$",
    re.IGNORECASE,
)
_EN_MEANS = re.compile(
    r"^(?:what\s+(?:does|do)\s+(?P<a>[^?]{1,60}?)\s+mean|(?:define|definition of|meaning of)"
    r"\s+(?P<b>[^?]{1,60}?)|what\s+do\s+you\s+mean\s+by\s+(?P<c>[^?]{1,60}?))\s*[?.!]*\s*$",
    re.IGNORECASE,
)
# Not a definition: "what is the difference / the best way / the output of / X used for".
_NOT_A_SUBJECT = re.compile(
    r"^(?:difference|different|best|right|correct|wrong|purpose|role|point|reason|result|output"
    r"|value|values|type|way|ways|main|most|first|last|goal|advantage|benefit|problem|use|next"
    r"|happening|going on|relationship|effect|impact|cause|output|name|number|size|shape|length"
    r"|default|return)\b|\b(?:used|good|for|of|between|when|if|after|before|printed|returned"
    r"|called|happen|happens)\b|[`=()\[\]{}]",
    re.IGNORECASE,
)
_CONTEXT_TAIL = re.compile(r"\s+(?:in|for|with|of)\s+(?:python|numpy|pandas|scikit-learn|sklearn|ml"
                           r"|machine learning|this course|programming)$", re.IGNORECASE)
_KO_WHAT_IS = re.compile(
    r"^(?:[^\s]+에서\s+)?(?P<subject>[^?]{1,40}?)\s*(?:이란|란|이라는\s*것은|라는\s*것은|은|는|이|가)?"
    r"\s*(?:뭐|무엇|뭔|뭘|무슨\s*(?:뜻|의미)|어떤\s*(?:뜻|의미|것))"
    r"(?:예요|에요|인가요|입니까|이에요|이야|야|지요|죠|가요|일까요|인지|을까요|이죠|이다|이에요|인가)?"
    r"\s*[?.!]*\s*$"
)
_KO_NOT_A_SUBJECT = re.compile(
    r"값|결과|차이|이유|출력|방법|역할|목적|장점|단점|문제|원인|종류|순서|[`=()\[\]{}]"
)
_KO_DEFINE_SHORT = re.compile(
    r"^(?P<subject>[^\s?]{1,20}?)(?:이란|란|의\s*(?:정의|뜻|의미))\s*[?.!]*\s*$"
)
# "(파이썬에서) 딕셔너리는 어떻게 ...": the topic of a Korean how-question.
_KO_TOPIC = re.compile(r"^(?:\S+에서\s+)?(?P<topic>[^\s`]{1,20}?)(?:은|는|을|를)\s+어떻게")
_EN_HOW = re.compile(
    r"^(?:(?:so|and|then|ok|okay),?\s+)?(?:how\s+(?:do|can|should|would|could|might|shall)\s+"
    r"(?:i|you|we|one)\b|how\s+to\b|what(?:'s|\s+is)\s+the\s+(?:best\s+|right\s+|correct\s+"
    r"|easiest\s+|simplest\s+)?way\s+to\b|is\s+there\s+a\s+way\s+to\b)",
    re.IGNORECASE,
)
_KO_HOW = re.compile(
    r"어떻게(?!\s*(?:다른|달라|되나요|되요|돼요|될까요|됩니까|되는|생각))|(?:하려면|으려면|려면)\b|방법(?:은|이|을|이\s*있)"
)
# A unit that says how: an instruction or "you can ... by ...".
_EN_INSTRUCTION = re.compile(
    r"^(?:(?:to|if you (?:want|need) to)\s[^,.;]{1,80},\s*)?(?:use|call|write|create|add|pass|put"
    r"|run|install|import|set|open|read|check|make|define|type|select|apply|fit|split|load"
    r"|convert|drop|fill|remove|replace|wrap|give|assign|store|compute|start|print|return"
    r"|activate|save|loop|iterate|build|join|sort|choose|pick|keep|avoid|train|evaluate)\b"
    r"|\b(?:you can|you could|you create|you use|you make|you write|you call|you add|you get"
    r"|you need to|you should|is done (?:with|by)|by (?:calling|using|writing|passing|adding"
    r"|setting|running|importing|creating))\b",
    re.IGNORECASE,
)
_KO_INSTRUCTION = re.compile(
    r"(?:세요|십시오|면\s*됩니다|수\s*있습니다)[.!]?$|(?:하려면|으려면|려면)\s"
    r"|(?:씁니다|만듭니다|사용합니다|호출합니다|작성합니다|설치합니다|지정합니다|가져옵니다"
    r"|불러옵니다|붙입니다|넣습니다)[.!]?$"
)


@dataclass
class _Draft:
    pieces: list[str] = field(default_factory=list)
    cited: set[int] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)
    mode: Mode = "answer"


@dataclass
class _Scored:
    units: list[Unit]
    scores: np.ndarray
    vectors: np.ndarray
    passage_scores: dict[int, float]


class ExtractiveAnswerer:
    """Quote the passages; adapt the amount and the extras to the learner's level.

    - Lv1: 2-3 sentences, the course's definitions of key terms in the question or the
      answer (terms of unmastered skills first), one short code example.
    - Lv2/Lv3: 3-5 sentences and one example.
    - Lv4: 1-2 sentences and pointers (title > heading, cited) to other relevant passages.
    - ``hint``: a cited concept (1-2 sentences, no code at all), a guiding question, where
      to look. Units resembling ``request.withheld`` are never shown (in any mode).
    - ``not_covered`` (or no passages): says so and lists ``request.nearest_topics``.
    """

    name = "extractive"

    def __init__(
        self,
        *,
        embed: Callable[[list[str]], np.ndarray],
        tokenizer: Tokenizer,
        max_units: int = 120,
        max_embedded: int = 48,
    ) -> None:
        self._embed = embed
        self._tokenizer = tokenizer
        # Units recur across questions like their vectors do; Kiwi's analysis of a Korean
        # unit is most of the scoring's own time. Callers only read the returned lists.
        self._unit_tokens = functools.lru_cache(maxsize=20_000)(tokenizer.tokenize)
        self.max_units = max_units
        self.max_embedded = max_embedded

    # --- the Answerer interface ---------------------------------------------------------
    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        draft = self._compose(request)
        for notice in draft.notices:  # before the answer, as the LLM answerer's notices
            yield AnswerEvent(kind="notice", text=notice)
        for piece in draft.pieces:
            if piece:
                yield AnswerEvent(kind="token", text=piece)
        citations = tuple(citation_for(n, request.passages[n - 1]) for n in sorted(draft.cited))
        answer = Answer(
            text="".join(draft.pieces),
            citations=citations,
            answerer=self.name,
            mode=draft.mode,
            notices=tuple(draft.notices),
        )
        yield AnswerEvent(kind="done", answer=answer)

    def warm_up(self, chunks: Iterable[Chunk], *, limit: int, batch: int = 64) -> int:
        """Embed (and tokenize) the texts answers quote from these chunks (their units and
        headers) ahead of the questions, ``limit`` texts at most; returns how many.

        ``embed`` remembers what it embedded (``CachedEmbedding``): an answer whose
        sentences are all remembered embeds only the question (in-process, a warm answer
        takes ~35 ms with search, a cold one ~300 ms). Solution material is skipped: it is
        never quoted.
        """
        texts: list[str] = []
        seen: set[str] = set()
        for chunk in chunks:
            if chunk.kind == "solution":
                continue
            python = chunk.doc_id.endswith(".py")
            units = split_units(chunk.text, passage=0, python=python)[: self.max_units]
            for text in [*(_embed_text(u) for u in units), chunk.context_header or chunk.title]:
                if text and text not in seen:
                    seen.add(text)
                    texts.append(text)
            if len(texts) >= limit:
                break
        texts = texts[:limit]
        for i in range(0, len(texts), batch):
            self._embed(texts[i : i + batch])
            for text in texts[i : i + batch]:
                self._unit_tokens(text)
        return len(texts)

    # --- composition --------------------------------------------------------------------
    def _compose(self, request: AnswerRequest) -> _Draft:
        if request.mode == "not_covered" or (request.mode == "answer" and not request.passages):
            return self._not_covered(request)
        draft = _Draft(mode=request.mode)
        units = self._units(request, draft)
        if request.mode == "hint":
            return self._hint(request, units, draft)
        if not any(u.kind != "code" for u in units):
            fallback = self._not_covered(request)
            fallback.notices[:0] = draft.notices
            return fallback
        passages = request.passages
        scored = self._score(request.standalone, units, passages=passages)
        level = min(max(request.learner.level, 1), 4)
        intent = question_intent(request.standalone)
        # Lv1 shows definitions in their own part, so the body quotes them only when the
        # question asks for one.
        skip = ("code", "term") if level == 1 and intent.kind != "define" else ("code",)
        chosen = (
            _select(scored, intent, *_SENTENCES[level], skip=skip)
            or _select(scored, intent, *_SENTENCES[level])
            or _select(scored, intent, *_SENTENCES[level], strict=False)
        )
        body = _quote(chosen, draft)
        if level == 1:
            self._key_terms(request, units, body, chosen, draft)
        if level < 4:
            _example(scored, chosen, passages, request.lang, draft)
        _read_more(
            scored,
            chosen,
            passages,
            request.lang,
            draft,
            related=RELATED if level < 4 else 0,
            subject=intent.subject,
        )
        if level == 4:
            _pointers(scored, chosen, passages, request.lang, draft)
        _trim(draft)
        return draft

    def _units(self, request: AnswerRequest, draft: _Draft) -> list[Unit]:
        """The quotable units of the passages in the answer's language (all passages, and a
        notice, when none is in it); no withheld text, and no code at all in hint mode."""
        passages = request.passages
        usable = [i for i, p in enumerate(passages) if p.chunk.lang == request.lang]
        if passages and not usable:
            usable = list(range(len(passages)))
            draft.notices.append(
                render(
                    "tutor/offline_lang_notice.text",
                    lang=request.lang,
                    source_lang=passages[0].chunk.lang,
                )
            )
        withheld = [_normalise(w) for w in request.withheld if w.strip()]
        hint = request.mode == "hint"
        units: list[Unit] = []
        for i in usable:
            chunk = passages[i].chunk
            python = chunk.doc_id.endswith(".py")
            for unit in split_units(chunk.text, passage=i, python=python):
                if hint and (unit.kind == "code" or _shows_code(unit.text)):
                    continue
                if withheld and _leaks(unit, withheld):
                    continue
                units.append(unit)
        return units[: self.max_units]

    def _not_covered(self, request: AnswerRequest) -> _Draft:
        text = render(
            "tutor/offline_not_covered.text",
            lang=request.lang,
            topics=list(request.nearest_topics),
        )
        return _Draft(pieces=[text], mode="not_covered")

    def _hint(self, request: AnswerRequest, units: list[Unit], draft: _Draft) -> _Draft:
        chosen: list[Unit] = []
        if units:
            scored = self._score(request.question, units, passages=request.passages)
            chosen = _select(scored, Intent("other"), *_HINT_SENTENCES)
            if chosen:
                _quote(chosen, draft)
                draft.pieces.append("\n\n")
        draft.pieces.append(
            render("tutor/offline_hint_question.text", lang=request.lang, cue=_cue(request))
        )
        if units and chosen:
            first = chosen[0].passage
            header = render("tutor/offline_section.text", lang=request.lang, kind="where_to_look")
            place = place_label(request.passages[first])
            draft.pieces.append(f"\n\n{header}\n- {place} [{first + 1}]")
            draft.cited.add(first + 1)
        return draft

    # --- scoring ------------------------------------------------------------------------
    def _score(self, question: str, units: list[Unit], *, passages: list[ScoredChunk]) -> _Scored:
        q_tokens = set(self._tokenizer.tokenize(question))
        token_sets = [set(self._unit_tokens(_embed_text(u))) for u in units]
        # Document frequencies over the prose units: code repeats identifiers and would
        # make them look rare or common by layout rather than meaning.
        prose_sets = [t for t, u in zip(token_sets, units, strict=True) if u.kind != "code"]
        df = Counter(t for tokens in prose_sets for t in tokens & q_tokens)
        n = len(prose_sets)
        idf = {t: math.log((n + 1) / (df.get(t, 0) + 0.5)) for t in q_tokens}
        total = sum(idf.values()) or 1.0
        lexical = np.array(
            [sum(idf[t] for t in tokens & q_tokens) / total for tokens in token_sets],
            dtype=np.float32,
        )
        n_passages = len(passages)
        prior = np.array([W_RANK * (1.0 - u.passage / n_passages) for u in units], np.float32)
        keep = _prefilter(units, W_LEXICAL * lexical + prior, self.max_embedded)
        units = [units[i] for i in keep]
        lexical = lexical[keep]
        present = sorted({u.passage for u in units})
        headers = [passages[p].chunk.context_header or passages[p].chunk.title for p in present]
        embedded = np.asarray(
            self._embed([question, *(_embed_text(u) for u in units), *headers]),
            dtype=np.float32,
        )
        query = embedded[0]
        vectors = embedded[1 : 1 + len(units)]
        header_cos = dict(zip(present, embedded[1 + len(units) :] @ query, strict=True))
        dense = vectors @ query
        scores = dense + W_LEXICAL * lexical + prior[keep]
        best = max((p.score for p in passages), default=0.0) or 1.0
        passage_scores = {}
        for p in present:
            idx = [i for i, u in enumerate(units) if u.passage == p and u.kind != "code"]
            if not idx:
                continue
            passage_scores[p] = (
                float(dense[idx].max())
                + P_LEXICAL * float(lexical[idx].max())
                + P_RANK * (1.0 - p / n_passages)
                + P_FUSED * passages[p].score / best
                + P_HEADER * float(header_cos[p])
            )
        return _Scored(units, scores, vectors, passage_scores)

    # --- level 1: key terms --------------------------------------------------------------
    def _key_terms(
        self,
        request: AnswerRequest,
        units: list[Unit],
        body: str,
        chosen: list[Unit],
        draft: _Draft,
    ) -> None:
        question = request.question.lower()
        answer = body.lower()
        skills = [_skill_words(s) for s in request.learner.unmastered]
        shown = {u.text for u in chosen}
        candidates: list[tuple[int, int, Unit]] = []
        seen: set[str] = set()
        for unit in units:
            term = unit.term if unit.kind == "term" else _defined_term(unit)
            if not term or unit.text in shown:
                continue
            if unit.kind != "term" and not self._tokenizer.tokenize(term):
                continue  # "It is ...", "This is ...": no content word, no definition
            variants = _variants(term)
            key = variants[0] if variants else term.lower()
            if not variants or key in seen:
                continue
            in_question = any(_mentions(question, v) for v in variants)
            in_answer = unit.kind == "term" and any(_mentions(answer, v) for v in variants)
            unmastered = any(_matches_skill(v, s) for v in variants for s in skills)
            if not (in_question or in_answer or unmastered):
                continue
            seen.add(key)
            priority = 0 if unmastered else (1 if in_question else 2)
            candidates.append((priority, len(candidates), unit))
        picked = [u for _, _, u in sorted(candidates, key=lambda c: c[:2])[:MAX_KEY_TERMS]]
        if not picked:
            return
        header = render("tutor/offline_section.text", lang=request.lang, kind="key_terms")
        draft.pieces.append(f"\n\n{header}")
        for unit in picked:
            draft.pieces.append(f"\n- {unit.text} [{unit.passage + 1}]")
            draft.cited.add(unit.passage + 1)


# --- selection and layout -----------------------------------------------------------------
def _prefilter(units: list[Unit], cheap: np.ndarray, limit: int) -> list[int]:
    """Indexes of the units worth embedding: all if few, else the best by the cheap score
    (at most 6 code blocks), keeping source order."""
    if len(units) <= limit:
        return list(range(len(units)))
    order = sorted(range(len(units)), key=lambda i: -float(cheap[i]))
    keep: list[int] = []
    codes = 0
    for i in order:
        if units[i].kind == "code":
            if codes >= 6:
                continue
            codes += 1
        keep.append(i)
        if len(keep) >= limit:
            break
    return sorted(keep)


def _select(
    scored: _Scored,
    intent: Intent,
    least: int,
    most: int,
    *,
    skip: tuple[str, ...] = ("code",),
    strict: bool = True,
) -> list[Unit]:
    """The quoted units in reading order: the lead, then MMR picks from its passage and at
    most one other (module doc, steps 1-3). ``strict=False`` (when no unit of the passages
    stands alone) lets any unit lead."""
    units = scored.units
    prose = [
        i for i, u in enumerate(units) if u.kind not in skip and (_quotable(u) or not strict)
    ]
    ranked = sorted(
        {units[i].passage for i in prose},
        key=lambda p: -scored.passage_scores.get(p, -math.inf),
    )
    if not ranked:
        return []
    on_topic = set(ranked)
    if intent.subject:
        # A question that names its topic is answered from passages that speak of it.
        variants = _variants(intent.subject)
        on_topic = {
            units[i].passage
            for i in prose
            if any(_mentions(units[i].text.lower(), v) for v in variants)
        } or on_topic
        ranked = [p for p in ranked if p in on_topic]
    best_passage_score = scored.passage_scores.get(ranked[0], 0.0)
    leads = [
        i
        for i in prose
        if units[i].passage in ranked[:LEAD_PASSAGES]
        and ((not needs_antecedent(units[i].text) and _statement(units[i])) or not strict)
    ]
    if not leads:
        return []
    if intent.kind == "define":
        # The course's own definition of what was asked leads whenever one is at hand: a
        # key term or "X is ..." before "... is called X".
        strength = {i: _defines(units[i], intent.subject) for i in leads}
        top = max(strength.values())
        leads = [i for i in leads if strength[i] == top] if top else leads
    elif intent.subject:
        variants = _variants(intent.subject)
        leads = [
            i for i in leads if any(_mentions(units[i].text.lower(), v) for v in variants)
        ] or leads

    def lead_value(i: int) -> float:
        passage_gap = scored.passage_scores.get(units[i].passage, 0.0) - best_passage_score
        return (
            float(scored.scores[i])
            + LEAD_PASSAGE_WEIGHT * passage_gap
            - LEAD_ORDER_PENALTY * units[i].order
            + _intent_bonus(units[i], intent)
        )

    lead = max(leads, key=lead_value)
    chosen = [lead]
    lead_score = max(float(scored.scores[lead]), 1e-6)
    second = _second_section(
        scored, [i for i in prose if units[i].passage in on_topic], lead, lead_score
    )
    if second is not None and len(chosen) < most:
        chosen.append(second)
    sections = {units[i].passage for i in chosen}
    position = {(units[i].passage, units[i].order): i for i in prose}
    while len(chosen) < most:
        best, best_value, best_adds = None, -math.inf, []
        for i in prose:
            unit = units[i]
            if i in chosen or unit.passage not in sections:
                continue
            if float(scored.scores[i]) < SUPPORT_RATIO * lead_score:
                continue
            adds = [i]
            if needs_antecedent(unit.text):
                # Quoted only right after the sentence it leans on (pulled in if need be).
                before = position.get((unit.passage, unit.order - 1))
                if before is None or units[before].block != unit.block:
                    continue
                if before not in chosen:
                    if needs_antecedent(units[before].text) or len(chosen) + 2 > most:
                        continue
                    adds = [before, i]
            sims = scored.vectors[chosen] @ scored.vectors[i]
            if float(sims.max()) >= NEAR_DUPLICATE:
                continue
            same = sum(units[j].passage == unit.passage for j in chosen)
            value = (
                float(scored.scores[i])
                - MMR_SIMILARITY * float(sims.max())
                - SAME_PASSAGE_PENALTY * same
            )
            if value > best_value:
                best, best_value, best_adds = i, value, adds
        if best is None or (
            len(chosen) >= least and float(scored.scores[best]) < KEEP_RATIO * lead_score
        ):
            break
        chosen.extend(best_adds)
        sections.add(units[best].passage)
    return _reading_order([units[i] for i in chosen])


def _second_section(
    scored: _Scored, prose: list[int], lead: int, lead_score: float
) -> int | None:
    """The best standalone unit of the second section: the best-scoring other passage with
    a unit that supports the question (``SECOND_RATIO`` of the lead), if any."""
    units = scored.units
    first = units[lead].passage
    best: dict[int, int] = {}
    for i in prose:
        p = units[i].passage
        if p == first or needs_antecedent(units[i].text):
            continue
        if float(scored.scores[i]) < SECOND_RATIO * lead_score:
            continue
        if p not in best or scored.scores[i] > scored.scores[best[p]]:
            best[p] = i
    if not best:
        return None
    ranked = sorted(best, key=lambda p: -scored.passage_scores.get(p, -math.inf))
    return best[ranked[0]]


def _reading_order(chosen: list[Unit]) -> list[Unit]:
    """The lead first, then the rest of its passage (what follows it, then what precedes
    it, each in source order), then the other passage in source order."""
    lead, rest = chosen[0], chosen[1:]
    after = sorted((u for u in rest if u.passage == lead.passage and u.order > lead.order),
                   key=lambda u: u.order)
    before = sorted((u for u in rest if u.passage == lead.passage and u.order < lead.order),
                    key=lambda u: u.order)
    other = sorted((u for u in rest if u.passage != lead.passage),
                   key=lambda u: (u.passage, u.order))
    return [lead, *after, *before, *other]


def _quotable(unit: Unit) -> bool:
    """A unit that can be quoted on its own (see ``stands_alone``); a list item only if it
    has ``MIN_ITEM_WORDS`` words."""
    if unit.kind == "item" and len(unit.text.split()) < MIN_ITEM_WORDS:
        return False
    return stands_alone(unit.text)


def _statement(unit: Unit) -> bool:
    """Whether a unit can lead an answer: a sentence, a key-term definition, or a list item
    that is a full sentence."""
    if unit.kind == "item":
        return unit.text.rstrip().endswith((".", "다.", "!"))
    return unit.kind in ("sentence", "term")


def _intent_bonus(unit: Unit, intent: Intent) -> float:
    if intent.kind != "how":
        return 0.0
    bonus = HOW_BONUS if _says_how(unit) else 0.0
    if intent.subject and _defines(unit, intent.subject):
        bonus += TOPIC_BONUS  # "딕셔너리는 ...다." for "딕셔너리는 어떻게 사용하나요?"
    return bonus


def _quote(chosen: list[Unit], draft: _Draft) -> str:
    """Append the quoted units, grouped by passage, each group ending with its marker."""
    start = len(draft.pieces)
    for k, unit in enumerate(chosen):
        last_of_group = k + 1 == len(chosen) or chosen[k + 1].passage != unit.passage
        piece = unit.text
        if last_of_group:
            piece += f" [{unit.passage + 1}]"
            draft.cited.add(unit.passage + 1)
            if k + 1 < len(chosen):
                piece += "\n\n"
        else:
            next_unit = chosen[k + 1]
            adjacent = next_unit.block == unit.block and unit.kind == "sentence"
            piece += " " if adjacent and next_unit.kind == "sentence" else "\n"
        draft.pieces.append(piece)
    return "".join(draft.pieces[start:])


def _example(
    scored: _Scored,
    chosen: list[Unit],
    passages: list[ScoredChunk],
    lang: str,
    draft: _Draft,
) -> None:
    """One short code block: the best-scoring one of the quoted passages, else of another
    passage of the same document."""
    quoted = {u.passage for u in chosen}
    documents = {passages[p].chunk.doc_id for p in quoted}
    codes = [i for i, u in enumerate(scored.units) if u.kind == "code"]
    pool = [i for i in codes if scored.units[i].passage in quoted] or [
        i for i in codes if passages[scored.units[i].passage].chunk.doc_id in documents
    ]
    if not pool:
        return
    short = [i for i in pool if len(scored.units[i].text.splitlines()) <= MAX_CODE_LINES + 2]
    best = max(short or pool, key=lambda i: float(scored.scores[i]))
    unit = scored.units[best]
    header = render("tutor/offline_section.text", lang=lang, kind="example")
    draft.pieces.append(f"\n\n{header} [{unit.passage + 1}]\n")
    draft.pieces.append(unit.text)
    draft.cited.add(unit.passage + 1)


def _read_more(
    scored: _Scored | None,
    chosen: list[Unit],
    passages: list[ScoredChunk],
    lang: str,
    draft: _Draft,
    *,
    related: int = 0,
    subject: str = "",
) -> None:
    """Where to read more: the quoted places (``Title › Heading``), then up to ``related``
    sections of other lessons among the passages ("see also"), cited: the best scored ones
    within ``RELATED_FLOOR`` of the best, and, when the question names its ``subject``, only
    sections that speak of it."""
    variants = _variants(subject) if subject else []
    lines: list[str] = []
    shown: set[str] = set()
    quoted = list(dict.fromkeys(u.passage for u in chosen))
    lessons = {passages[p].chunk.lesson_id or passages[p].chunk.doc_id for p in quoted}
    others: list[int] = []
    if scored is not None and related and scored.passage_scores:
        ranked = sorted(scored.passage_scores, key=lambda p: -scored.passage_scores[p])
        floor = RELATED_FLOOR * scored.passage_scores[ranked[0]]
        for p in ranked:
            lesson = passages[p].chunk.lesson_id or passages[p].chunk.doc_id
            if p in quoted or lesson in lessons or passages[p].chunk.kind == "exercise":
                continue
            if scored.passage_scores[p] < floor:
                break
            text = passages[p].chunk.text.lower()
            if variants and not any(_mentions(text, v) for v in variants):
                continue
            lessons.add(lesson)
            others.append(p)
            if len(others) >= related:
                break
    for p in [*quoted, *others]:
        place = place_label(passages[p])
        if place in shown:
            continue
        shown.add(place)
        lines.append(f"\n- {place} [{p + 1}]")
        draft.cited.add(p + 1)
    if lines:
        header = render("tutor/offline_section.text", lang=lang, kind="read_more")
        draft.pieces.append(f"\n\n{header}")
        draft.pieces.extend(lines)


def _pointers(
    scored: _Scored,
    chosen: list[Unit],
    passages: list[ScoredChunk],
    lang: str,
    draft: _Draft,
) -> None:
    """Lv4: title > heading of other relevant passages, cited."""
    quoted = {u.passage for u in chosen}
    places_shown = {place_label(passages[p]) for p in quoted}
    ranked = sorted(scored.passage_scores, key=lambda p: -scored.passage_scores[p])
    lines = []
    for p in ranked:
        place = place_label(passages[p])
        if p in quoted or place in places_shown:
            continue
        places_shown.add(place)
        lines.append(f"\n- {place} [{p + 1}]")
        draft.cited.add(p + 1)
        if len(lines) >= MAX_POINTERS:
            break
    if lines:
        header = render("tutor/offline_section.text", lang=lang, kind="go_deeper")
        draft.pieces.append(f"\n\n{header}")
        draft.pieces.extend(lines)


def _trim(draft: _Draft) -> None:
    while draft.pieces and not draft.pieces[-1].strip():
        draft.pieces.pop()


def place_label(hit: ScoredChunk) -> str:
    """``Title › Heading`` of a passage (its deepest heading)."""
    chunk = hit.chunk
    title = _MD_LINK.sub(r"\1", chunk.title).strip()
    headings = [_MD_LINK.sub(r"\1", h).strip() for h in chunk.heading_path]
    headings = [h for h in headings if h and h != title]
    return f"{title} › {headings[-1]}" if headings else title


def _cue(request: AnswerRequest) -> str:
    for name, pattern in _CUES:
        if pattern.search(request.question):
            return name
    return "general"


# --- text helpers -------------------------------------------------------------------------
def _embed_text(unit: Unit) -> str:
    text = code_body(unit.text) if unit.kind == "code" else unit.text
    return text[:EMBED_CHARS]


def _shows_code(text: str) -> bool:
    """Whether a prose unit carries code beyond a bare name like ``sum()``."""
    return any(not _SIMPLE_CODE.match(span.strip()) for span in _INLINE_CODE.findall(text))


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "")).strip().lower()


def _lines(text: str) -> list[str]:
    return [n for n in (_normalise(line) for line in text.splitlines()) if len(n) >= 20]


def _leaks(unit: Unit, withheld: list[str]) -> bool:
    """Whether a unit reproduces withheld (solution) text: a shared line of 20+ normalised
    characters, a shared run of 40+, or (code) a difflib ratio of 0.6 or more."""
    text = _normalise(code_body(unit.text) if unit.kind == "code" else unit.text)
    if not text:
        return False
    unit_lines = _lines(code_body(unit.text) if unit.kind == "code" else unit.text)
    for secret in withheld:
        if any(line in secret for line in unit_lines) or (len(text) >= 20 and text in secret):
            return True
        if any(line in text for line in _lines(secret)):
            return True
        matcher = difflib.SequenceMatcher(None, text, secret, autojunk=False)
        if matcher.find_longest_match(0, len(text), 0, len(secret)).size >= 40:
            return True
        if unit.kind == "code" and matcher.quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
            return True
    return False


def _variants(term: str) -> list[str]:
    """``리스트(list)`` -> ``["리스트", "list"]``; backticks dropped, lowercased."""
    clean = term.replace("`", "").strip().lower()
    return [v.strip() for v in _TERM_VARIANTS.findall(clean) if len(v.strip()) >= 2]


def _mentions(text: str, variant: str) -> bool:
    if re.search(r"[\uac00-\ud7a3]", variant):
        return variant in text
    return re.search(rf"(?<![\w]){re.escape(variant)}(?:s|es)?(?![\w])", text) is not None


def _skill_words(skill: str) -> str:
    return re.sub(r"[_\-]+", " ", skill).strip().lower()


def _matches_skill(variant: str, skill: str) -> bool:
    def singular(word: str) -> str:
        return word[:-1] if word.endswith("s") and len(word) > 3 else word

    return " ".join(map(singular, variant.split())) == " ".join(map(singular, skill.split()))


def _defined_term(unit: Unit) -> str:
    """The subject of an ``X is ...`` / ``X은 ...입니다`` definition sentence, if any."""
    if unit.kind != "sentence":
        return ""
    match = _EN_DEFINITION.match(unit.text) or _KO_DEFINITION.match(unit.text)
    return match.group(1) if match else ""


# --- the question's form --------------------------------------------------------------------
@dataclass(frozen=True)
class Intent:
    """What a question asks for: ``define`` (what ``subject`` is), ``how`` (how to do
    something; ``subject``: its topic, when a Korean question names it) or ``other``."""

    kind: str
    subject: str = ""


def question_intent(question: str) -> Intent:
    """Read a question's form (English or Korean); see the module doc, step 1."""
    text = " ".join(question.strip().split())
    if _HANGUL.search(text):
        match = _KO_DEFINE_SHORT.match(text) or _KO_WHAT_IS.match(text)
        subject = match.group("subject").strip(" '\"`") if match else ""
        if subject and len(subject.split()) <= 3 and not _KO_NOT_A_SUBJECT.search(subject):
            return Intent("define", subject.lower())
        if _KO_HOW.search(text):
            topic = _KO_TOPIC.match(text)
            return Intent("how", topic.group("topic").lower() if topic else "")
        return Intent("other")
    match = _EN_MEANS.match(text)
    subject = next((g for g in match.groups() if g), "") if match else ""
    if not subject:
        match = _EN_WHAT_IS.match(text)
        subject = match.group("subject") if match else ""
    subject = _CONTEXT_TAIL.sub("", subject.strip(" '\"‘’“”"))
    if subject and len(subject.split()) <= 4 and not _NOT_A_SUBJECT.search(subject):
        return Intent("define", subject.lower())
    return Intent("how") if _EN_HOW.match(text) else Intent("other")


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")) and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _same_term(a: str, b: str) -> bool:
    def key(text: str) -> str:
        words = re.sub(r"^(?:an?|the)\s+", "", text.lower().replace("`", "").strip()).split()
        return " ".join(_singular(w) for w in words)

    return bool(a.strip()) and key(a) == key(b)


def _defines(unit: Unit, subject: str) -> int:
    """How surely a unit is the course's definition of ``subject``: 3 for a key-term item
    for it, 2 for a sentence whose subject it is ("A list is ...", "리스트(list)는 ...다."),
    1 for one that names it ("... is called short-circuit evaluation", "...을 X라고
    합니다"), else 0."""
    if unit.term:  # a key-term item, or a list item led by a bold label
        return 3 if any(_same_term(v, subject) for v in _variants(unit.term)) else 0
    if unit.kind not in ("sentence", "item"):
        return 0
    term = _defined_term(unit)
    if term and any(_same_term(v, subject) for v in _variants(term)):
        return 2
    words = subject.split()
    if not words:
        return 0
    stem = r"\s+".join(re.escape(w) for w in [*words[:-1], _singular(words[-1])])
    if _HANGUL.search(subject):
        opens = rf"^{stem}(?:\s*\([^)]*\))?\s*(?:은|는|이란|란|이라는 것은|라는 것은)\s.*다\.?$"
        named = rf"{stem}(?:\([^)]*\))?(?:이)?라고\s*(?:합니다|부릅니다|한다|부른다)"
    else:
        opens = (
            rf"^(?:an?\s+|the\s+)?[`'\"]?{stem}(?:e?s)?[`'\"]?(?:\s*\([^)]*\))?(?:,[^,]{{1,60}},)?"
            r"\s+(?:is|are|was|means|refers to|describes|stands for|represents)\b"
        )
        named = (
            rf"\b(?:called|known as|named|termed)\s+(?:an?\s+|the\s+)?[`'\"‘“]?{stem}(?:e?s)?\b"
        )
    if re.search(opens, unit.text, re.IGNORECASE):
        return 2
    return 1 if re.search(named, unit.text, re.IGNORECASE) else 0


def _says_how(unit: Unit) -> bool:
    """Whether a unit says how to do something: an instruction ("Use ...", "To copy a list,
    call ...", "...하세요"), or "you can ... by ..."."""
    if unit.kind not in ("sentence", "item", "term"):
        return False
    text = unit.definition if unit.kind == "term" else unit.text
    text = re.sub(r"^[\W_]+", "", text)
    return bool(_EN_INSTRUCTION.search(text) or _KO_INSTRUCTION.search(text))

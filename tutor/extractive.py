"""The offline default answerer: quotes the course verbatim, with numbered citations.

No LLM. The passages are split into units (``tutor/sentences.py``: sentences, list items,
key-term items, whole code blocks), scored against the question, and the best few are
quoted word for word, each group followed by ``[n]`` (``n`` = the passage's index in
``request.passages`` + 1).

Scoring, per unit: cosine(unit, question) from one batched embedding call, plus IDF-weighted
overlap of tokenizer tokens, plus a small prior for the passage's retrieval rank. Units are
pre-filtered lexically to at most ``max_embedded`` before embedding (latency). Passages are
ranked by their best unit cosine, best unit overlap, retrieval rank and fused score, and the
cosine of their ``title > heading`` path (embedded in the same call); the first quoted
sentence is the best unit of the best passage, the rest are chosen MMR-style (similarity
to what is already chosen and a per-passage penalty keep them diverse). Selected units are
shown grouped by passage (best passage first), in their original order within a passage.
The passage weights were chosen on the ML-For-Beginners quiz check (first-citation accuracy
0.801 vs retrieval hit@1 0.756; 2-fold cross-validation of the weights: 0.77 / 0.82).

Level adaptation, hint and not-covered modes: see ``ExtractiveAnswerer``. Every fixed
phrase comes from ``prompts/tutor/offline_*.text.j2``.
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
from tutor.answering import Answer, AnswerEvent, AnswerRequest, Mode, citation_for
from tutor.sentences import Unit, code_body, split_units

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
KEEP_RATIO = 0.75  # beyond the minimum, a unit must score this share of the first one
EMBED_CHARS = 400
MAX_CODE_LINES = 25
MAX_KEY_TERMS = 3
MAX_POINTERS = 3

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
        passages = request.passages
        usable = [i for i, p in enumerate(passages) if p.chunk.lang == request.lang]
        draft = _Draft(mode=request.mode)
        if passages and not usable:
            usable = list(range(len(passages)))
            notice = render(
                "tutor/offline_lang_notice.text",
                lang=request.lang,
                source_lang=passages[0].chunk.lang,
            )
            draft.notices.append(notice)
            draft.pieces.append(notice + "\n\n")
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
        units = units[: self.max_units]
        if hint:
            return self._hint(request, units, draft)
        prose = [u for u in units if u.kind != "code"]
        if not prose:
            fallback = self._not_covered(request)
            fallback.notices[:0] = draft.notices
            fallback.pieces[:0] = draft.pieces
            return fallback
        scored = self._score(request.question, units, passages=passages)
        level = min(max(request.learner.level, 1), 4)
        # Lv1 shows definitions in their own part, so the body quotes prose only.
        skip = ("code", "term") if level == 1 else ("code",)
        chosen = _select(scored, *_SENTENCES[level], skip=skip) or _select(
            scored, *_SENTENCES[level]
        )
        body = _quote(chosen, draft)
        if level == 1:
            self._key_terms(request, units, body, chosen, draft)
        if level < 4:
            _example(scored, chosen, request.lang, draft)
        else:
            _pointers(scored, chosen, passages, request.lang, draft)
        _trim(draft)
        return draft

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
            chosen = _select(scored, *_HINT_SENTENCES)
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
    scored: _Scored, least: int, most: int, *, skip: tuple[str, ...] = ("code",)
) -> list[Unit]:
    """The quoted units: best unit of the best passage first, then MMR picks."""
    prose = [i for i, u in enumerate(scored.units) if u.kind not in skip]
    if not prose:
        return []
    candidates = {scored.units[i].passage for i in prose}
    best_passage = max(candidates, key=lambda p: scored.passage_scores.get(p, -math.inf))
    first = max(
        (i for i in prose if scored.units[i].passage == best_passage),
        key=lambda i: float(scored.scores[i]),
    )
    chosen = [first]
    floor = float(scored.scores[first]) * KEEP_RATIO
    while len(chosen) < most:
        best, best_value = None, -math.inf
        for i in prose:
            if i in chosen:
                continue
            sims = scored.vectors[chosen] @ scored.vectors[i]
            if float(sims.max()) >= NEAR_DUPLICATE:
                continue
            same = sum(scored.units[j].passage == scored.units[i].passage for j in chosen)
            value = (
                float(scored.scores[i])
                - MMR_SIMILARITY * float(sims.max())
                - SAME_PASSAGE_PENALTY * same
            )
            if value > best_value:
                best, best_value = i, value
        if best is None or (len(chosen) >= least and float(scored.scores[best]) < floor):
            break
        chosen.append(best)
    rank = {}
    for i in chosen:
        rank.setdefault(scored.units[i].passage, len(rank))
    units = [scored.units[i] for i in chosen]
    return sorted(units, key=lambda u: (rank[u.passage], u.order))


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


def _example(scored: _Scored, chosen: list[Unit], lang: str, draft: _Draft) -> None:
    """One short code block: the best-scoring one, preferring quoted passages."""
    quoted = {u.passage for u in chosen}
    codes = [i for i, u in enumerate(scored.units) if u.kind == "code"]
    if not codes:
        return
    short = [i for i in codes if len(scored.units[i].text.splitlines()) <= MAX_CODE_LINES + 2]
    pool = short or codes
    best = max(
        pool,
        key=lambda i: float(scored.scores[i]) + (0.1 if scored.units[i].passage in quoted else 0),
    )
    unit = scored.units[best]
    header = render("tutor/offline_section.text", lang=lang, kind="example")
    draft.pieces.append(f"\n\n{header} [{unit.passage + 1}]\n")
    draft.pieces.append(unit.text)
    draft.cited.add(unit.passage + 1)


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

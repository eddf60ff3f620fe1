"""``extractive-v1``: the offline answerer's composition before answers were made to read as
explanations (issue 12), kept as a named baseline for the same-run comparison.

The eval runner asks it the same request as the product's answerer (same retrieval, mode,
passages and withheld texts; ``eval/runner.py``) and reports ``lead``, ``focus``,
``answer_correctness`` and ``citation_accuracy`` for both. It shares with the product what
was not part of that change: splitting passages into units (``tutor/chat/sentences.py``), the
unit and passage scores, key terms, pointers and the not-covered reply. What it keeps of its
own is the composition:

- the first sentence is the best unit of the best-scoring passage, whatever the question
  asks; the rest are MMR picks over *every* passage (up to 3-5 sentences at Lv2, grouped
  by passage); a sentence is quoted even when it opens with "It", "This", "그래서" and the
  sentence it leans on is left out;
- the example is the best-scoring code block of any passage;
- no "read more" places;
- the language notice is written into the answer text as well as into ``notices``.
"""

from __future__ import annotations

import math

from prompts import render
from tutor.chat.answering import AnswerRequest
from tutor.chat.extractive import (
    _HINT_SENTENCES,
    _SENTENCES,
    KEEP_RATIO,
    MAX_CODE_LINES,
    MMR_SIMILARITY,
    NEAR_DUPLICATE,
    SAME_PASSAGE_PENALTY,
    ExtractiveAnswerer,
    _cue,
    _Draft,
    _pointers,
    _quote,
    _Scored,
    _trim,
    place_label,
)
from tutor.chat.sentences import Unit

NAME = "extractive-v1"
DESCRIPTION = (
    "the offline answerer's composition before issue 12: best unit of the best passage "
    "first, then MMR picks over all passages, dangling 'it/this' sentences kept, the "
    "example from any passage; same retrieval, mode and passages as ours"
)


class ExtractiveV1Answerer(ExtractiveAnswerer):
    """The pre-change composition on the shared units and scores (module doc)."""

    name = NAME

    def _compose(self, request: AnswerRequest) -> _Draft:
        if request.mode == "not_covered" or (request.mode == "answer" and not request.passages):
            return self._not_covered(request)
        draft = _Draft(mode=request.mode)
        units = self._units(request, draft)
        draft.pieces.extend(f"{notice}\n\n" for notice in draft.notices)
        if request.mode == "hint":
            return self._hint_v1(request, units, draft)
        if not any(u.kind != "code" for u in units):
            fallback = self._not_covered(request)
            fallback.notices[:0] = draft.notices
            fallback.pieces[:0] = draft.pieces
            return fallback
        passages = request.passages
        scored = self._score(request.question, units, passages=passages)
        level = min(max(request.learner.level, 1), 4)
        skip = ("code", "term") if level == 1 else ("code",)
        chosen = _select_v1(scored, *_SENTENCES[level], skip=skip) or _select_v1(
            scored, *_SENTENCES[level]
        )
        body = _quote(chosen, draft)
        if level == 1:
            self._key_terms(request, units, body, chosen, draft)
        if level < 4:
            _example_v1(scored, chosen, request.lang, draft)
        else:
            _pointers(scored, chosen, passages, request.lang, draft)
        _trim(draft)
        return draft

    def _hint_v1(self, request: AnswerRequest, units: list[Unit], draft: _Draft) -> _Draft:
        chosen: list[Unit] = []
        if units:
            scored = self._score(request.question, units, passages=request.passages)
            chosen = _select_v1(scored, *_HINT_SENTENCES)
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


def _select_v1(
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
    rank: dict[int, int] = {}
    for i in chosen:
        rank.setdefault(scored.units[i].passage, len(rank))
    units = [scored.units[i] for i in chosen]
    return sorted(units, key=lambda u: (rank[u.passage], u.order))


def _example_v1(scored: _Scored, chosen: list[Unit], lang: str, draft: _Draft) -> None:
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

"""The chat service: the tutoring policy around retrieval and the answerers.

For each question it decides, in order:
1. **Validity**: empty or over-long messages are refused before anything is stored.
2. **Conversation**: the trainee's own (another user's id is "not found") or a new one.
3. **Language**: Korean if the question has Hangul, else English (or what the client asks).
4. **Topic** (``tutor/chat/topics.py``): small talk, a follow-up, or a new topic, decided from
   evidence (the message's own topic words, reference words and ellipsis, a change of
   language, and what retrieval finds for the message alone and with the conversation's
   topic); with an LLM, the model writes the standalone question and the offline rule
   decides when it fails. The retrieval query is the message, or the message with its topic.
5. **Retrieval** in the question's language first: when the course has material in it and
   that material covers the question, only it is quoted; otherwise every language is
   searched (and the answer says once that it quotes the other language).
6. **Mode**:
   - ``smalltalk`` for greetings, thanks and questions about the tutor
     (``tutor/chat/smalltalk.py``): a short reply, nothing retrieved, never a content gap;
   - ``hint`` when the question is about a graded exercise (the client names it, the
     trainee mentions its id, or retrieval lands on exercise material): solution material is
     never passed to the answerer and its text is given as ``withheld`` so neither answerer
     can reproduce it, whatever the question says (prompt injection included);
   - ``not_covered`` when the course does not cover the question (:class:`CoverageRule`:
     the best passage's dense similarity, backed by the question's term coverage in the
     course): the answer says so honestly, names the nearest topics, and the question is
     recorded as a content gap for instructors;
   - ``answer`` otherwise.
7. **Answer**: streamed by the configured answerer (offline extractive by default), then
   stored with its citations, notices, answerer and timings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import ScoredChunk, SearchFilter
from tutor.chat.answering import (
    Answer,
    Answerer,
    AnswerRequest,
    Deadline,
    LearnerContext,
    Mode,
    answer_text,
)
from tutor.chat.conversations import ConversationStore, Message, citation_json
from tutor.chat.smalltalk import SmalltalkReplies
from tutor.chat.topics import (
    QUESTION_WORDS,
    Exchange,
    LLMTopicRule,
    Probe,
    TopicDecision,
    TopicRule,
    as_turns,
    build_topic_rule,
)
from tutor.errors import InvalidInputError
from tutor.settings import Settings

if TYPE_CHECKING:
    from tutor.metrics import Metrics

MAX_MESSAGE_CHARS = 4000
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_EXERCISE_ID = re.compile(r"\bex-[a-z0-9][a-z0-9-]*\b", re.IGNORECASE)
HISTORY_TURNS = 6  # earlier exchanges the policy and the answerer see


def detect_lang(text: str) -> str:
    return "ko" if _HANGUL.search(text) else "en"


@dataclass(frozen=True)
class ChatEvent:
    """What the API streams: ``meta``, ``token``, ``notice``, ``done``."""

    kind: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CoverageRule:
    """Does the course cover a question? Two signals, three thresholds.

    - ``dense``: the best retrieved passage's dense cosine. Alone it fails on terse or oddly
      phrased questions ("Seaborn is a type of", "Inertia is"): short texts embed far from
      any passage even when the course is all about them.
    - ``term_coverage`` (:meth:`KnowledgeBase.term_coverage`): the IDF-weighted share of the
      question's words that occur anywhere in the course. Off-topic questions, near-miss
      technical ones included (Kubernetes, React hooks, SQL window functions), carry words
      the course never uses, and those weigh the most.

    A question is covered when ``dense >= threshold`` (clearly close to a passage), or when
    ``dense >= floor`` and ``term_coverage >= terms`` (loosely close, and the course uses its
    words). Below ``floor`` nothing is covered. A question whose words cannot be checked
    (a Korean question to an English-only course) has term coverage 1.0, so ``floor`` alone
    decides: cross-language similarities run lower, and that is where it separates them.

    The values come from ``Settings`` (``KDT_COVERAGE_*``, calibrated with
    ``python -m bench.coverage``: see bench/RESULTS.md). A threshold set below the floor (the
    old single-threshold setting) lowers the floor too, which makes the rule
    "dense >= threshold" alone.
    """

    threshold: float
    floor: float
    terms: float

    def __post_init__(self) -> None:
        if self.floor > self.threshold:
            object.__setattr__(self, "floor", self.threshold)

    def covers(self, *, dense: float, term_coverage: float) -> bool:
        return dense >= self.threshold or (dense >= self.floor and term_coverage >= self.terms)


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one question: the answerer's request (mode, passages it
    may quote, withheld solution texts) and everything retrieval returned."""

    request: AnswerRequest
    retrieved: list[ScoredChunk]
    confidence: float  # best dense similarity among the retrieved passages
    term_coverage: float = 1.0  # share of the question's words the course uses (IDF-weighted)
    topic: TopicDecision | None = None  # follow-up, new topic or small talk, and why

    def exchange(self, answer: Answer) -> Exchange:
        """This turn as the next turn's history sees it."""
        topic = self.topic or TopicDecision("new", self.request.question, "")
        return Exchange(
            question=self.request.question,
            lang=self.request.lang,
            kind=topic.kind,
            query=topic.query,
            doc_id=anchor(self.retrieved[0]) if self.retrieved else None,
            answer=answer.text,
        )


@dataclass(frozen=True)
class ChatPlan:
    """A validated question, ready to answer (validation errors are raised before streaming)."""

    user_id: int
    course: str | None
    conversation_id: str
    message: str
    lang: str
    learner: LearnerContext
    exercise: str | None
    # The earlier turns, when the client sends them (the OpenAI-compatible API); ``None``:
    # read them from the stored conversation.
    history: tuple[Exchange, ...] | None = None
    # False when the question is asked again (regenerate): its gap was recorded the first time.
    record_gap: bool = True
    # The documents the asker may read when the course does not bound it (``Access``:
    # a user without a course reads the published material); None: the whole course.
    documents: frozenset[str] | None = None


_nothing_found = Probe(doc_id=None, confidence=0.0, covered=False, clear=False)


def _no_search(_query: str) -> Probe:
    return _nothing_found


def anchor(hit: ScoredChunk) -> str:
    """What a turn is about: the lesson of its best passage (a lesson and its translation
    are one topic), else the document."""
    return hit.chunk.lesson_id or hit.chunk.doc_id


class ChatService:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        store: ConversationStore,
        answerer: Answerer,
        k: int,
        coverage: CoverageRule,
        topic_rule: TopicRule | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.kb = kb
        self.store = store
        self.answerer = answerer
        self.smalltalk = SmalltalkReplies()
        self.topic_rule: TopicRule = topic_rule or build_topic_rule(answerer, kb.tokenizer)
        self.k = k  # passages an answer may quote
        self.coverage = coverage
        self.metrics = metrics  # answers, and LLM fallbacks, counted (``tutor/metrics.py``)

    def with_topic_rule(self, rule: TopicRule) -> ChatService:
        """A service like this one (same KB, store, answerer, k, coverage rule) that follows
        conversations with ``rule`` (the dialogue benchmark compares rules this way)."""
        return ChatService(
            kb=self.kb,
            store=self.store,
            answerer=self.answerer,
            k=self.k,
            coverage=self.coverage,
            topic_rule=rule,
        )

    def warm_up(self, *, limit: int = 10_000) -> int:
        """Let the answerer pre-embed the course text it quotes (the offline answerer does;
        others have nothing to warm). Returns how many texts were embedded."""
        warm = getattr(self.answerer, "warm_up", None)
        if warm is None:
            return 0
        return warm(self.kb.registry.ready_chunks(), limit=limit)

    # --- step 1-3: validate and plan (raises before any streaming) -------------------
    def plan(
        self,
        *,
        user_id: int,
        course: str | None,
        message: str,
        conversation_id: str | None = None,
        lang: str | None = None,
        exercise: str | None = None,
        learner: LearnerContext | None = None,
        history: Sequence[Exchange] | None = None,
        record_gap: bool = True,
        documents: frozenset[str] | None = None,
    ) -> ChatPlan:
        text = (message or "").strip()
        if not text:
            raise InvalidInputError("the message is empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise InvalidInputError(
                f"the message has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}"
            )
        if lang is not None and lang not in ("en", "ko"):
            raise InvalidInputError("lang must be 'en' or 'ko'")
        if conversation_id:
            conv = self.store.get(conversation_id, user_id=user_id)
        else:
            conv = self.store.create(user_id=user_id, course=course, title=text[:80])
        return ChatPlan(
            user_id=user_id,
            course=conv.course if conv.course is not None else course,
            conversation_id=conv.id,
            message=text,
            lang=lang or detect_lang(text),
            learner=learner or LearnerContext(),
            exercise=exercise,
            history=tuple(history) if history is not None else None,
            record_gap=record_gap,
            documents=documents,
        )

    # --- step 4-6: topic, retrieval and mode (no storage: the eval harness uses it as is) ---
    def decide(
        self,
        question: str,
        *,
        course: str | None,
        lang: str,
        learner: LearnerContext,
        exercise: str | None = None,
        history: Sequence[Exchange] = (),
        documents: frozenset[str] | None = None,
    ) -> Decision:
        """Decide the topic, retrieve for it and pick the mode (within ``documents`` when
        given: the ones the asker may read).

        Coverage is judged on everything retrieved (``k + 3`` passages, before the level
        preference trims them to ``k``), as ``bench/coverage.py`` calibrated it.
        """
        history = tuple(history)[-HISTORY_TURNS:]
        deadline = self._start_deadline()
        filters = self._filters(course, lang, documents)
        everything = SearchFilter(course=course, doc_ids=documents)
        searched: dict[tuple[str, SearchFilter], list[ScoredChunk]] = {}
        shares: dict[tuple[str, SearchFilter], float] = {}

        def search(query: str, filter_: SearchFilter) -> list[ScoredChunk]:
            key = (query, filter_)
            if key not in searched:
                searched[key] = self.kb.search(query, k=self.k + 3, where=filter_)
            return searched[key]

        def term_coverage(query: str, filter_: SearchFilter) -> float:
            key = (query, filter_)
            if key not in shares:
                shares[key] = self.kb.term_coverage(query, where=filter_, ignore=QUESTION_WORDS)
            return shares[key]

        def retrieve(query: str) -> tuple[list[ScoredChunk], float, bool]:
            return self._retrieve(query, filters, search=search, terms=term_coverage)

        def probe(query: str) -> Probe:
            hits, confidence, covered = retrieve(query)
            return Probe(
                doc_id=anchor(hits[0]) if hits else None,
                confidence=confidence,
                covered=covered,
                clear=covered and confidence >= self.coverage.threshold,
                terms=term_coverage(query, everything),
            )

        topic = self.topic_rule.decide(
            question, lang=lang, history=history, probe=probe, deadline=deadline
        )
        turns = as_turns(history)
        if topic.kind == "smalltalk":
            request = AnswerRequest(
                question=question, passages=[], lang=lang, learner=learner, mode="smalltalk",
                history=turns,
            )  # fmt: skip
            return Decision(request=request, retrieved=[], confidence=0.0, topic=topic)
        query = topic.query or question
        hits, confidence, covered = retrieve(query)
        share = term_coverage(query, everything) if hits else 0.0
        hits = self._prefer_level(hits, learner.level)
        if topic.stay_in:
            hits = [h for h in hits if anchor(h) == topic.stay_in] + [
                h for h in hits if anchor(h) != topic.stay_in
            ]
        hits = hits[: self.k]
        # A named exercise always means hints; retrieval may infer one only when confident.
        exercise = self._exercise_of(question, exercise, hits if covered else [])
        mode: Mode = "answer"
        withheld: tuple[str, ...] = ()
        passages = hits
        if exercise:
            mode = "hint"
            withheld = self.solution_texts(exercise)
            passages = [h for h in hits if h.chunk.kind != "solution"]
        elif not covered:
            mode = "not_covered"
            passages = []
        request = AnswerRequest(
            question=question,
            passages=passages,
            lang=lang,
            learner=learner,
            mode=mode,
            history=turns,
            exercise=exercise,
            nearest_topics=self._topics(hits),
            withheld=withheld,
            search_query=query,
            deadline=deadline,
        )
        return Decision(
            request=request,
            retrieved=hits,
            confidence=float(confidence),
            term_coverage=float(share),
            topic=topic,
        )

    def follow(
        self,
        history: Sequence[Exchange],
        *,
        course: str | None,
        documents: frozenset[str] | None = None,
    ) -> tuple[Exchange, ...]:
        """Topics for earlier turns that come without them (a client of the OpenAI-compatible
        API resends its conversation as plain text), so that a follow-up of a follow-up
        ("What is a tuple?", "Can I change it?", "Why not?") stays on the first topic.

        Each turn is decided by the offline rule from the turns before it, without
        retrieval (reference words, ellipsis and "what about X" chain the topic; no search
        is run for them), then the last topic's document is found by one search. Turns that
        already have a query keep it. The model's rule reads the whole conversation itself:
        with it, the history is returned as given.
        """
        if isinstance(self.topic_rule, LLMTopicRule):
            return tuple(history)
        followed: list[Exchange] = []
        for exchange in history:
            if exchange.query or exchange.kind == "smalltalk":
                followed.append(exchange)
                continue
            topic = self.topic_rule.decide(
                exchange.question, lang=exchange.lang, history=followed, probe=_no_search
            )
            followed.append(replace(exchange, kind=topic.kind, query=topic.query))
        for i in range(len(followed) - 1, -1, -1):
            last = followed[i]
            if last.kind != "smalltalk":
                if last.doc_id is None:
                    lang = last.lang if last.lang in ("en", "ko") else detect_lang(last.topic)
                    hits, _, _ = self._retrieve(
                        last.topic,
                        self._filters(course, lang, documents),
                        search=lambda q, f: self.kb.search(q, k=self.k + 3, where=f),
                        terms=lambda q, f: self.kb.term_coverage(
                            q, where=f, ignore=QUESTION_WORDS
                        ),
                    )
                    followed[i] = replace(last, doc_id=anchor(hits[0]) if hits else None)
                break
        return tuple(followed)

    def _filters(
        self, course: str | None, lang: str, documents: frozenset[str] | None = None
    ) -> tuple[SearchFilter, ...]:
        """Where to look, in order: the question's language when the course has material in
        it, then each other language; a course without material in the question's language
        is searched whole."""
        everything = SearchFilter(course=course, doc_ids=documents)
        languages = self.kb.lexical.languages(where=everything)
        if not languages.get(lang):
            return (everything,)
        others = sorted(other for other in languages if other != lang)
        return tuple(replace(everything, lang=code) for code in (lang, *others))

    def _retrieve(
        self,
        query: str,
        filters: tuple[SearchFilter, ...],
        *,
        search: Callable[[str, SearchFilter], list[ScoredChunk]],
        terms: Callable[[str, SearchFilter], float],
    ) -> tuple[list[ScoredChunk], float, bool]:
        """Hits, best dense similarity and coverage for ``query`` from the first filter that
        covers it (term coverage judged on the material that filter holds: a Korean
        question quoting English material is judged as in an English-only course);
        uncovered, the first filter's hits (the nearest topics, in the question's language)."""
        first: tuple[list[ScoredChunk], float, bool] | None = None
        for filter_ in filters:
            hits = search(query, filter_)
            confidence = max((h.signals.get("dense", 0.0) for h in hits), default=0.0)
            covered = bool(hits) and self.coverage.covers(
                dense=confidence, term_coverage=terms(query, filter_)
            )
            if covered:
                return hits, confidence, True
            if first is None:
                first = (hits, confidence, False)
        return first or ([], 0.0, False)

    def reply(
        self,
        question: str,
        *,
        course: str | None,
        lang: str | None = None,
        learner: LearnerContext | None = None,
        exercise: str | None = None,
        history: Sequence[Exchange] = (),
    ) -> tuple[Decision, Answer]:
        """One question answered by the policy, nothing stored (evaluation). For a turn of a
        conversation, pass the earlier turns: ``decision.exchange(answer)`` of each."""
        decision = self.decide(
            question,
            course=course,
            lang=lang or detect_lang(question),
            learner=learner or LearnerContext(),
            exercise=exercise,
            history=history,
        )
        return decision, answer_text(self._answerer_for(decision.request).stream(decision.request))

    def _start_deadline(self) -> Deadline | None:
        """The answer's deadline, started before the topic is decided so that condensing
        the question counts against it; None when the answerer has none (the offline one)."""
        start = getattr(self.answerer, "start_deadline", None)
        return start() if start is not None else None

    def _answerer_for(self, request: AnswerRequest) -> Answerer:
        return self.smalltalk if request.mode == "smalltalk" else self.answerer

    # --- step 7: stream and store --------------------------------------------------------
    def stream(self, plan: ChatPlan) -> Iterator[ChatEvent]:
        started = time.perf_counter()
        if plan.history is not None:
            history = plan.history
        else:
            stored = self.store.messages(plan.conversation_id, user_id=plan.user_id)
            history = exchanges(stored)
        decision = self.decide(
            plan.message,
            course=plan.course,
            lang=plan.lang,
            learner=plan.learner,
            exercise=plan.exercise,
            history=history,
            documents=plan.documents,
        )
        topic = decision.topic
        self.store.add_message(
            plan.conversation_id,
            role="user",
            content=plan.message,
            lang=plan.lang,
            topic={
                "kind": topic.kind,
                "query": topic.query,
                "anchor": anchor(decision.retrieved[0]) if decision.retrieved else None,
            }
            if topic
            else None,
        )
        request, hits = decision.request, decision.retrieved
        retrieved_at = time.perf_counter()
        mode = request.mode
        # Gaps for instructors: what the course does not cover, and what it answered only
        # from loosely close passages (covered below the clear-match threshold).
        low_confidence = mode == "answer" and decision.confidence < self.coverage.threshold
        if plan.record_gap and (mode == "not_covered" or low_confidence):
            self.store.record_gap(
                course=plan.course,
                user_id=plan.user_id,
                question=plan.message,
                lang=plan.lang,
                reason="not_covered" if mode == "not_covered" else "low_confidence",
                confidence=round(decision.confidence, 4),
                retrieved=[
                    {"chunk_id": h.chunk.id, "title": h.chunk.title, "score": round(h.score, 4)}
                    for h in hits
                ],
            )
        yield ChatEvent(
            "meta",
            {
                "conversation_id": plan.conversation_id,
                "mode": mode,
                "lang": plan.lang,
                "turn": topic.kind if topic else "new",
            },
        )
        answer: Answer | None = None
        answerer = self._answerer_for(request)
        for event in answerer.stream(request):
            if event.kind == "token":
                yield ChatEvent("token", {"text": event.text})
            elif event.kind == "notice":
                yield ChatEvent("notice", {"text": event.text})
            elif event.kind == "done":
                answer = event.answer
        if answer is None:
            raise RuntimeError("the answerer ended without an answer")
        if self.metrics is not None:
            self.metrics.chat_answered(
                mode=answer.mode,
                answerer=answer.answerer,
                fell_back=answer.answerer != answerer.name,  # the LLM failed: offline answer
            )
        finished = time.perf_counter()
        timings = {
            "retrieve_ms": round((retrieved_at - started) * 1000, 1),
            "answer_ms": round((finished - retrieved_at) * 1000, 1),
            "total_ms": round((finished - started) * 1000, 1),
        }
        stored = self.store.add_message(
            plan.conversation_id,
            role="assistant",
            content=answer.text,
            lang=plan.lang,
            mode=answer.mode,
            answerer=answer.answerer,
            citations=answer.citations,
            notices=answer.notices,
            timings=timings,
        )
        yield ChatEvent("sources", {"citations": [citation_json(c) for c in answer.citations]})
        yield ChatEvent(
            "done",
            {
                "message_id": stored.id,
                "conversation_id": plan.conversation_id,
                "text": answer.text,
                "answerer": answer.answerer,
                "mode": answer.mode,
                "turn": topic.kind if topic else "new",
                "citations": [citation_json(c) for c in answer.citations],
                "notices": list(answer.notices),
                "timings": timings,
            },
        )

    # --- policy helpers ------------------------------------------------------------------
    @staticmethod
    def _prefer_level(hits: list[ScoredChunk], level: int) -> list[ScoredChunk]:
        """Stable re-sort that lets material at or near the learner's level go first."""

        def distance(hit: ScoredChunk) -> int:
            lv = hit.chunk.level
            return 0 if lv is None else max(0, abs(lv - level) - 1)

        ranked = sorted(enumerate(hits), key=lambda p: (p[0] + 2 * distance(p[1]), p[0]))
        return [h for _, h in ranked]

    def _exercise_of(
        self, question: str, exercise: str | None, hits: list[ScoredChunk]
    ) -> str | None:
        if exercise:
            return exercise
        named = _EXERCISE_ID.search(question)
        if named and self._known_exercise(named.group(0).lower()):
            return named.group(0).lower()
        # Retrieval decides only when its best passage is the exercise itself.
        if hits and hits[0].chunk.kind == "exercise" and hits[0].chunk.exercise:
            return hits[0].chunk.exercise
        return None

    def _known_exercise(self, exercise: str) -> bool:
        return any(r.exercise == exercise for r in self.kb.registry.list())

    def solution_texts(self, exercise: str) -> tuple[str, ...]:
        """The chunk texts of the exercise's solution material (never shown to trainees)."""
        return self._exercise_material(exercise, "solution")

    def exercise_texts(self, exercise: str) -> tuple[str, ...]:
        """The chunk texts of the exercise statement itself (public)."""
        return self._exercise_material(exercise, "exercise")

    def _exercise_material(self, exercise: str, kind: str) -> tuple[str, ...]:
        texts = []
        for record in self.kb.registry.list():
            if record.kind == kind and record.exercise == exercise:
                texts.extend(c.text for c in self.kb.registry.document_chunks(record.doc_id))
        return tuple(texts)

    @staticmethod
    def _topics(hits: list[ScoredChunk]) -> tuple[str, ...]:
        seen: list[str] = []
        for hit in hits:
            path = [p for p in hit.chunk.heading_path if p != hit.chunk.title]
            label = " › ".join([hit.chunk.title, *path[:1]])
            if label not in seen:
                seen.append(label)
        return tuple(seen[:3])


def exchanges(stored: Sequence[Message]) -> tuple[Exchange, ...]:
    """A stored conversation's turns as the topic rule sees them: each user message with the
    topic it was given and the answer that followed it."""
    out: list[Exchange] = []
    for i, message in enumerate(stored):
        if message.role != "user":
            continue
        following = stored[i + 1] if i + 1 < len(stored) else None
        answer = following if following is not None and following.role == "assistant" else None
        topic = message.topic or {}
        kind = topic.get("kind")
        if kind not in ("new", "follow_up", "smalltalk"):
            kind = "smalltalk" if answer is not None and answer.mode == "smalltalk" else "new"
        out.append(
            Exchange(
                question=message.content,
                lang=message.lang or detect_lang(message.content),
                kind=kind,
                query=topic.get("query") or "",
                doc_id=topic.get("anchor") or _first_cited_lesson(answer),
                answer=answer.content if answer is not None else "",
            )
        )
    return tuple(out)


def _first_cited_lesson(answer: Message | None) -> str | None:
    """For turns stored before topics were: the stem of the first cited document."""
    if answer is None or not answer.citations:
        return None
    stem = answer.citations[0].doc_id.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem[:-3] if stem.endswith(".ko") else stem


def coverage_rule(settings: Settings) -> CoverageRule:
    """The "not covered" rule as configured (``KDT_COVERAGE_THRESHOLD|FLOOR|TERMS``)."""
    return CoverageRule(
        threshold=settings.coverage_threshold,
        floor=settings.coverage_floor,
        terms=settings.coverage_terms,
    )


def build_chat_service(
    settings: Settings,
    *,
    kb: KnowledgeBase,
    store: ConversationStore,
    embed: Callable[[list[str]], Any],
    solution_check: Any = None,
    metrics: Metrics | None = None,
) -> ChatService:
    """The chat service from settings (``KDT_ANSWERER``, ``KDT_LLM_*``, ``KDT_CHAT_K``,
    ``KDT_COVERAGE_*``); the composition root (``tutor/services.py``) calls this.
    ``embed``: the answerer's sentence embedding (texts -> array); ``solution_check``: runs
    hint code against the exercise's tests (``tutor/chat/solution_guard.py``); ``metrics``:
    where answers are counted."""
    from tutor.chat.answering import build_answerer

    answerer = build_answerer(
        settings.answerer,
        embed=embed,
        tokenizer=kb.tokenizer,
        llm_base_url=settings.llm_base_url,
        llm_api_key=settings.llm_api_key,
        llm_model=settings.llm_model,
        llm_timeout_s=settings.llm_timeout_s,
        llm_deadline_s=settings.llm_deadline_s,
        llm_total_s=settings.llm_total_s,
        solution_check=solution_check,
    )
    return ChatService(
        kb=kb,
        store=store,
        answerer=answerer,
        k=settings.chat_k,
        coverage=coverage_rule(settings),
        metrics=metrics,
    )

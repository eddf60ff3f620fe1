"""The answerer role: turn retrieved passages into an answer with numbered citations.

Implementations:
- ``ExtractiveAnswerer`` (``tutor/chat/extractive.py``, the offline default): selects sentences and
  code examples from the passages and quotes them verbatim.
- ``LLMAnswerer`` (``tutor/chat/llm_answerer.py``): LangChain ``ChatOpenAI`` against any
  OpenAI-compatible endpoint, prompts from ``prompts/tutor/``.

The chat service decides *what* to answer (mode: answer, hint, not covered; which passages
may be shown); an answerer only decides *how*. Answerers stream ``AnswerEvent``s so the API
can forward tokens as server-sent events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from knowledge.types import ScoredChunk

Mode = Literal["answer", "hint", "not_covered", "smalltalk"]


@dataclass(frozen=True)
class LearnerContext:
    """What the answer adapts to. ``level`` 1..4; ``unmastered`` are skill ids."""

    level: int = 2
    unmastered: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Deadline:
    """When an answer is due, as ``time.monotonic()`` values: its first token by
    ``first_token_at``, all of it by ``end_at``. One per question: condensing a follow-up,
    every retry and the answer itself share it, so none of them can add time of its own."""

    first_token_at: float
    end_at: float

    @classmethod
    def start(cls, *, first_token_s: float, total_s: float) -> Deadline:
        now = time.monotonic()
        return cls(first_token_at=now + first_token_s, end_at=now + max(total_s, first_token_s))

    def left(self, *, started: bool = False) -> float:
        """Seconds left for the first token (``started``: for the whole answer), >= 0."""
        due = self.end_at if started else self.first_token_at
        return max(0.0, due - time.monotonic())

    def share(self, fraction: float) -> Deadline:
        """A deadline for a step that must be done (first token and all) within ``fraction``
        of the time left for the first token, e.g. condensing the question before answering."""
        due = time.monotonic() + fraction * self.left()
        return Deadline(first_token_at=due, end_at=due)


@dataclass(frozen=True)
class AnswerRequest:
    question: str
    passages: list[ScoredChunk]
    lang: str  # the language to answer in: "en" | "ko"
    learner: LearnerContext = field(default_factory=LearnerContext)
    mode: Mode = "answer"
    history: tuple[Turn, ...] = ()
    exercise: str | None = None  # the graded exercise the question is about, in hint mode
    nearest_topics: tuple[str, ...] = ()  # for "not covered" answers
    # Solution texts (code and prose) of the exercise: an answer must never reproduce them.
    withheld: tuple[str, ...] = ()
    # What retrieval searched for: the question, or for a follow-up the question with the
    # conversation's topic ("Why?" -> "What is a list? Why?"); "" = the question.
    search_query: str = ""
    # When the answer is due (the LLM answerer's budget, started by the chat service before
    # the topic was decided); None: the answerer starts its own.
    deadline: Deadline | None = None

    @property
    def standalone(self) -> str:
        """The question as it reads without the conversation (what answers are scored on)."""
        return self.search_query or self.question


@dataclass(frozen=True)
class Citation:
    """``[n]`` in the answer text refers to ``passages[n - 1]`` of the request."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    text: str


@dataclass(frozen=True)
class AnswerEvent:
    """``token``: a piece of answer text; ``notice``: a message for the trainee (e.g. the
    LLM was unavailable and the offline answer is shown); ``done``: the final ``Answer``."""

    kind: Literal["token", "notice", "done"]
    text: str = ""
    answer: Answer | None = None


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    answerer: str
    mode: Mode = "answer"
    notices: tuple[str, ...] = ()


class Answerer(Protocol):
    name: str

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """Yield token/notice events, then exactly one ``done`` event carrying the Answer."""


def citation_for(n: int, hit: ScoredChunk) -> Citation:
    c = hit.chunk
    return Citation(
        n=n,
        chunk_id=c.id,
        doc_id=c.doc_id,
        title=c.title,
        heading_path=c.heading_path,
        line_start=c.line_start,
        line_end=c.line_end,
        text=c.text,
    )


def build_answerer(
    name: str,
    *,
    embed,
    tokenizer,
    llm_base_url: str | None = None,
    llm_api_key=None,
    llm_model: str = "gpt-4o-mini",
    llm_timeout_s: float = 30.0,
    llm_deadline_s: float = 10.0,
    llm_total_s: float = 60.0,
    solution_check=None,
) -> Answerer:
    """The answerer named by ``KDT_ANSWERER``; the LLM one falls back to the offline one.
    ``solution_check`` (``tutor/chat/solution_guard.py``) lets the LLM one withhold hint
    code that passes the exercise's tests."""
    from tutor.chat.extractive import ExtractiveAnswerer
    from tutor.errors import ConfigError

    offline = ExtractiveAnswerer(embed=embed, tokenizer=tokenizer)
    if name == "extractive":
        return offline
    if name == "openai":
        if not llm_base_url and not llm_api_key:
            raise ConfigError(
                "KDT_ANSWERER=openai needs KDT_LLM_BASE_URL (any OpenAI-compatible server) "
                "or KDT_LLM_API_KEY (OpenAI)"
            )
        from tutor.chat.llm_answerer import build_llm_answerer

        return build_llm_answerer(
            base_url=llm_base_url,
            api_key=llm_api_key,
            model=llm_model,
            fallback=offline,
            timeout_s=llm_timeout_s,
            first_token_s=llm_deadline_s,
            total_s=llm_total_s,
            solution_check=solution_check,
        )
    raise ConfigError(f"unknown answerer {name!r}; valid: extractive, openai")


def answer_text(events: Iterator[AnswerEvent]) -> Answer:
    """Drain a stream and return its final answer (for non-streaming callers)."""
    final = None
    for event in events:
        if event.kind == "done":
            final = event.answer
    if final is None:
        raise RuntimeError("answerer ended without a done event")
    return final

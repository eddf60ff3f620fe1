"""``LLMAnswerer``: answers through LangChain ``ChatOpenAI`` on any OpenAI-compatible URL.

The adapter for the answerer role's LLM backend. LangChain and the ``openai`` SDK are
imported inside ``build_llm_answerer`` and the error classifier only (``httpx``, the SDK's
HTTP client, at the top); nothing of theirs leaves this module: callers see
``AnswerEvent``s and ``Answer``s.

What it adds on top of the model:

- **Prompts from files** (``prompts/tutor/``): a system prompt per mode (``answer``,
  ``hint``, ``not_covered``) with level-specific instructions, then the conversation
  history, then ``answer.human`` with the passages numbered ``[1]..[n]`` and the question.
- **Citation check**: every ``[n]`` must name a passage of the request; invalid markers are
  removed from the final text (and logged), ``Answer.citations`` lists the valid ones.
  Markers inside code (``xs[0]``) are not citations.
- **Solution-leak guard**: a fenced code block similar to a withheld solution
  (``SequenceMatcher`` ratio >= 0.6) or any line shared with one (>= 20 characters after
  whitespace normalisation) is replaced by a ``[withheld: ...]`` marker and a notice is added.
  In hint mode also a code block that is the solution up to names and formatting, or that
  passes the exercise's tests in the sandbox, and a numbered walkthrough of the solution's
  steps (``tutor/chat/solution_guard.py``).
- **Failure policy**: timeouts, 429, 5xx and connection errors are retried ``retries`` times
  with exponential backoff, but only while nothing has been streamed to the caller. Then,
  and at once for other 4xx answers (bad key, unknown model), the ``fallback`` answerer
  (the offline extractive one) answers, preceded by a ``notice`` event; so does an empty
  completion. A stream that dies after tokens were sent also falls back, with an
  "interrupted" notice: the caller must then discard the partial text, because the final
  ``done`` Answer is always authoritative.
- **One deadline per answer** (``Deadline``; ``KDT_LLM_DEADLINE_S`` for the first token,
  ``KDT_LLM_TOTAL_S`` for all of it): condensing a follow-up (at most half of the time left),
  every try and its backoff share it, so retries never add time. The model is read in a
  worker thread and the caller waits for it only until the deadline, whatever the endpoint
  does (hang, trickle keep-alives, send empty chunks); then the fallback answers with the
  "unavailable" notice (or "interrupted", when tokens were already shown). The abandoned
  call ends too: its HTTP body is cut on the next bytes that arrive after the caller left
  (a response hook on the client, ``_bound_response``) and its read timeout is what was left.

Trade-off of the leak guard: tokens cannot be taken back once streamed, so whenever a
request can leak something (hint mode, or any request with ``withheld`` texts) the whole
completion is buffered, checked, and only then emitted as ``token`` events. Such answers
appear all at once instead of word by word, and the first token waits for the whole
completion; plain answers stream live.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from difflib import SequenceMatcher
from typing import Any

import httpx
from pydantic import SecretStr

from prompts import render
from tutor.chat.answering import (
    Answer,
    Answerer,
    AnswerEvent,
    AnswerRequest,
    Citation,
    Deadline,
    Turn,
    citation_for,
)
from tutor.chat.solution_guard import (
    MAX_BLOCKS,
    SolutionCheck,
    canonical_forms,
    same_program,
    step_walkthrough,
)
from tutor.errors import ConfigError, ProviderUnavailableError

log = logging.getLogger("kdt.tutor.llm")

HISTORY_TURNS = 6  # earlier turns sent with a question (the most recent ones)
CONDENSE_CHARS = 1500  # of each earlier turn, when asking for a standalone question
LEAK_RATIO = 0.6  # SequenceMatcher ratio between a code block and a withheld text
LEAK_LINE_CHARS = 20  # a shared line at least this long (normalised) counts as a leak
FIRST_TOKEN_S = 10.0  # KDT_LLM_DEADLINE_S: the first token of an answer is due this soon
TOTAL_S = 60.0  # KDT_LLM_TOTAL_S: the whole answer
CONDENSE_SHARE = 0.5  # of the time left for the first token, condensing a follow-up may use
MIN_TRY_S = 0.2  # a retry needs at least this much time left after its backoff

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
# One or more adjacent markers such as [1], [2][3] or [1, 2]; not indexing like xs[0].
# The leading blanks are part of the match so that removing a marker leaves no "word ." gap.
_CITATION_RUN = re.compile(r"(?P<ws>[ \t]*)(?<![\w\])])(?P<run>(?:\[\d+(?:\s*,\s*\d+)*\])+)")
_NUMBER = re.compile(r"\d+")


# --- pure helpers (unit-testable without a model) ---------------------------------------------
def _code_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _FENCE.finditer(text)]
    for m in _INLINE_CODE.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            spans.append(m.span())
    return spans


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def validate_citations(text: str, n_passages: int) -> tuple[str, list[int], list[int]]:
    """Drop citation markers outside ``1..n_passages``; returns (text, valid, invalid).

    Markers inside fenced or inline code are left alone (they are indexing, not citations).
    """
    code = _code_spans(text)
    valid: list[int] = []
    invalid: list[int] = []

    def fix(match: re.Match) -> str:
        if _inside(match.start("run"), code):
            return match.group(0)
        numbers = [int(x) for x in _NUMBER.findall(match.group("run"))]
        kept = [n for n in numbers if 1 <= n <= n_passages]
        invalid.extend(n for n in numbers if not 1 <= n <= n_passages)
        valid.extend(n for n in kept if n not in valid)
        if len(kept) == len(numbers):
            return match.group(0)
        return match.group("ws") + "".join(f"[{n}]" for n in kept) if kept else ""

    fixed = _CITATION_RUN.sub(fix, text)
    return fixed, sorted(valid), invalid


def strip_citations(text: str) -> str:
    """``text`` without citation markers (earlier turns cite passages that are gone)."""
    code = _code_spans(text)
    return _CITATION_RUN.sub(lambda m: m.group(0) if _inside(m.start("run"), code) else "", text)


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _fenced_bodies(text: str) -> list[str]:
    bodies = []
    for m in _FENCE.finditer(text):
        lines = m.group(0).splitlines()
        bodies.append("\n".join(lines[1:-1]))
    return bodies


def _withheld_lines(withheld: Sequence[str]) -> set[str]:
    lines = set()
    for text in withheld:
        for line in text.splitlines():
            norm = _normalize(line.strip().strip("`"))
            if len(norm) >= LEAK_LINE_CHARS:
                lines.add(norm)
    return lines


def _line_leaks(line: str, withheld_lines: set[str]) -> bool:
    norm = _normalize(line.strip().strip("`"))
    if len(norm) < LEAK_LINE_CHARS:
        return False
    return any(w in norm or norm in w for w in withheld_lines)


def guard_leaks(text: str, withheld: Sequence[str], marker: str) -> tuple[str, bool]:
    """Replace code blocks and lines that reproduce a withheld text; returns (text, leaked)."""
    if not withheld or not text:
        return text, False
    references = [_normalize(w) for w in withheld]
    for w in withheld:
        references.extend(_normalize(b) for b in _fenced_bodies(w))
    references = [r for r in references if r]
    w_lines = _withheld_lines(withheld)
    leaked = False

    def block(match: re.Match) -> str:
        nonlocal leaked
        lines = match.group(0).splitlines()
        body = _normalize("\n".join(lines[1:-1]))
        if body and any(SequenceMatcher(None, body, r).ratio() >= LEAK_RATIO for r in references):
            leaked = True
            return marker
        return match.group(0)

    text = _FENCE.sub(block, text)
    # Then single lines, inside code or not (this also covers an unclosed fence).
    out = []
    for line in text.split("\n"):
        if not re.match(r"^[ \t]*(`{3,}|~{3,})", line) and _line_leaks(line, w_lines):
            leaked = True
            line = marker
        out.append(line)
    return "\n".join(out), leaked


def _pieces(text: str) -> list[str]:
    """Split a buffered answer into word-sized token events (whitespace kept)."""
    return re.findall(r"\S+\s*|\s+", text)


# --- the answerer -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Failure:
    """Why an LLM call failed. ``kind``: ``transient`` (timeout, 429, 5xx, connection: retry),
    ``rejected`` (another 4xx: do not retry) or ``error`` (anything else: do not retry).
    ``detail`` is safe to log: exception type and status, never the body or the key."""

    kind: str
    detail: str


def _classify(exc: Exception) -> _Failure:
    """Map an SDK exception to a failure kind, with a log-safe detail (no messages, no keys)."""
    import openai

    name = type(exc).__name__
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind = "transient" if status == 429 or status >= 500 else "rejected"
        return _Failure(kind, f"{name} (HTTP {status})")
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return _Failure("transient", name)
    if isinstance(exc, httpx.TransportError):  # a read cut mid-stream (the SDK passes it on)
        return _Failure("transient", name)
    return _Failure("error", name)


class _Late(Exception):
    """The deadline passed while the caller waited for the model."""


@dataclasses.dataclass
class _Bound:
    """How long one model call may read: until ``end_at`` (``time.monotonic()``) and only
    while its caller still waits (``left`` is set when it stops)."""

    end_at: float
    left: threading.Event = dataclasses.field(default_factory=threading.Event)

    def over(self) -> bool:
        return self.left.is_set() or time.monotonic() > self.end_at


# The bound of the model call that runs in this thread. Only ``_ModelCall``'s worker
# threads set it (each in its own context); ``_bound_response`` reads it. Unset: no bound.
_CALL_BOUND: ContextVar[_Bound | None] = ContextVar("kdt_llm_call_bound", default=None)


def _bound_response(response: Any) -> None:
    """httpx response hook: the body of a response read by a bounded model call stops with
    a ``ReadTimeout`` on the first bytes that arrive once the bound is over. This is what
    ends a call whose endpoint trickles keep-alives that the SDK never shows as chunks."""
    bound = _CALL_BOUND.get()
    if bound is not None:
        response.stream = _BoundedBody(response.stream, bound)


class _BoundedBody(httpx.SyncByteStream):
    """An httpx sync byte stream that checks a ``_Bound`` after every read."""

    def __init__(self, inner: Any, bound: _Bound) -> None:
        self._inner = inner
        self._bound = bound

    def __iter__(self) -> Iterator[bytes]:
        for part in self._inner:
            if self._bound.over():
                raise httpx.ReadTimeout("the answer's deadline passed")
            yield part

    def close(self) -> None:
        self._inner.close()


class _ModelCall:
    """One streamed model call, read in a worker thread so that the caller waits for it only
    until a deadline. The worker puts ``("piece", text)``, then ``("end", None)`` or
    ``("error", exc)`` on a queue; ``pieces`` hands them over as they come."""

    def __init__(self, model: Any, messages: list[tuple[str, str]], *, timeout_s: float) -> None:
        self._model = model
        self._messages = messages
        self._timeout_s = timeout_s

    def pieces(self, deadline: Deadline) -> Iterator[str]:
        """The completion's text pieces. Raises ``_Late`` when the first piece is not there
        by ``deadline.first_token_at`` or the rest by ``deadline.end_at``, and the call's own
        exception when it fails. Whenever the caller stops, the worker is told to stop."""
        bound = _Bound(end_at=deadline.end_at)
        out: queue.SimpleQueue = queue.SimpleQueue()
        # The read timeout: what is left for the first token (a hang ends the worker then).
        timeout = max(0.05, min(self._timeout_s, deadline.left()))
        worker = threading.Thread(
            target=self._read, args=(bound, out, timeout), name="llm-call", daemon=True
        )
        worker.start()
        started = False
        try:
            while True:
                wait = deadline.left(started=started)
                try:
                    kind, value = out.get(timeout=wait) if wait > 0 else out.get_nowait()
                except queue.Empty:
                    raise _Late("the answer" if started else "the first token") from None
                if kind == "piece":
                    started = True
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            bound.left.set()

    def _read(self, bound: _Bound, out: queue.SimpleQueue, timeout: float) -> None:
        _CALL_BOUND.set(bound)
        try:
            for chunk in self._model.stream(self._messages, timeout=timeout):
                if bound.left.is_set():
                    return
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    out.put(("piece", piece))
            out.put(("end", None))
        except Exception as exc:  # noqa: BLE001 - handed to the caller, which decides
            out.put(("error", exc))


class LLMAnswerer:
    """Answers with a chat model; falls back to ``fallback`` when the model fails.

    ``chat_model`` is a LangChain chat model (``.stream(messages)`` yielding message chunks,
    ``.invoke(messages)``); build one with ``build_llm_answerer``.
    """

    name = "llm"

    def __init__(
        self,
        *,
        chat_model: Any,
        fallback: Answerer,
        retries: int = 2,
        backoff_s: float = 0.5,
        first_token_s: float = FIRST_TOKEN_S,
        total_s: float = TOTAL_S,
        timeout_s: float = 30.0,
        solution_check: SolutionCheck | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._model = chat_model
        self._fallback = fallback
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._first_token_s = first_token_s
        self._total_s = total_s
        self._timeout_s = timeout_s
        self._solution_check = solution_check
        self._sleep = sleep

    def start_deadline(self) -> Deadline:
        """A new deadline for one answer (the chat service starts it before deciding the
        topic, so that condensing the question counts against it too)."""
        return Deadline.start(first_token_s=self._first_token_s, total_s=self._total_s)

    # -- Answerer ---------------------------------------------------------------------------
    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        messages = self.messages_for(request)
        deadline = request.deadline or self.start_deadline()
        buffered = request.mode == "hint" or bool(request.withheld)
        streamed = False
        attempt = 0
        while True:
            pieces: list[str] = []
            call = _ModelCall(self._model, messages, timeout_s=self._timeout_s)
            try:
                for piece in call.pieces(deadline):
                    pieces.append(piece)
                    if not buffered:
                        streamed = True
                        yield AnswerEvent("token", piece)
                break
            except _Late as late:
                log.warning("LLM answer late (%s not in time); falling back", late)
                kind = "interrupted" if streamed else "unavailable"
                yield from self._fall_back(request, kind)
                return
            except Exception as exc:  # noqa: BLE001 - every failure falls back
                failure = _classify(exc)
                if streamed:
                    log.warning("LLM stream interrupted after tokens: %s", failure.detail)
                    yield from self._fall_back(request, "interrupted")
                    return
                delay = self._backoff_s * (2**attempt)
                if (
                    failure.kind == "transient"
                    and attempt < self._retries
                    and deadline.left() >= delay + MIN_TRY_S
                ):
                    attempt += 1
                    log.info(
                        "LLM call failed (%s); retry %d/%d in %.2fs",
                        failure.detail,
                        attempt,
                        self._retries,
                        delay,
                    )
                    self._sleep(delay)
                    continue
                if failure.kind == "error":
                    log.exception("LLM call failed unexpectedly: %s", failure.detail)
                else:
                    log.warning("LLM call failed (%s); falling back", failure.detail)
                yield from self._fall_back(
                    request, "rejected" if failure.kind == "rejected" else "unavailable"
                )
                return

        if not "".join(pieces).strip():
            log.warning("LLM returned an empty completion; falling back")
            yield from self._fall_back(request, "unavailable")
            return
        answer = self._finish(request, "".join(pieces))
        if buffered:
            for piece in _pieces(answer.text):
                yield AnswerEvent("token", piece)
        for notice in answer.notices:
            yield AnswerEvent("notice", notice)
        yield AnswerEvent("done", answer=answer)

    # -- condensing follow-up questions ------------------------------------------------------
    def condense_question(
        self, history: Sequence[Turn], question: str, *, deadline: Deadline | None = None
    ) -> str | None:
        """A standalone version of ``question`` given ``history`` (the question itself when
        there is no history), or ``None`` when the model fails in any way, replies with
        nothing usable or is not done within half the time ``deadline`` leaves for the
        answer's first token: the caller then decides offline (no retries: one call a turn)."""
        if not history:
            return question
        deadline = (deadline or self.start_deadline()).share(CONDENSE_SHARE)
        messages = [
            ("system", render("tutor/condense.system")),
            (
                "human",
                render(
                    "tutor/condense.human",
                    history=[
                        {"role": t.role, "content": strip_citations(t.content)[:CONDENSE_CHARS]}
                        for t in history[-HISTORY_TURNS:]
                    ],
                    question=question,
                ),
            ),
        ]
        call = _ModelCall(self._model, messages, timeout_s=self._timeout_s)
        try:
            text = "".join(call.pieces(deadline))
        except _Late:
            log.warning("condensing the question took too long; deciding offline")
            return None
        except Exception as exc:  # noqa: BLE001 - the offline rule always works
            detail = _classify(exc).detail
            log.warning("condensing the question failed (%s); deciding offline", detail)
            return None
        text = _normalize(text).strip('"“”').strip()
        if not text or len(text) > max(400, 3 * len(question)):
            log.warning("the model's standalone question was empty or too long; deciding offline")
            return None
        return text

    # -- internals --------------------------------------------------------------------------
    def messages_for(self, request: AnswerRequest) -> list[tuple[str, str]]:
        """The chat messages for ``request``: system, recent history, passages + question."""
        learner = request.learner
        if request.mode == "hint":
            system = render(
                "tutor/hint.system",
                lang=request.lang,
                level=learner.level,
                unmastered=learner.unmastered,
                exercise=request.exercise,
            )
        elif request.mode == "not_covered":
            system = render(
                "tutor/not_covered.system",
                lang=request.lang,
                nearest_topics=request.nearest_topics,
            )
        else:
            system = render(
                "tutor/answer.system",
                lang=request.lang,
                level=learner.level,
                unmastered=learner.unmastered,
            )
        passages = [
            {
                "n": i,
                "title": hit.chunk.title,
                "heading": " › ".join(h for h in hit.chunk.heading_path if h != hit.chunk.title),
                "text": hit.chunk.text,
            }
            for i, hit in enumerate(request.passages, start=1)
        ]
        messages: list[tuple[str, str]] = [("system", system)]
        for turn in request.history[-HISTORY_TURNS:]:
            if turn.role == "user":
                messages.append(("human", turn.content))
            else:
                messages.append(("ai", strip_citations(turn.content)))
        messages.append(
            ("human", render("tutor/answer.human", question=request.question, passages=passages))
        )
        return messages

    def _finish(self, request: AnswerRequest, raw: str) -> Answer:
        text, valid, invalid = validate_citations(raw.strip(), len(request.passages))
        if invalid:
            log.warning(
                "removed invalid citation markers %s (request had %d passages)",
                sorted(set(invalid)),
                len(request.passages),
            )
        notices: list[str] = []
        marker = render("tutor/llm_notice.text", kind="withheld_marker", lang=request.lang)
        text, leaked = guard_leaks(text, request.withheld, marker)
        if request.mode == "hint":
            text, solved = self._guard_solutions(text, request, marker)
            leaked = leaked or solved
        if leaked:
            log.warning("withheld solution text found in an LLM answer; redacted")
            notices.append(render("tutor/llm_notice.text", kind="withheld", lang=request.lang))
            # Citations are recomputed: redaction may have removed some markers.
            _, valid, _ = validate_citations(text, len(request.passages))
        citations: tuple[Citation, ...] = tuple(
            citation_for(n, request.passages[n - 1]) for n in valid
        )
        return Answer(
            text=text,
            citations=citations,
            answerer=self.name,
            mode=request.mode,
            notices=tuple(notices),
        )

    def _guard_solutions(
        self, text: str, request: AnswerRequest, marker: str
    ) -> tuple[str, bool]:
        """Hint mode, beyond the text comparison: withhold code blocks that are a withheld
        solution up to names and formatting, or that pass the exercise's tests in the
        sandbox (the first ``MAX_BLOCKS`` Python blocks); and an answer that walks through
        the solution in numbered steps is replaced whole. Returns (text, withheld any)."""
        found = False
        sandboxed = 0

        def block(match: re.Match) -> str:
            nonlocal found, sandboxed
            body = "\n".join(match.group(0).splitlines()[1:-1])
            if same_program(body, request.withheld):
                found = True
                return marker
            if not canonical_forms(body) or self._solution_check is None:
                return match.group(0)
            if request.exercise and sandboxed < MAX_BLOCKS:
                sandboxed += 1
                if self._solution_check.solves(exercise=request.exercise, code=body):
                    found = True
                    return marker
            return match.group(0)

        text = _FENCE.sub(block, text)
        if step_walkthrough(text, request.withheld):
            log.warning("an LLM hint walked through the solution step by step; withheld")
            return marker, True
        return text, found

    def _fall_back(self, request: AnswerRequest, kind: str) -> Iterator[AnswerEvent]:
        notice = render("tutor/llm_notice.text", kind=kind, lang=request.lang)
        yield AnswerEvent("notice", notice)
        for event in self._fallback.stream(request):
            if event.kind == "done" and event.answer is not None:
                answer = event.answer
                event = AnswerEvent(
                    "done",
                    answer=dataclasses.replace(answer, notices=(notice, *answer.notices)),
                )
            yield event


def build_chat_model(
    *,
    base_url: str | None,
    api_key: str | SecretStr | None,
    model: str,
    timeout_s: float = 30,
    temperature: float = 0.2,
    streaming: bool = True,
) -> Any:
    """A LangChain ``ChatOpenAI`` against ``base_url`` (any OpenAI-compatible API).

    ``api_key`` is a ``str`` or ``SecretStr``; keyless local servers (vLLM, Ollama) accept
    any value, so ``None`` sends ``"EMPTY"``; whether a missing key is an error is the
    composition root's decision. The SDK's own retries are off: callers retry, because they
    know whether tokens were already streamed. ``timeout_s`` bounds each read (and the wait
    for the response); ``LLMAnswerer`` bounds a whole answer (``Deadline``).
    """
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # pragma: no cover - a core dependency today
        raise ConfigError(
            "the LLM answerer needs langchain-openai: pip install langchain-openai"
        ) from exc
    return ChatOpenAI(
        base_url=base_url,
        api_key=api_key if api_key is not None else "EMPTY",
        model=model,
        temperature=temperature,
        timeout=timeout_s,
        max_retries=0,
        streaming=streaming,
        # Our own client only for the response hook that bounds an answer's reads
        # (``_bound_response``); proxies from the environment still apply.
        http_client=httpx.Client(timeout=timeout_s, event_hooks={"response": [_bound_response]}),
    )


def classify_failure(exc: Exception) -> tuple[str, str]:
    """``(kind, detail)`` of an LLM call's exception: kind ``transient`` (retry), ``rejected``
    or ``error``; detail is safe to log (type and status, never the body or the key)."""
    failure = _classify(exc)
    return failure.kind, failure.detail


def build_llm_answerer(
    *,
    base_url: str | None,
    api_key: str | SecretStr | None,
    model: str,
    fallback: Answerer,
    timeout_s: float = 30,
    retries: int = 2,
    backoff_s: float = 0.5,
    first_token_s: float = FIRST_TOKEN_S,
    total_s: float = TOTAL_S,
    solution_check: SolutionCheck | None = None,
) -> LLMAnswerer:
    """An ``LLMAnswerer`` on ``ChatOpenAI`` against ``base_url`` (see ``build_chat_model``):
    each answer's first token is due within ``first_token_s``, all of it within ``total_s``."""
    chat_model = build_chat_model(
        base_url=base_url, api_key=api_key, model=model, timeout_s=timeout_s
    )
    return LLMAnswerer(
        chat_model=chat_model,
        fallback=fallback,
        retries=retries,
        backoff_s=backoff_s,
        first_token_s=first_token_s,
        total_s=total_s,
        timeout_s=timeout_s,
        solution_check=solution_check,
    )


def probe_endpoint(
    *, base_url: str | None, api_key: str | SecretStr | None, timeout_s: float
) -> None:
    """One cheap call to the OpenAI-compatible endpoint (``GET /models``, no retry, within
    ``timeout_s``), for health checks; ``ProviderUnavailableError`` with a safe detail (type
    and status, never the key) when it fails."""
    from openai import OpenAI

    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    client = OpenAI(base_url=base_url, api_key=key or "EMPTY", timeout=timeout_s, max_retries=0)
    try:
        client.models.list()
    except Exception as exc:  # noqa: BLE001 - every failure is "unreachable" to a health check
        raise ProviderUnavailableError(f"the LLM endpoint failed: {_classify(exc).detail}") from exc
    finally:
        client.close()

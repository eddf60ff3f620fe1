"""``LLMAnswerer`` through the real ``ChatOpenAI`` client against a scripted HTTP server.

The server (``tests/fakes/openai_server.py``) runs in a subprocess and speaks the OpenAI
protocol; only the LLM is scripted. The fallback is a recording stand-in for the offline
answerer, so the tests can see when and with what it was asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from knowledge.types import Chunk, ScoredChunk
from tests.fakes.openai_server import ScriptClient
from tutor.chat.answering import (
    Answer,
    AnswerEvent,
    AnswerRequest,
    LearnerContext,
    Turn,
    answer_text,
)
from tutor.chat.llm_answerer import LLMAnswerer, build_llm_answerer, guard_leaks, validate_citations

pytestmark = pytest.mark.integration

API_KEY = "sk-test-SECRET-4242"
MODEL = "tutor-test-model"
UNAVAILABLE_EN = (
    "The AI model is unavailable right now; this answer quotes the course material directly."
)
FALLBACK_TEXT = "Quoted from the course material [1]."

SOLUTION = """\
# Solution: squares

Use a list comprehension over range:

```python
def squares(n):
    return [i * i for i in range(1, n + 1)]
```
"""


def chunk(n: int, title: str, heading: tuple[str, ...], text: str) -> ScoredChunk:
    return ScoredChunk(
        chunk=Chunk(
            id=f"c{n}",
            doc_id=f"d{n}",
            index=0,
            text=text,
            heading_path=(title, *heading),
            line_start=10 * n,
            line_end=10 * n + 3,
            course="tiny",
            title=title,
            kind="lesson",
            lang="en",
        ),
        score=1.0 / n,
    )


PASSAGES = [
    chunk(1, "Lists", ("Sorting lists",), "The sorted function returns a new list."),
    chunk(2, "Loops", ("Counting with range",), "range(5) gives 0, 1, 2, 3 and 4."),
]


def request(**overrides) -> AnswerRequest:
    values = {
        "question": "How do I sort a list?",
        "passages": PASSAGES,
        "lang": "en",
        "learner": LearnerContext(level=2),
    }
    values.update(overrides)
    return AnswerRequest(**values)


class RecordingFallback:
    """Stands in for the offline answerer: a fixed answer, and a record of each request."""

    name = "extractive"

    def __init__(self) -> None:
        self.requests: list[AnswerRequest] = []

    def stream(self, req: AnswerRequest) -> Iterator[AnswerEvent]:
        self.requests.append(req)
        yield AnswerEvent("token", FALLBACK_TEXT)
        yield AnswerEvent(
            "done",
            answer=Answer(text=FALLBACK_TEXT, citations=(), answerer="extractive", mode=req.mode),
        )


@pytest.fixture
def server(llm_server: str) -> ScriptClient:
    client = ScriptClient(llm_server)
    client.reset()
    return client


@pytest.fixture
def fallback() -> RecordingFallback:
    return RecordingFallback()


@pytest.fixture
def make_answerer(llm_server: str, fallback: RecordingFallback):
    def make(**overrides) -> LLMAnswerer:
        values = {
            "base_url": llm_server,
            "api_key": API_KEY,
            "model": MODEL,
            "fallback": fallback,
            "timeout_s": 2.0,
            "retries": 2,
            "backoff_s": 0.01,
        }
        values.update(overrides)
        return build_llm_answerer(**values)

    return make


def collect(answerer: LLMAnswerer, req: AnswerRequest) -> tuple[list[AnswerEvent], Answer]:
    events = list(answerer.stream(req))
    assert [e.kind for e in events].count("done") == 1 and events[-1].kind == "done"
    return events, events[-1].answer


def tokens(events: list[AnswerEvent]) -> list[str]:
    return [e.text for e in events if e.kind == "token"]


def notices(events: list[AnswerEvent]) -> list[str]:
    return [e.text for e in events if e.kind == "notice"]


# --- streaming and the request ------------------------------------------------------------------
def test_tokens_stream_live_in_order_and_join_to_the_final_text(server, make_answerer) -> None:
    pieces = ["Use ", "the sorted ", "function ", "[1]."]
    server.script({"stream_chunks": pieces, "chunk_delay_s": 0.15})
    answerer = make_answerer()

    started = time.monotonic()
    arrivals: list[float] = []
    events: list[AnswerEvent] = []
    for event in answerer.stream(request()):
        arrivals.append(time.monotonic() - started)
        events.append(event)

    answer = events[-1].answer
    assert tokens(events) == pieces
    assert answer.text == "".join(pieces) == "Use the sorted function [1]."
    assert answer.answerer == "llm" and answer.mode == "answer" and answer.notices == ()
    assert [c.n for c in answer.citations] == [1]
    # The first token arrived well before the last one: tokens are forwarded as they come.
    assert arrivals[-1] - arrivals[0] >= 0.3


def test_request_carries_model_passages_language_and_level(server, make_answerer) -> None:
    server.script({"content": "Short answer [1]."}, {"content": "Short answer [1]."})
    answerer = make_answerer()
    history = (Turn("user", "What is a list?"), Turn("assistant", "An ordered collection [1]."))

    answer_text(
        answerer.stream(
            request(
                lang="ko",
                learner=LearnerContext(level=1, unmastered=("sorting",)),
                history=history,
            )
        )
    )
    answer_text(answerer.stream(request(learner=LearnerContext(level=4))))

    lv1, lv4 = server.calls()
    assert lv1["model"] == MODEL and lv1["stream"] is True and lv1["temperature"] == 0.2
    roles = [m["role"] for m in lv1["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert lv1["messages"][1]["content"] == "What is a list?"
    # Earlier answers lose their markers: their numbers referred to other passages.
    assert lv1["messages"][2]["content"] == "An ordered collection."
    human = lv1["messages"][-1]["content"]
    assert "[1] Lists › Sorting lists\nThe sorted function returns a new list." in human
    assert "[2] Loops › Counting with range\nrange(5) gives" in human
    assert human.endswith("Question: How do I sort a list?")

    system1, system4 = lv1["messages"][0]["content"], lv4["messages"][0]["content"]
    assert system1 != system4
    assert "Korean" in system1 and "English" in system4
    assert "worked example" in system1 and "sorting" in system1
    assert "concise" in system4.lower() and "worked example" not in system4
    for system in (system1, system4):
        assert "Cite with [n] only from the passages" in system
        assert "do not answer from general knowledge" in system


def test_invalid_citation_is_removed_and_valid_one_kept(server, make_answerer, caplog) -> None:
    server.script({"content": "Use sorted [1]; it never mutates the list [9]."})
    caplog.set_level(logging.WARNING, logger="kdt.tutor.llm")

    answer = answer_text(make_answerer().stream(request()))

    assert answer.text == "Use sorted [1]; it never mutates the list."
    assert len(answer.citations) == 1
    citation = answer.citations[0]
    assert (citation.n, citation.chunk_id, citation.title) == (1, "c1", "Lists")
    assert citation.heading_path == ("Lists", "Sorting lists")
    assert (citation.line_start, citation.line_end) == (10, 13)
    assert any("[9]" in r.getMessage() for r in caplog.records if r.name == "kdt.tutor.llm")


def test_not_covered_mode_names_the_nearest_topics(server, make_answerer) -> None:
    server.script({"content": "The course does not cover this."})

    answer = answer_text(
        make_answerer().stream(
            request(mode="not_covered", passages=[], nearest_topics=("Lists", "Loops"))
        )
    )

    system = server.calls()[0]["messages"][0]["content"]
    assert "does not cover" in system and "Lists, Loops" in system
    assert answer.mode == "not_covered" and answer.citations == ()


# --- failures -----------------------------------------------------------------------------------
def test_rate_limit_is_retried_once_then_answers(server, make_answerer, fallback) -> None:
    server.script({"status": 429}, {"content": "Use sorted [1]."})

    events, answer = collect(make_answerer(), request())

    assert len(server.calls()) == 2
    assert answer.answerer == "llm" and answer.text == "Use sorted [1]."
    assert notices(events) == [] and fallback.requests == []


def test_server_errors_exhaust_retries_then_fall_back(server, make_answerer, fallback) -> None:
    server.script({"status": 500}, {"status": 500}, {"status": 500})

    events, answer = collect(make_answerer(retries=2), request())

    assert len(server.calls()) == 3
    assert len(fallback.requests) == 1
    assert events[0] == AnswerEvent("notice", UNAVAILABLE_EN)
    assert tokens(events) == [FALLBACK_TEXT]
    assert answer.answerer == "extractive" and answer.text == FALLBACK_TEXT
    assert answer.notices == (UNAVAILABLE_EN,)


def test_fallback_notice_is_in_the_answer_language(server, make_answerer) -> None:
    server.script({"status": 503})

    events, answer = collect(make_answerer(retries=0), request(lang="ko"))

    assert notices(events) == [
        "지금은 AI 모델을 사용할 수 없어, 강의 자료를 그대로 인용한 답변을 보여 드립니다."
    ]
    assert answer.notices == tuple(notices(events))


def test_timeout_falls_back(server, make_answerer, fallback) -> None:
    server.script({"delay_s": 1.5, "content": "too late"})
    started = time.monotonic()

    events, answer = collect(make_answerer(timeout_s=0.4, retries=0), request())

    assert time.monotonic() - started < 1.4
    assert len(fallback.requests) == 1
    assert answer.answerer == "extractive" and answer.notices == (UNAVAILABLE_EN,)


def test_stream_dropped_midway_falls_back_with_a_notice(server, make_answerer, fallback) -> None:
    server.script(
        {"stream_chunks": ["Use ", "sorted ", "with ", "reverse=True."], "fail_after_chunks": 2}
    )

    events, answer = collect(make_answerer(), request())

    assert len(server.calls()) == 1  # tokens were already shown: no silent retry
    kinds = [e.kind for e in events]
    assert kinds[:3] == ["token", "token", "notice"]
    assert tokens(events)[:2] == ["Use ", "sorted "]
    assert "interrupted" in events[2].text
    assert len(fallback.requests) == 1
    assert answer.answerer == "extractive" and answer.text == FALLBACK_TEXT
    assert answer.notices == (events[2].text,)


def test_rejected_key_falls_back_without_retry_or_leaking_the_key(
    server, make_answerer, fallback, caplog
) -> None:
    server.script({"status": 401, "error_message": f"Incorrect API key provided: {API_KEY}"})
    caplog.set_level(logging.DEBUG)

    events, answer = collect(make_answerer(retries=2), request())

    assert len(server.calls()) == 1
    assert len(fallback.requests) == 1
    assert answer.answerer == "extractive"
    (notice,) = notices(events)
    assert "rejected" in notice and answer.notices == (notice,)
    assert API_KEY not in notice
    assert API_KEY not in caplog.text
    assert "401" in caplog.text


def test_empty_completion_falls_back(server, make_answerer, fallback) -> None:
    server.script({"content": ""})

    events, answer = collect(make_answerer(), request())

    assert len(fallback.requests) == 1 and answer.notices == (UNAVAILABLE_EN,)


def test_unreachable_server_falls_back(make_answerer, fallback) -> None:
    from tests.fakes.openai_server import free_port

    answerer = make_answerer(base_url=f"http://127.0.0.1:{free_port()}/v1", retries=1)

    events, answer = collect(answerer, request())

    assert answer.answerer == "extractive" and answer.notices == (UNAVAILABLE_EN,)


# --- hint mode and the solution-leak guard --------------------------------------------------------
def test_hint_that_leaks_the_solution_is_withheld_before_streaming(server, make_answerer) -> None:
    leaked = (
        "Think about list comprehensions [1]. Here is the code:\n\n"
        "```python\ndef squares(n):\n    return [i*i for i in range(1, n+1)]\n```\n\n"
        "What does range(1, n + 1) produce?"
    )
    server.script({"content": leaked})
    req = request(
        question="How do I write squares(n)?",
        mode="hint",
        exercise="ex-squares",
        withheld=(SOLUTION,),
    )

    events, answer = collect(make_answerer(), req)

    system = server.calls()[0]["messages"][0]["content"]
    assert "Never give the solution" in system and "ex-squares" in system
    streamed = "".join(tokens(events))
    assert "i*i" not in streamed and "def squares" not in streamed
    assert streamed == answer.text
    assert "[withheld: part of the exercise solution]" in answer.text
    assert "What does range(1, n + 1) produce?" in answer.text
    assert [c.n for c in answer.citations] == [1]
    assert answer.mode == "hint" and answer.answerer == "llm"
    assert len(answer.notices) == 1 and "withheld" in answer.notices[0]
    assert notices(events) == list(answer.notices)


def test_hint_without_a_leak_is_unchanged(server, make_answerer) -> None:
    hint = "Which function builds numbers from 1 to n? See [2]."
    server.script({"content": hint})

    events, answer = collect(
        make_answerer(), request(mode="hint", exercise="ex-squares", withheld=(SOLUTION,))
    )

    assert answer.text == hint == "".join(tokens(events))
    assert answer.notices == () and [c.n for c in answer.citations] == [2]


def test_hint_mode_retries_a_dropped_stream(server, make_answerer, fallback) -> None:
    # Nothing was shown yet (hint answers are buffered), so a drop is retried, not a fallback.
    server.script(
        {"stream_chunks": ["Look ", "at ", "[2]."], "fail_after_chunks": 1},
        {"content": "Look at [2]."},
    )

    answer = answer_text(make_answerer().stream(request(mode="hint", withheld=(SOLUTION,))))

    assert len(server.calls()) == 2 and fallback.requests == []
    assert answer.text == "Look at [2]."


def test_answer_mode_with_withheld_texts_is_also_guarded(server, make_answerer) -> None:
    server.script(
        {
            "content": "Like this:\n\n```python\ndef squares(n):\n"
            "    return [i * i for i in range(1, n + 1)]\n```"
        }
    )

    events, answer = collect(make_answerer(), request(withheld=(SOLUTION,), lang="ko"))

    assert "range(1, n + 1)" not in "".join(tokens(events))
    assert answer.text == "Like this:\n\n[비공개: 연습 문제 정답의 일부]"
    assert len(answer.notices) == 1


# --- the pure checks ------------------------------------------------------------------------------
def test_citation_check_ignores_indexing_and_code() -> None:
    text = "Pick matrix[1][0] [1][3], see `xs[7]` and [2, 9].\n```python\nx = a[5]\n```"

    fixed, valid, invalid = validate_citations(text, 2)

    assert fixed == "Pick matrix[1][0] [1], see `xs[7]` and [2].\n```python\nx = a[5]\n```"
    assert valid == [1, 2] and invalid == [3, 9]


def test_leak_guard_catches_a_shared_line_in_prose_and_spares_other_code() -> None:
    prose = "Just write return [i * i for i in range(1, n + 1)] and you are done."
    other = "```python\nfor word in words:\n    print(word.upper())\n```"

    assert guard_leaks(prose, [SOLUTION], "[W]") == ("[W]", True)
    assert guard_leaks(other, [SOLUTION], "[W]") == (other, False)
    assert guard_leaks(other, [], "[W]") == (other, False)


# --- condensing follow-up questions ---------------------------------------------------------------
HISTORY = (
    Turn("user", "What does the sorted function do?"),
    Turn("assistant", "It returns a new sorted list [1]."),
)


def test_condense_question_asks_the_model(server, make_answerer) -> None:
    server.script({"content": "How do I make the sorted function sort in reverse?\n"})

    result = make_answerer().condense_question(HISTORY, "And in reverse?")

    assert result == "How do I make the sorted function sort in reverse?"
    (call,) = server.calls()
    human = call["messages"][-1]["content"]
    assert "Trainee: What does the sorted function do?" in human
    assert "Follow-up question: And in reverse?" in human


def test_condense_question_says_when_the_model_failed(server, make_answerer) -> None:
    # None tells the chat's topic rule to decide offline (tutor/chat/topics.py: LLMTopicRule).
    server.script({"status": 500})
    answerer = make_answerer()

    assert answerer.condense_question(HISTORY, "And in reverse?") is None
    assert answerer.condense_question((), "Standalone already?") == "Standalone already?"
    assert len(server.calls()) == 1  # no history: the model is not asked


# --- one deadline per answer (issue 14: a hanging or trickling endpoint held a chat 92-300 s) ---
def llm_calls_alive() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "llm-call" and t.is_alive()]


def wait_for_no_llm_calls(timeout_s: float) -> list[str]:
    ends = time.monotonic() + timeout_s
    while llm_calls_alive() and time.monotonic() < ends:
        time.sleep(0.05)
    return llm_calls_alive()


def test_a_hanging_endpoint_falls_back_at_the_first_token_deadline(
    server, make_answerer, fallback
) -> None:
    server.script({"delay_s": 30, "content": "too late"})
    # The per-read timeout (30 s) and three tries would take 90 s; the deadline decides.
    answerer = make_answerer(timeout_s=30, retries=2, first_token_s=1.0, total_s=5.0)
    started = time.monotonic()

    events, answer = collect(answerer, request())

    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.8, elapsed
    assert answer.answerer == "extractive" and answer.notices == (UNAVAILABLE_EN,)
    assert len(server.calls()) == 1 and len(fallback.requests) == 1
    assert wait_for_no_llm_calls(2.0) == []  # the abandoned call ended (its read timed out)


def test_keepalive_trickle_falls_back_and_the_abandoned_call_is_cut(
    server, make_answerer, fallback
) -> None:
    # Bytes every 0.2 s reset any read timeout, and the SDK shows no chunk for them.
    server.script({"keepalive_s": 0.2, "keepalive_for_s": 30, "content": "never"})
    answerer = make_answerer(timeout_s=30, first_token_s=1.0, total_s=30.0)
    started = time.monotonic()

    events, answer = collect(answerer, request())

    assert time.monotonic() - started < 1.8
    assert answer.answerer == "extractive" and notices(events) == [UNAVAILABLE_EN]
    # The worker stops on the next keep-alive after the caller left, not after 30 s.
    assert wait_for_no_llm_calls(1.5) == []


def test_empty_chunks_trickling_do_not_count_as_a_first_token(server, make_answerer) -> None:
    server.script({"stream_chunks": [""] * 100, "chunk_delay_s": 0.1})
    started = time.monotonic()

    events, answer = collect(make_answerer(first_token_s=1.0, total_s=30.0), request())

    assert time.monotonic() - started < 1.8
    assert answer.answerer == "extractive" and answer.notices == (UNAVAILABLE_EN,)


def test_an_answer_slower_than_the_total_is_cut_and_answered_offline(
    server, make_answerer, fallback
) -> None:
    server.script({"stream_chunks": [f"word{i} " for i in range(40)], "chunk_delay_s": 0.1})
    started = time.monotonic()

    events, answer = collect(make_answerer(first_token_s=1.0, total_s=1.5), request())

    assert time.monotonic() - started < 2.3
    kinds = [e.kind for e in events]
    first_notice = kinds.index("notice")
    assert kinds[:first_notice] == ["token"] * first_notice and first_notice >= 3
    assert "interrupted" in events[first_notice].text
    assert answer.answerer == "extractive" and answer.text == FALLBACK_TEXT


def test_retries_share_the_deadline(server, make_answerer, fallback) -> None:
    # Each try fails after 0.7 s: three tries would take 2.1 s, the deadline allows 1.2 s.
    server.script(*[{"delay_s": 0.7, "status": 503}] * 3)
    started = time.monotonic()

    events, answer = collect(
        make_answerer(retries=2, backoff_s=0.05, first_token_s=1.2, total_s=10.0), request()
    )

    assert time.monotonic() - started < 1.9
    assert len(server.calls()) == 2
    assert answer.answerer == "extractive" and answer.notices == (UNAVAILABLE_EN,)


def test_a_hint_waits_no_longer_than_an_answer(server, make_answerer) -> None:
    server.script({"delay_s": 30})
    started = time.monotonic()

    events, answer = collect(
        make_answerer(first_token_s=1.0),
        request(mode="hint", exercise="ex-squares", withheld=(SOLUTION,)),
    )

    assert time.monotonic() - started < 1.8
    assert answer.answerer == "extractive" and answer.mode == "hint"


def test_garbage_from_the_endpoint_falls_back_at_once(server, make_answerer) -> None:
    server.script({"raw_body": "<html>502 Bad Gateway</html>"})
    started = time.monotonic()

    events, answer = collect(make_answerer(), request())

    assert time.monotonic() - started < 1.0
    assert answer.answerer == "extractive" and answer.notices == (UNAVAILABLE_EN,)


def test_condensing_uses_at_most_half_the_time_left_and_the_answer_keeps_the_rest(
    server, make_answerer, fallback
) -> None:
    from tutor.chat.answering import Deadline

    server.script({"delay_s": 30}, {"content": "Use sorted [1]."})
    answerer = make_answerer(first_token_s=2.0, total_s=10.0)
    deadline = Deadline.start(first_token_s=2.0, total_s=10.0)
    started = time.monotonic()

    assert answerer.condense_question(HISTORY, "And in reverse?", deadline=deadline) is None
    condensed_at = time.monotonic() - started
    answer = answer_text(answerer.stream(request(deadline=deadline)))

    assert 0.9 <= condensed_at < 1.3, condensed_at
    assert answer.answerer == "llm" and answer.text == "Use sorted [1]."


def test_the_answer_deadline_counts_what_condensing_spent(server, make_answerer) -> None:
    from tutor.chat.answering import Deadline

    server.script({"delay_s": 30}, {"delay_s": 30})
    answerer = make_answerer(first_token_s=2.0, total_s=10.0)
    deadline = Deadline.start(first_token_s=2.0, total_s=10.0)
    started = time.monotonic()

    answerer.condense_question(HISTORY, "And in reverse?", deadline=deadline)
    answer = answer_text(answerer.stream(request(deadline=deadline)))

    # Both calls hung; together they took the one deadline (2 s), not 2 s each.
    assert 1.9 <= time.monotonic() - started < 2.7
    assert answer.answerer == "extractive"

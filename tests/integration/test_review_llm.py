"""The review narrative from an LLM: the real ChatOpenAI client against the scripted
OpenAI-compatible server (real HTTP), grounded in the facts, guarded against solutions,
retried on transient errors and replaced by the composed text when the model fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import ScriptClient, start_fake_openai, stop_fake_openai
from tests.sum_evens import BUGGY, SOLUTION, failed_run
from tutor.chat.llm_answerer import build_chat_model
from tutor.review.narrative import LLMReviewNarrator, ReviewFacts, compose_offline
from tutor.review.types import SourceFile

pytestmark = pytest.mark.integration


FACTS = ReviewFacts(
    lang="en",
    level=2,
    files=(SourceFile("solution.py", BUGGY),),
    exercise="Sum of evens",
    tests=failed_run(),
    findings=[],
    hidden_count=0,
    suspicious=[
        {
            "file": "solution.py",
            "line": 4,
            "code": "total += n",
            "question": "Which numbers reach line 4?",
        }
    ],
    links=[{"n": 1, "title": "Conditionals", "heading": "if", "text": "An if statement..."}],
    withheld=(SOLUTION,),
)


@pytest.fixture(scope="module")
def llm_server() -> Iterator[str]:
    proc, base_url = start_fake_openai()
    yield base_url
    stop_fake_openai(proc)


@pytest.fixture
def server(llm_server: str) -> ScriptClient:
    client = ScriptClient(llm_server)
    client.reset()
    return client


def narrator(base_url: str) -> LLMReviewNarrator:
    model = build_chat_model(
        base_url=base_url,
        api_key="test-key",
        model="tutor-model",
        timeout_s=2.0,
        streaming=False,
    )
    return LLMReviewNarrator(chat_model=model, retries=2, backoff_s=0.01)


def test_the_model_gets_the_numbered_code_the_tests_and_the_suspicious_lines(
    llm_server, server
) -> None:
    server.script({"content": "1 of 2 tests pass. Look at line 4: which numbers reach it? [1]"})

    text, notices = narrator(llm_server).narrate(FACTS)

    assert text == "1 of 2 tests pass. Look at line 4: which numbers reach it? [1]"
    assert notices == []
    (call,) = server.calls()
    system, human = call["messages"][0]["content"], call["messages"][1]["content"]
    assert "Never give the solution" in system and "English" in system
    assert "   4          total += n" in human
    assert "case 2: failed; input sum_evens([1, 2]); expected 2; got 3" in human
    assert "solution.py line 4: Which numbers reach line 4?" in human
    assert "[1] Conditionals › if" in human
    assert "n % 2" not in human  # the solution never reaches the model


def test_a_fix_from_the_model_is_removed_with_a_notice(llm_server, server) -> None:
    server.script(
        {
            "content": "Change line 4 to:\n```python\nif n % 2 == 0:\n    total += n\n```\n"
            "Or write `if n % 2 == 0:` before it."
        }
    )

    text, notices = narrator(llm_server).narrate(FACTS)

    assert "n % 2" not in text
    assert "[withheld: part of the solution]" in text
    assert notices == ["Part of the review showed solution code and was removed."]


def test_transient_errors_are_retried(llm_server, server) -> None:
    server.script({"status": 503}, {"status": 429}, {"content": "Line 4 runs for odd numbers too."})

    text, notices = narrator(llm_server).narrate(FACTS)

    assert text == "Line 4 runs for odd numbers too." and notices == []
    assert len(server.calls()) == 3


def test_a_failing_model_gives_the_composed_review_with_a_notice(llm_server, server) -> None:
    server.script({"status": 500}, {"status": 500}, {"status": 500})

    text, notices = narrator(llm_server).narrate(FACTS)

    assert text == compose_offline(FACTS)
    assert notices == ["The AI model could not be reached; this review was composed without it."]
    assert len(server.calls()) == 3


def test_a_rejected_request_is_not_retried(llm_server, server) -> None:
    server.script({"status": 401})

    text, notices = narrator(llm_server).narrate(FACTS)

    assert text == compose_offline(FACTS) and len(notices) == 1
    assert len(server.calls()) == 1

"""``LLMJudge`` through the real ``ChatOpenAI`` client against the scripted HTTP server.

The server (``tests/fakes/openai_server.py``) runs in a subprocess and records every request
body, so the tests check what the judge sent (temperature 0, the prompt) as well as how it
reads the replies. The judge calls faithfulness, relevance, correctness in that order,
``trials`` calls each; the SDK retries a failed call once, so a failing call consumes two
scripted steps.
"""

from __future__ import annotations

import json
import logging

import pytest

from eval.judge import METRIC_KEYS, JudgeConfig, LLMJudge
from tests.fakes.openai_server import ScriptClient, free_port

pytestmark = pytest.mark.integration

MODEL = "judge-test-model"
CONTEXTS = ["The sorted function returns a new list.", "Pass reverse=True to sort descending."]
QUESTION = "How do I sort a list from largest to smallest?"
ANSWER = "Use `sorted(xs, reverse=True)` [1][2]."
REFERENCE = "sorted(xs, reverse=True) returns a new list sorted from largest to smallest."
FAIL = {"status": 500, "error_message": "scripted outage"}


def reply(score: float, reason: str = "ok") -> dict:
    return {"content": json.dumps({"score": score, "reason": reason})}


@pytest.fixture
def server(llm_server: str) -> ScriptClient:
    client = ScriptClient(llm_server)
    client.reset()
    return client


def make_judge(base_url: str, *, trials: int = 3, timeout_s: float = 5.0) -> LLMJudge:
    return LLMJudge(
        JudgeConfig(
            base_url=base_url, model=MODEL, api_key=None, trials=trials, timeout_s=timeout_s
        )
    )


def judge_item(judge: LLMJudge, **overrides) -> dict:
    values = {"question": QUESTION, "answer": ANSWER, "contexts": CONTEXTS, "reference": REFERENCE}
    values.update(overrides)
    return judge.judge(**values)


def test_scores_are_averaged_over_three_trials_with_their_spread(
    server: ScriptClient, llm_server: str
) -> None:
    server.script(
        reply(0.8, "claims supported"),
        reply(1.0, "all supported"),
        reply(0.9, "claims supported"),
        {"content": '```json\n{"score": 1, "reason": "on topic"}\n```'},
        {"content": 'Judgement: {"score": 1.0, "reason": "on topic"} (done)'},
        reply(0.7, "partly on topic"),
        reply(0.5, "half"),
        reply(0.5, "half"),
        reply(0.5, "half"),
    )

    scores = judge_item(make_judge(llm_server))

    assert list(scores) == list(METRIC_KEYS)
    faith, relevance, correctness = (scores[k] for k in METRIC_KEYS)
    assert faith.value == pytest.approx(0.9)
    assert faith.reason == "claims supported"
    assert faith.details["spread"] == pytest.approx(0.2)
    assert faith.details["std"] == pytest.approx(0.1)
    assert [t["score"] for t in faith.details["trials"]] == [0.8, 1.0, 0.9]
    assert relevance.value == pytest.approx(0.9)
    assert relevance.details["spread"] == pytest.approx(0.3)
    assert (correctness.value, correctness.details["spread"]) == (0.5, 0.0)
    json.dumps({k: s.to_json() for k, s in scores.items()})  # report-ready


def test_requests_use_temperature_zero_the_model_and_the_prompts(
    server: ScriptClient, llm_server: str
) -> None:
    server.script(*[reply(1.0)] * 9)

    judge_item(make_judge(llm_server))

    calls = server.calls()
    assert len(calls) == 9
    for call in calls:
        assert call["temperature"] == 0
        assert call["model"] == MODEL
        assert not call.get("stream")
        assert len(call["messages"]) == 1 and call["messages"][0]["role"] == "user"
    prompts = [call["messages"][0]["content"] for call in calls]
    assert all("faithfulness" in p for p in prompts[:3])
    assert "[1] The sorted function returns a new list." in prompts[0]
    assert "[2] Pass reverse=True to sort descending." in prompts[0]
    assert all("relevance" in p and "Passages" not in p for p in prompts[3:6])
    assert all("correctness" in p and REFERENCE in p for p in prompts[6:])
    assert all(QUESTION in p and ANSWER in p for p in prompts)


def test_korean_text_reaches_the_judge_intact(server: ScriptClient, llm_server: str) -> None:
    question = "리스트를 큰 값부터 정렬하려면?"
    answer = "`sorted(xs, reverse=True)`를 쓰면 큰 값부터 정렬된 새 리스트가 나옵니다 [1]."
    server.script(*[reply(1.0, "한국어 답변이 영어 자료로 뒷받침됩니다.")] * 2)

    scores = judge_item(
        make_judge(llm_server, trials=1), question=question, answer=answer, reference=None
    )

    prompts = [call["messages"][0]["content"] for call in server.calls()]
    assert len(prompts) == 2
    assert all(question in p and answer in p for p in prompts)
    assert "[1] The sorted function returns a new list." in prompts[0]
    assert scores["judge_faithfulness"].reason == "한국어 답변이 영어 자료로 뒷받침됩니다."


def test_correctness_is_not_applicable_without_a_reference(
    server: ScriptClient, llm_server: str
) -> None:
    server.script(*[reply(1.0)] * 6)

    scores = judge_item(make_judge(llm_server), reference=None)

    assert scores["judge_correctness"].value is None
    assert scores["judge_correctness"].reason == "no reference answer"
    assert "error" not in scores["judge_correctness"].details
    assert scores["judge_relevance"].value == 1.0
    assert len(server.calls()) == 6


def test_an_empty_answer_is_not_judged(server: ScriptClient, llm_server: str) -> None:
    scores = judge_item(make_judge(llm_server), answer="  ")

    assert all(s.value is None and s.reason == "no answer to judge" for s in scores.values())
    assert server.calls() == []


def test_an_endpoint_failing_mid_run_marks_those_items_and_the_run_completes(
    server: ScriptClient, llm_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    judge = make_judge(llm_server, trials=2)
    ok_item = [reply(1.0, "fine")] * 6
    # Item 2: each of the 2 faithfulness calls fails twice (SDK retry); then the judge
    # stops calling for that item. Item 3: the endpoint is back.
    server.script(*ok_item, *[FAIL] * 4, *ok_item)

    with caplog.at_level(logging.WARNING, logger="kdt.eval.judge"):
        results = [judge_item(judge, question=f"Question {i}?") for i in (1, 2, 3)]

    first, failed, last = results
    assert all(s.value == 1.0 for s in (*first.values(), *last.values()))
    for score in failed.values():
        assert score.value is None
        assert score.reason == "judge failed: HTTP 500"
        assert score.details["error"] == "HTTP 500"
    assert failed["judge_faithfulness"].details["trials"] == [{"error": "HTTP 500"}] * 2
    assert failed["judge_relevance"].details["skipped"] is True
    assert failed["judge_correctness"].details["skipped"] is True
    assert len(server.calls()) == 6 + 4 + 6
    assert "judge_faithfulness: 2 of 2 judge trials failed (HTTP 500)" in caplog.text
    assert "scripted outage" not in caplog.text  # the response body is not logged


def test_one_failed_trial_leaves_the_mean_of_the_others(
    server: ScriptClient, llm_server: str
) -> None:
    server.script(reply(0.6, "ok"), FAIL, FAIL, reply(1.0, "ok"), *[reply(1.0)] * 6)

    scores = judge_item(make_judge(llm_server))

    faith = scores["judge_faithfulness"]
    assert faith.value == pytest.approx(0.8)
    assert faith.reason == "ok (1 of 3 trials failed: HTTP 500)"
    assert faith.details["failed"] == 1
    assert faith.details["trials"][1] == {"error": "HTTP 500"}
    assert scores["judge_relevance"].value == 1.0


def test_unparsable_replies_fail_that_metric_only(server: ScriptClient, llm_server: str) -> None:
    server.script(
        {"content": "The answer looks faithful to me."},
        {"content": '{"score": 8, "reason": "on a 0-10 scale"}'},
        {"content": ""},
        *[reply(1.0)] * 6,
    )

    scores = judge_item(make_judge(llm_server))

    faith = scores["judge_faithfulness"]
    assert faith.value is None
    assert faith.reason.startswith("judge failed: unparsable reply: ")
    assert [t["error"] for t in faith.details["trials"]] == [
        "unparsable reply: no JSON object with a score in the reply",
        "unparsable reply: score 8 outside [0, 1]",
        "unparsable reply: empty reply",
    ]
    # A bad reply is not an endpoint failure: the other metrics are still asked.
    assert scores["judge_relevance"].value == 1.0
    assert scores["judge_correctness"].value == 1.0
    assert len(server.calls()) == 9


def test_a_timeout_is_a_failed_trial(server: ScriptClient, llm_server: str) -> None:
    server.script({"delay_s": 3}, {"delay_s": 3})

    scores = judge_item(make_judge(llm_server, trials=1, timeout_s=0.5))

    assert all(s.value is None for s in scores.values())
    assert scores["judge_faithfulness"].reason == "judge failed: timeout"
    assert scores["judge_relevance"].details == {"error": "timeout", "skipped": True}


@pytest.mark.parametrize(
    ("status", "error"), [(401, "HTTP 401"), (404, "HTTP 404"), (429, "HTTP 429")]
)
def test_rejected_requests_are_failed_trials(
    server: ScriptClient, llm_server: str, status: int, error: str
) -> None:
    server.script(*[{"status": status}] * 2)  # 429 is retried once; 401/404 are not

    scores = judge_item(make_judge(llm_server, trials=1))

    assert scores["judge_faithfulness"].reason == f"judge failed: {error}"
    assert all(s.value is None for s in scores.values())


def test_an_unreachable_endpoint_never_raises() -> None:
    judge = make_judge(f"http://127.0.0.1:{free_port()}/v1", trials=2, timeout_s=2)

    scores = judge_item(judge)

    assert set(scores) == set(METRIC_KEYS)
    assert all(s.value is None for s in scores.values())
    assert scores["judge_faithfulness"].reason == "judge failed: connection error"

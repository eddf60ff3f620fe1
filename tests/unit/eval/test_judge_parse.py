"""The LLM judge's pure parts: reading a judgement, aggregating trials, configuration."""

from __future__ import annotations

import math
import re

import jinja2
import pytest
from pydantic import SecretStr, ValidationError

from eval.judge import (
    JudgeConfig,
    JudgementError,
    Trial,
    aggregate_trials,
    judge_config_from,
    parse_judgement,
    read_judgement,
)
from prompts import render
from tutor.errors import ConfigError
from tutor.settings import Settings


# --- parse_judgement ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"score": 0.8, "reason": "All supported."}', (0.8, "All supported.")),
        ('{"score": 1, "reason": "ok"}', (1.0, "ok")),
        ('{"score": 0, "reason": "none"}', (0.0, "none")),
        ('```json\n{"score": 0.5, "reason": "half"}\n```', (0.5, "half")),
        ('```\n{"score": 0.25, "reason": "a quarter"}\n```', (0.25, "a quarter")),
        ('```JSON {"score": 0.3, "reason": "inline fence"}```', (0.3, "inline fence")),
        (
            'Here is my judgement:\n{"score": 0.9, "reason": "mostly"}\nI hope this helps.',
            (0.9, "mostly"),
        ),
        ('{"reason": "uses {x} and } braces", "score": 0.6}', (0.6, "uses {x} and } braces")),
        ('{"score": "0.75", "reason": "numeric string"}', (0.75, "numeric string")),
        ('{"score": 0.4}', (0.4, "")),
        ('{"score": 0.4, "reason": "  two\\n lines  "}', (0.4, "two lines")),
        ('{"score": 0.7, "reason": "답변이 질문에 맞습니다."}', (0.7, "답변이 질문에 맞습니다.")),
        ('{"note": "first"} then {"score": 0.2, "reason": "second"}', (0.2, "second")),
        (
            '<think>maybe {"score": 5}?</think>\n{"score": 0.65, "reason": "after thinking"}',
            (0.65, "after thinking"),
        ),
        ('{"verdict": {"x": 1}, "score": 1.0, "reason": "nested"}', (1.0, "nested")),
    ],
)
def test_valid_judgements_are_read(reply: str, expected: tuple[float, str]) -> None:
    assert parse_judgement(reply) == expected


def test_rounding_noise_at_the_bounds_is_clamped() -> None:
    assert parse_judgement('{"score": 1.0000001, "reason": "r"}') == (1.0, "r")
    assert parse_judgement('{"score": -0.0000001, "reason": "r"}') == (0.0, "r")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ('{"score": 7, "reason": "on a 0-10 scale"}', "outside [0, 1]"),
        ('{"score": 4, "reason": "on a 1-5 scale"}', "outside [0, 1]"),
        ('{"score": 1.5, "reason": "r"}', "outside [0, 1]"),
        ('{"score": -0.2, "reason": "r"}', "outside [0, 1]"),
        ('{"score": true, "reason": "r"}', "not a number"),
        ('{"score": "high", "reason": "r"}', "not a number"),
        ('{"score": null, "reason": "r"}', "not a number"),
        ('{"score": [0.5], "reason": "r"}', "not a number"),
        ('{"score": NaN, "reason": "r"}', "not finite"),
        ('{"score": "inf", "reason": "r"}', "not finite"),
        ('{"reason": "forgot the score"}', "no JSON object with a score"),
        ("The answer is faithful. Score: 0.9", "no JSON object with a score"),
        ("{'score': 0.5, 'reason': 'python, not JSON'}", "no JSON object with a score"),
        ('{"score": 0.5, "reason": "truncated', "no JSON object with a score"),
        ("", "empty reply"),
        ("   \n", "empty reply"),
    ],
)
def test_invalid_judgements_are_rejected_with_a_reason(reply: str, why: str) -> None:
    assert parse_judgement(reply) is None
    with pytest.raises(JudgementError, match=re.escape(why)):
        read_judgement(reply)


def test_the_first_object_with_a_score_is_the_judgement() -> None:
    reply = '{"score": 0.1, "reason": "first"}\n{"score": 0.9, "reason": "second"}'
    assert parse_judgement(reply) == (0.1, "first")


def test_an_out_of_range_first_judgement_is_not_replaced_by_a_later_one() -> None:
    # The model's judgement is the first object; a later one is not a silent rescue.
    assert parse_judgement('{"score": 8, "reason": "a"} {"score": 0.8, "reason": "b"}') is None


# --- aggregate_trials --------------------------------------------------------------------------
def test_trials_are_averaged_with_spread_and_std() -> None:
    score = aggregate_trials(
        [Trial(0.8, "supported"), Trial(1.0, "fully supported"), Trial(0.9, "supported")]
    )

    assert score.value == pytest.approx(0.9)
    assert score.reason == "supported"  # the most common reason
    assert score.details["spread"] == pytest.approx(0.2)
    assert score.details["std"] == pytest.approx(0.1)
    assert score.details["trials"] == [
        {"score": 0.8, "reason": "supported"},
        {"score": 1.0, "reason": "fully supported"},
        {"score": 0.9, "reason": "supported"},
    ]
    assert "failed" not in score.details


def test_one_trial_has_no_spread() -> None:
    score = aggregate_trials([Trial(0.5, "half")])

    assert (score.value, score.details["spread"], score.details["std"]) == (0.5, 0.0, 0.0)


def test_the_first_reason_wins_a_tie() -> None:
    assert aggregate_trials([Trial(1.0, "a"), Trial(1.0, "b")]).reason == "a"


def test_failed_trials_are_left_out_of_the_mean_and_reported() -> None:
    score = aggregate_trials(
        [Trial(0.6, "ok"), Trial(error="HTTP 500", endpoint=True), Trial(1.0, "ok")]
    )

    assert score.value == pytest.approx(0.8)
    assert score.reason == "ok (1 of 3 trials failed: HTTP 500)"
    assert score.details["failed"] == 1
    assert score.details["trials"][1] == {"error": "HTTP 500"}
    assert score.details["spread"] == pytest.approx(0.4)


def test_all_trials_failed_gives_no_value_and_the_error() -> None:
    score = aggregate_trials(
        [
            Trial(error="unparsable reply: empty reply"),
            Trial(error="HTTP 500", endpoint=True),
            Trial(error="HTTP 500", endpoint=True),
        ]
    )

    assert score.value is None
    assert score.reason == "judge failed: HTTP 500"  # the most common error
    assert score.details["error"] == "HTTP 500"
    assert len(score.details["trials"]) == 3


def test_scores_are_json_ready() -> None:
    import json

    score = aggregate_trials([Trial(0.3, "r"), Trial(error="timeout", endpoint=True)])
    assert json.loads(json.dumps(score.to_json()))["details"]["failed"] == 1
    assert not math.isnan(score.value or 0.0)


# --- configuration -----------------------------------------------------------------------------
def test_no_judge_without_a_base_url() -> None:
    assert judge_config_from(Settings(_env_file=None)) is None


def test_judge_config_from_settings() -> None:
    settings = Settings(
        _env_file=None,
        judge_base_url="http://127.0.0.1:9/v1",
        judge_model="judge-model",
        judge_api_key="sk-judge-SECRET",
        judge_trials=5,
        llm_timeout_s=12,
        llm_api_key="sk-answerer-SECRET",
    )
    config = judge_config_from(settings)

    assert config is not None
    assert (config.base_url, config.model, config.trials, config.timeout_s) == (
        "http://127.0.0.1:9/v1",
        "judge-model",
        5,
        12,
    )
    assert isinstance(config.api_key, SecretStr)
    assert config.api_key.get_secret_value() == "sk-judge-SECRET"
    assert "SECRET" not in repr(config) and "SECRET" not in str(config.to_json())
    assert config.to_json()["temperature"] == 0
    assert judge_config_from(settings, timeout_s=60).timeout_s == 60


def test_the_answerers_key_is_not_the_judges() -> None:
    settings = Settings(
        _env_file=None, judge_base_url="http://127.0.0.1:9/v1", llm_api_key="sk-answerer"
    )
    assert judge_config_from(settings).api_key is None


def test_judge_settings_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None)
    assert (defaults.judge_model, defaults.judge_trials, defaults.judge_api_key) == (
        "gpt-4o-mini",
        3,
        None,
    )
    monkeypatch.setenv("KDT_JUDGE_BASE_URL", "http://judge:8000/v1")
    monkeypatch.setenv("KDT_JUDGE_MODEL", "qwen2.5-7b-instruct")
    monkeypatch.setenv("KDT_JUDGE_TRIALS", "2")
    from_env = Settings(_env_file=None)
    assert (from_env.judge_base_url, from_env.judge_model, from_env.judge_trials) == (
        "http://judge:8000/v1",
        "qwen2.5-7b-instruct",
        2,
    )


@pytest.mark.parametrize("trials", [0, 11, -1])
def test_trials_out_of_range_are_rejected(trials: int) -> None:
    with pytest.raises(ValidationError, match="judge_trials"):
        Settings(_env_file=None, judge_trials=trials)
    with pytest.raises(ConfigError, match="trials"):
        JudgeConfig(base_url="http://x/v1", model="m", trials=trials)


def test_judge_config_needs_a_url_and_a_model() -> None:
    with pytest.raises(ConfigError, match="KDT_JUDGE_BASE_URL"):
        JudgeConfig(base_url="", model="m")
    with pytest.raises(ConfigError, match="KDT_JUDGE_MODEL"):
        JudgeConfig(base_url="http://x/v1", model="")


# --- prompts -----------------------------------------------------------------------------------
KO_QUESTION = "리스트를 큰 값부터 정렬하려면 어떻게 하나요?"
REPLY_FORMAT = '{"score": <a number from 0 to 1>, "reason": "<one sentence in English>"}'
KO_ANSWER = "`sorted(xs, reverse=True)`는 큰 값부터 정렬된 새 리스트를 돌려줍니다 [1]."


def test_prompts_render_with_korean_text_and_numbered_passages() -> None:
    contexts = ["sorted() returns a new list.", "Pass reverse=True to sort from largest."]
    faith = render(
        "eval/faithfulness.text", question=KO_QUESTION, answer=KO_ANSWER, contexts=contexts
    )
    relevance = render("eval/relevance.text", question=KO_QUESTION, answer=KO_ANSWER)
    correctness = render(
        "eval/correctness.text",
        question=KO_QUESTION,
        answer=KO_ANSWER,
        reference="reverse=True를 넘기면 내림차순으로 정렬됩니다.",
    )

    assert "[1] sorted() returns a new list.\n\n[2] Pass reverse=True" in faith
    assert "Korean" in faith  # cross-language support is allowed
    assert "not cover" in relevance  # a right "not covered" answer is relevant
    assert "reverse=True를 넘기면" in correctness
    for text in (faith, relevance, correctness):
        assert KO_QUESTION in text and KO_ANSWER in text
        assert text.endswith(REPLY_FORMAT)


def test_faithfulness_prompt_without_passages_says_none() -> None:
    text = render("eval/faithfulness.text", question="q", answer="a", contexts=[])
    assert "Passages:\n(none)" in text


def test_correctness_prompt_needs_a_reference() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("eval/correctness.text", question="q", answer="a")

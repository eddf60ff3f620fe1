"""The per-turn dialogue metrics: topic switch, follow-up on topic, expected mode, small
talk as a gap, citation by turn position; and their catalog entries."""

from __future__ import annotations

import pytest

from eval.metrics.catalog import DIALOGUE_METRICS, spec
from eval.metrics.expected_mode import expected_mode
from eval.metrics.follow_up import follow_up_on_topic
from eval.metrics.smalltalk_gap import smalltalk_gap
from eval.metrics.topic_switch import topic_switch
from eval.metrics.turn_citation import position_bucket, turn_citation

GOLD = {"06-dictionaries"}


def test_a_switch_needs_both_the_new_decision_and_a_gold_first_citation() -> None:
    ok = topic_switch(decided="new", reason="its own topic words",
                      cited_sources=["06-dictionaries", "05-lists"], gold=GOLD)
    assert ok.value == 1.0
    assert ok.reason == "decided new (its own topic words); first citation 06-dictionaries (gold)"
    joined = topic_switch(decided="follow_up", reason="short or opener",
                          cited_sources=["06-dictionaries"], gold=GOLD)
    assert joined.value == 0.0 and "decided follow_up (short or opener)" in joined.reason
    wrong = topic_switch(decided="new", reason="r", cited_sources=["05-lists", "06-dictionaries"],
                         gold=GOLD)
    assert wrong.value == 0.0
    assert "first citation 05-lists (gold is 06-dictionaries)" in wrong.reason
    silent = topic_switch(decided="new", reason="r", cited_sources=[], gold=GOLD)
    assert silent.value == 0.0 and "no citation" in silent.reason
    assert topic_switch(decided="new", reason="r", cited_sources=["x"], gold=set()).value is None


def test_a_follow_up_is_scored_on_its_first_citation_whatever_was_decided() -> None:
    on = follow_up_on_topic(decided="new", reason="its own topic words",
                            cited_sources=["06-dictionaries"], gold=GOLD)
    assert on.value == 1.0
    assert on.reason == (
        "first citation 06-dictionaries (on topic; decided new: its own topic words)"
    )
    off = follow_up_on_topic(decided="follow_up", reason="reference 'it'",
                             cited_sources=["09-files-exceptions", "06-dictionaries"], gold=GOLD)
    assert off.value == 0.0 and "off topic; gold is 06-dictionaries" in off.reason
    none = follow_up_on_topic(decided="follow_up", reason="r", cited_sources=[], gold=GOLD)
    assert none.value == 0.0 and none.reason.startswith("no citation")
    assert follow_up_on_topic(decided="new", reason="r", cited_sources=[], gold=set()).value is None


@pytest.mark.parametrize(
    ("expect", "mode", "value"),
    [
        ("answer", "answer", 1.0),
        ("answer", "hint", 0.0),
        ("answer", "not_covered", 0.0),
        ("not_covered", "not_covered", 1.0),
        ("not_covered", "answer", 0.0),
        ("hint", "hint", 1.0),
        ("smalltalk", "smalltalk", 1.0),
        ("smalltalk", "answer", 0.0),
    ],
)
def test_expected_mode_is_an_exact_match(expect: str, mode: str, value: float) -> None:
    score = expected_mode(expect=expect, mode=mode)
    assert score.value == value
    if not value:
        assert score.reason == f"mode {mode}; expected {expect}"


@pytest.mark.parametrize(
    ("mode", "low_confidence", "value"),
    [
        ("smalltalk", True, 0.0),  # small talk retrieves nothing: never a gap
        ("not_covered", False, 1.0),
        ("answer", True, 1.0),  # answered from loosely close passages: a low-confidence gap
        ("answer", False, 0.0),
        ("hint", True, 0.0),
    ],
)
def test_small_talk_is_a_gap_exactly_when_the_chat_would_record_one(
    mode: str, low_confidence: bool, value: float
) -> None:
    score = smalltalk_gap(expect="smalltalk", mode=mode, low_confidence=low_confidence)
    assert score.value == value


def test_gaps_are_counted_for_small_talk_turns_only() -> None:
    assert smalltalk_gap(expect="answer", mode="not_covered", low_confidence=True).value is None


def test_turn_positions_bucket_into_1_2_and_3_plus() -> None:
    assert [position_bucket(k) for k in (1, 2, 3, 4, 10)] == [
        "turn1", "turn2", "turn3+", "turn3+", "turn3+",
    ]
    with pytest.raises(ValueError):
        position_bucket(0)
    key, score = turn_citation(position=2, cited_sources=["06-dictionaries"], gold=GOLD)
    assert key == "citation@turn2" and score.value == 1.0
    key, score = turn_citation(position=5, cited_sources=["05-lists"], gold=GOLD)
    assert key == "citation@turn3+" and score.value == 0.0


def test_every_dialogue_metric_has_a_distinct_summary_key_in_the_catalog() -> None:
    keys = [m.key for m in DIALOGUE_METRICS]
    assert len(set(keys)) == len(keys)
    for key in ("citation@turn1", "citation@turn2", "citation@turn3+", "topic_switch_accuracy",
                "follow_up_on_topic", "expected_mode_accuracy", "smalltalk_gaps",
                "turn_language_match"):
        assert spec(key) is not None, key
    # A gate over the single-question report and the dialogue report must not mix them up.
    from eval.metrics.catalog import JUDGE_METRICS, METRICS

    assert not set(keys) & {m.key for m in (*METRICS, *JUDGE_METRICS)}
    assert spec("smalltalk_gaps").higher_is_better is False

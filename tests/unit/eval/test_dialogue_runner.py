"""Aggregating turn records: the summary of ours and of a baseline, and by position."""

from __future__ import annotations

from pathlib import Path

from eval.dialogue_datasets import Dialogue, DialogueDataset, DialogueTurn
from eval.dialogue_runner import by_turn, summarize_turns, unknown_gold


def record(dialogue: str, turn: int, ours: dict, theirs: dict) -> dict:
    def scored(values: dict) -> dict:
        return {k: {"value": v, "reason": "r"} for k, v in values.items()}

    return {
        "id": f"{dialogue}#{turn}", "dialogue": dialogue, "turn": turn,
        "position": "turn1" if turn == 1 else "turn2" if turn == 2 else "turn3+",
        "metrics": scored(ours), "baselines": {"length-rule": {"metrics": scored(theirs)}},
    }


ITEMS = [
    record("a", 1, {"citation@turn1": 1.0, "expected_mode": 1.0},
           {"citation@turn1": 1.0, "expected_mode": 1.0}),
    record("a", 2, {"expected_mode": 1.0, "smalltalk_gap": 0.0},
           {"expected_mode": 0.0, "smalltalk_gap": 1.0}),
    record("a", 3, {"citation@turn3+": 1.0, "follow_up": 1.0, "expected_mode": 1.0},
           {"citation@turn3+": 0.0, "follow_up": 0.0, "expected_mode": 0.0}),
    record("b", 1, {"citation@turn1": 0.0, "expected_mode": 0.0},
           {"citation@turn1": 0.0, "expected_mode": 0.0}),
    record("b", 2, {"citation@turn2": 1.0, "topic_switch": 1.0, "expected_mode": 1.0},
           {"citation@turn2": 0.0, "topic_switch": 0.0, "expected_mode": 1.0}),
]


def test_summaries_average_scores_and_count_gaps_over_the_turns_they_apply_to() -> None:
    ours = summarize_turns(ITEMS)
    assert ours == {
        "citation@turn1": 0.5, "citation@turn2": 1.0, "citation@turn3+": 1.0,
        "topic_switch_accuracy": 1.0, "follow_up_on_topic": 1.0,
        "expected_mode_accuracy": 0.8, "smalltalk_gaps": 0.0, "items": 5, "dialogues": 2,
    }
    theirs = summarize_turns(ITEMS, baseline="length-rule")
    assert theirs["expected_mode_accuracy"] == 0.4
    assert theirs["smalltalk_gaps"] == 1.0
    assert theirs["topic_switch_accuracy"] == 0.0
    assert "turn_language_match" not in theirs  # measured on no turn: left out


def test_by_turn_splits_every_metric_by_position() -> None:
    positions = by_turn(ITEMS)
    assert list(positions) == ["turn1", "turn2", "turn3+"]
    assert positions["turn1"]["items"] == 2
    assert positions["turn1"]["expected_mode_accuracy"] == 0.5
    assert positions["turn2"]["topic_switch_accuracy"] == 1.0
    assert positions["turn3+"] == {
        "citation@turn3+": 1.0, "follow_up_on_topic": 1.0, "expected_mode_accuracy": 1.0,
        "items": 1, "dialogues": 1,
    }
    assert by_turn(ITEMS, baseline="length-rule")["turn2"]["expected_mode_accuracy"] == 0.5


def test_gold_sources_that_match_no_document_are_warned_about() -> None:
    dataset = DialogueDataset(
        name="d",
        path=Path("d.jsonl"),
        dialogues=[
            Dialogue("d1", "en", (
                DialogueTurn("What is a list?", gold_sources=("05-lists",)),
                DialogueTurn("And sets?", gold_sources=("06-sets",)),
            )),
        ],
    )
    known = [("05-lists", "python-basics/lessons-ko/05-lists.md")]
    assert unknown_gold(dataset, known) == [
        "d1 turns[1]: warning: gold source '06-sets' matches no document of the knowledge base "
        "(dialogue kept)"
    ]

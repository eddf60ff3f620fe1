"""Multiple-choice accuracy and chance."""

from __future__ import annotations

import pytest

from eval.metrics.choice import chance, choice_accuracy


def test_right_pick_scores_one():
    score = choice_accuracy(2, 2, 4)
    assert score.value == 1.0
    assert "C (2)" in score.reason


def test_wrong_pick_names_both_options():
    score = choice_accuracy(0, 3, 4)
    assert score.value == 0.0
    assert score.reason == "picked A (0); the answer is D (3)"
    assert score.details == {"picked": 0, "answer_index": 3}


def test_no_pick_is_a_failure():
    score = choice_accuracy(None, 1, 3)
    assert score.value == 0.0
    assert score.reason == "no option picked"


def test_pick_out_of_range_is_wrong():
    assert choice_accuracy(5, 1, 3).value == 0.0


@pytest.mark.parametrize(
    ("answer_index", "n_options", "reason"),
    [(1, 0, "no options"), (None, 3, "no answer key"), (3, 3, "answer key 3 outside")],
)
def test_not_applicable_without_options_or_key(answer_index, n_options, reason):
    score = choice_accuracy(1, answer_index, n_options)
    assert score.value is None
    assert reason in score.reason


def test_chance_is_one_over_the_number_of_options():
    assert chance(4).value == 0.25
    assert chance(3).value == pytest.approx(1 / 3)
    assert chance(4).reason == "1 / 4 options"
    assert chance(0).value is None

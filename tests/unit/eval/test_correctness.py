"""Answer correctness: the answer supports the keyed option more than every distractor."""

from __future__ import annotations

import json
import math

import pytest

from eval.metrics.correctness import answer_correctness, option_kind
from tests.fakes.similarity import bow_similarity

OPTIONS = ["square brackets", "curly braces", "parentheses"]


def test_answer_closest_to_the_key_scores_one():
    score = answer_correctness(
        "Lists are written with square brackets [1]", OPTIONS, 0, bow_similarity
    )
    assert score.value == 1.0
    # 6 answer words, 2 shared with the option: 2 / sqrt(6 * 2)
    assert score.details["supports"] == [round(2 / math.sqrt(12), 4), 0.0, 0.0]
    assert score.details["margin"] == round(2 / math.sqrt(12), 4)
    assert score.reason.startswith("closest to the key A 'square brackets' (0.58), +0.58 over")
    json.dumps(score.to_json())


def test_answer_closer_to_a_distractor_scores_zero():
    score = answer_correctness("Sets use curly braces.", OPTIONS, 0, bow_similarity)
    assert score.value == 0.0
    assert score.details["best"] == 1
    assert "closest to B 'curly braces'" in score.reason
    assert "the key A scores 0.00" in score.reason


def test_a_tie_is_not_correct():
    score = answer_correctness("brackets braces", ["brackets", "braces"], 0, bow_similarity)
    assert score.value == 0.0


def test_code_markers_and_headers_are_removed():
    answer = (
        "## Curly braces\n\nUse square brackets. [1]\n\n"
        "```python\ncurly = braces = {}\n```\n\n- square brackets again [2]"
    )
    score = answer_correctness(answer, OPTIONS, 0, bow_similarity)
    assert score.value == 1.0
    assert score.details["supports"][1] == 0.0  # the heading and the code were not read


def test_one_sentence_of_a_long_answer_can_support_an_option():
    answer = "Alpha beta gamma delta epsilon. Square brackets."
    score = answer_correctness(answer, OPTIONS, 0, bow_similarity)
    assert score.details["supports"][0] == 1.0  # the second sentence, not the whole answer


def test_all_of_the_above_is_compared_as_the_conjunction_of_the_options():
    options = ["square brackets", "append", "both of the above"]
    answer = "Lists use square brackets and grow with append."
    score = answer_correctness(answer, options, 2, bow_similarity)
    # 8 answer words vs {square, brackets, append}: 3 / sqrt(8 * 3); vs one option: 2 / sqrt(16)
    assert score.details["supports"] == [
        0.5,
        round(1 / math.sqrt(8), 4),
        round(3 / math.sqrt(24), 4),
    ]
    assert score.details["compared_as"] == {"2": "square brackets; append"}
    assert score.value == 1.0
    # an answer about one option only is closer to that option than to the conjunction
    only = answer_correctness("Lists use square brackets.", options, 2, bow_similarity)
    assert only.value == 0.0
    assert only.details["best"] == 0


def test_none_of_the_above_is_left_out_as_a_distractor():
    options = ["square brackets", "curly braces", "none of the above"]
    score = answer_correctness("square brackets", options, 0, bow_similarity)
    assert score.value == 1.0
    assert score.details["supports"][2] is None
    assert score.details["ignored"] == [2]


def test_not_applicable_items():
    sim = bow_similarity
    assert answer_correctness("x", [], None, sim).value is None
    assert answer_correctness("x", OPTIONS, None, sim).value is None
    assert answer_correctness("x", OPTIONS, 7, sim).value is None
    true_false = answer_correctness("It is true.", ["True", "False"], 0, sim)
    assert true_false.value is None
    assert "true/false" in true_false.reason
    none_key = answer_correctness("x", ["a b", "c d", "None of the above"], 2, sim)
    assert none_key.value is None
    assert answer_correctness("x", ["square brackets", "없음"], 0, sim).value is None


def test_empty_answer_is_a_failure():
    for answer in ("", "  [1] [2]", "```python\nx = 1\n```"):
        score = answer_correctness(answer, OPTIONS, 0, bow_similarity)
        assert score.value == 0.0
        assert score.reason == "empty answer"


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ("both of the above", "all"),
        ("Both of these", "all"),
        ("All of the above.", "all"),
        ("모두", "all"),
        ("위의 모든 것", "all"),
        ("둘 다", "all"),
        ("None of the above", "none"),
        ("neither", "none"),
        ("해당 없음", "none"),
        ("모두 아니다", "none"),
        ("True", "boolean"),
        ("거짓", "boolean"),
        ("O", "boolean"),
        ("unintentionally", "content"),
        ("a list of all values", "content"),
    ],
)
def test_option_kinds(option, kind):
    assert option_kind(option) == kind


def test_x_among_content_options_is_content():
    score = answer_correctness("the variable x", ["x", "y", "z"], 0, bow_similarity)
    assert score.value == 1.0


# --- the real multilingual model --------------------------------------------------------
@pytest.fixture(scope="module")
def similarity(embeddings):
    return lambda a, b: embeddings.embed_array(a) @ embeddings.embed_array(b).T


REAL_OPTIONS = [
    "an ordered collection of values in square brackets",
    "a mapping from keys to values",
    "a loop that repeats while a condition is true",
]


@pytest.mark.parametrize(
    "answer",
    [
        "A list is an ordered collection of values written in square brackets. [1]",
        "리스트는 대괄호 안에 값을 순서대로 저장하는 자료형입니다. [1]",
    ],
)
def test_real_model_english_and_korean_answers(similarity, answer):
    score = answer_correctness(answer, REAL_OPTIONS, 0, similarity)
    assert score.value == 1.0, score.reason
    wrong_key = answer_correctness(answer, REAL_OPTIONS, 1, similarity)
    assert wrong_key.value == 0.0


def test_real_model_both_of_the_above(similarity):
    options = [
        "to automate the solving of multi-dimensional problems",
        "to customize a shopping experience based on the type of customer",
        "both of the above",
    ]
    both = (
        "Businesses use ML to automate the solving of multi-dimensional problems and to "
        "customize the shopping experience for each type of customer. [1]"
    )
    assert answer_correctness(both, options, 2, similarity).value == 1.0
    one = "Businesses use ML to automate the solving of multi-dimensional problems. [1]"
    assert answer_correctness(one, options, 0, similarity).value == 1.0

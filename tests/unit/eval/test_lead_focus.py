"""Lead (the first sentence alone) and focus (sentences supporting the question)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval.metrics.catalog import spec
from eval.metrics.focus import FOCUS_FLOOR, focus, focus_target
from eval.metrics.lead import first_sentence, lead
from tests.fakes.similarity import bow_similarity

OPTIONS = ["square brackets", "curly braces", "parentheses"]
NOTICE = "The course material is only available in Korean, so the Korean original is quoted."


# --- lead -------------------------------------------------------------------------------------
def test_first_sentence_skips_notices_headers_questions_and_code() -> None:
    answer = (
        f"{NOTICE}\n\n**Example**\n\n```python\nx = []\n```\n\nWhich brackets?\n\n"
        "Lists use square brackets. [1] Sets use curly braces. [2]"
    )
    assert first_sentence(answer, skip=[NOTICE]) == "Lists use square brackets."
    assert first_sentence("```python\nx = 1\n```") == ""


def test_lead_judges_the_first_sentence_alone() -> None:
    stitched = "Sets use curly braces. [2] Lists use square brackets. [1]"
    led = "Lists use square brackets. [1] Sets use curly braces. [2]"

    bad, good = (lead(t, OPTIONS, 0, bow_similarity) for t in (stitched, led))

    assert bad.value == 0.0 and good.value == 1.0
    assert bad.details["sentence"] == "Sets use curly braces."
    assert bad.reason.startswith("first sentence 'Sets use curly braces.': closest to B")
    json.dumps(good.to_json())


def test_lead_does_not_apply_where_answer_correctness_does_not() -> None:
    assert lead("Lists use square brackets.", ["True", "False"], 0, bow_similarity).value is None
    assert lead("Lists use square brackets.", OPTIONS, None, bow_similarity).value is None
    assert lead("Lists use square brackets.", [], 0, bow_similarity).value is None


def test_an_answer_without_prose_leads_with_nothing() -> None:
    score = lead("```python\nx = [1]\n```", OPTIONS, 0, bow_similarity)
    assert score.value == 0.0 and score.reason == "empty answer"


# --- focus ------------------------------------------------------------------------------------
def test_focus_is_the_share_of_sentences_near_the_target() -> None:
    answer = (
        "A list is written with square brackets. [1] "
        "Modules are files you import. [2]\n\n**Read more**\n- Lists › Creating lists [1]"
    )
    score = focus(
        answer,
        "How is a list written?",
        bow_similarity,
        reference="A list is written with square brackets.",
        skip=["Lists › Creating lists"],
    )
    assert score.value == 0.5  # the pointer line is not a sentence; the modules one is off
    assert score.details["sentences"] == 2
    assert score.details["off_topic"] == ["Modules are files you import."]
    assert score.details["support"][0] == 1.0
    assert "1 of 2 sentences" in score.reason


def test_focus_compares_with_the_question_without_a_reference() -> None:
    score = focus("lists are ordered", "are lists ordered", bow_similarity)
    assert score.value == 1.0  # same words: cosine 1.0 with the question
    assert focus("sets are not", "are lists ordered", bow_similarity).value == 0.0  # 1/3 < floor


def test_focus_floor_is_inclusive_and_configurable() -> None:
    # "a b" vs "a c": cosine 0.5
    assert focus("a b", "a c", bow_similarity, floor=0.5).value == 1.0
    assert focus("a b", "a c", bow_similarity, floor=0.51).value == 0.0
    assert FOCUS_FLOOR == 0.5


def test_focus_does_not_apply_without_prose() -> None:
    assert focus("```python\nx = 1\n```", "what is x", bow_similarity).value is None
    assert focus("**Example**", "what is x", bow_similarity).value is None
    assert focus("Some words here.", "  ", bow_similarity).value is None


def test_focus_target_prefers_the_reference_then_the_keyed_option() -> None:
    assert focus_target("Q?", reference="R.", options=OPTIONS, answer_index=0) == "R."
    assert focus_target("Q?", options=OPTIONS, answer_index=1) == "Q? curly braces"
    assert focus_target("Q?", options=["True", "False"], answer_index=0) is None
    assert focus_target("Q?", options=["a", "none of the above"], answer_index=1) is None
    assert focus_target("Q?", options=OPTIONS, answer_index=7) is None
    assert focus_target("Q?") is None


@pytest.mark.parametrize("answer", ["Lists use square brackets.", "a b. c d. e f."])
def test_scores_lie_in_unit_interval(answer: str) -> None:
    for score in (
        lead(answer, OPTIONS, 0, bow_similarity),
        focus(answer, "square brackets", bow_similarity),
    ):
        assert score.value is not None and 0.0 <= score.value <= 1.0
        assert not math.isnan(score.value)


def test_lead_and_focus_are_in_the_catalog() -> None:
    for key in ("lead", "focus"):
        metric = spec(key)
        assert metric is not None and metric.item_key == key
        assert metric.higher_is_better and metric.aggregate == "mean"


def test_focus_asks_the_similarity_once_with_every_sentence() -> None:
    calls: list[tuple[list[str], list[str]]] = []

    def recording(a: list[str], b: list[str]) -> np.ndarray:
        calls.append((list(a), list(b)))
        return bow_similarity(a, b)

    focus("One. Two words.", "two", recording, reference="two words")
    assert calls == [(["One.", "Two words."], ["two words"])]

"""Groundedness: claims of the answer supported by the passages it cites."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval.metrics.groundedness import (
    GROUNDED_THRESHOLD,
    cited_numbers,
    claims_of,
    groundedness,
    split_sentences,
    split_units,
    strip_citations,
)
from tests.fakes.similarity import bow_similarity


class RecordingSimilarity:
    """Bag-of-words similarity that records the texts it was asked to compare."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []

    def __call__(self, a: list[str], b: list[str]) -> np.ndarray:
        self.calls.append((list(a), list(b)))
        return bow_similarity(a, b)


LISTS = """\
# Lists

A list is an ordered collection of values written in square brackets.
Lists grow with append and shrink with pop.

## Creating lists

Write values separated by commas inside **square brackets** to create a list.

```python
prices = [1200, 3500, 990]
prices.append(4800)
```
"""

LOOPS = """\
# Loops

## Counting with range

The range function produces numbers: range(5) gives 0, 1, 2, 3 and 4, so a for loop
over range(5) repeats five times.

## While loops

A while loop repeats as long as its condition stays true. Use break to leave early.
"""

LISTS_KO = """\
# 리스트

리스트는 대괄호 안에 값을 순서대로 저장하는 자료형입니다. 리스트를 만들려면 값을 쉼표로
구분해서 대괄호 안에 씁니다.
"""

LOOPS_KO = """\
# 반복문

## while 문

while 문은 조건이 참인 동안 계속 반복합니다. break 로 반복을 일찍 끝낼 수 있습니다.
"""

SORTING = """\
## Sorting lists

The sorted function returns a new list, while the sort method changes the list in place
and returns None.
"""

EXTRACTIVE = (
    "A list is an ordered collection of values written in square brackets. "
    "Lists grow with append and shrink with pop. [1]\n\n"
    "The range function produces numbers: range(5) gives 0, 1, 2, 3 and 4, so a for loop "
    "over range(5) repeats five times. [2]"
)
PLANTED = "Python was created by Google in 2015."


@pytest.fixture(scope="module")
def similarity(embeddings):
    return lambda a, b: embeddings.embed_array(a) @ embeddings.embed_array(b).T


# --- the required scenario, with the real multilingual model ----------------------------
def test_verbatim_answer_is_fully_grounded_then_a_planted_claim_is_caught(similarity):
    score = groundedness(EXTRACTIVE, [LISTS, LOOPS], similarity)
    assert score.value == 1.0
    assert score.details["claims"] == 3
    assert score.details["unsupported"] == []
    assert score.details["cited"] == [1, 2]
    assert score.reason == "all 3 claims supported by the cited passages [1, 2]"

    planted = groundedness(f"{EXTRACTIVE} {PLANTED}", [LISTS, LOOPS], similarity)
    assert planted.value == pytest.approx(3 / 4)
    assert planted.details["unsupported"] == [PLANTED]
    assert "Python was created by Google" in planted.reason
    json.dumps(planted.to_json())


def test_korean_paraphrase_is_supported_and_the_planted_claim_is_not(similarity):
    answer = (
        "리스트는 값을 순서대로 대괄호 안에 담는 자료형이에요. [1]\n\n"
        "while 문은 조건이 참이면 계속 반복해서 실행됩니다. [2]\n\n"
        "파이썬은 2015년에 구글이 만들었습니다."
    )
    score = groundedness(answer, [LISTS_KO, LOOPS_KO], similarity)
    assert score.details["unsupported"] == ["파이썬은 2015년에 구글이 만들었습니다."]
    assert score.value == pytest.approx(2 / 3)
    sims = score.details["similarity"]
    assert min(v for k, v in sims.items() if "구글" not in k) >= GROUNDED_THRESHOLD
    assert sims["파이썬은 2015년에 구글이 만들었습니다."] < 0.3


def test_korean_answer_grounded_in_an_english_passage(similarity):
    answer = (
        "sorted 함수는 정렬된 새 리스트를 돌려주고, sort 메서드는 리스트를 그 자리에서 "
        "바꿉니다. [1] 파이썬은 2015년에 구글이 만들었습니다."
    )
    score = groundedness(answer, [SORTING], similarity)
    assert score.value == pytest.approx(1 / 2)
    assert score.details["unsupported"] == ["파이썬은 2015년에 구글이 만들었습니다."]


# --- the definition, with a deterministic fake -----------------------------------------
def test_verbatim_claims_need_no_similarity():
    sim = RecordingSimilarity()
    score = groundedness(EXTRACTIVE, [LISTS, LOOPS], sim)
    assert score.value == 1.0
    assert sim.calls == []


def test_verbatim_ignores_bold_inline_code_and_line_breaks():
    answer = "Write values separated by commas inside square brackets to create a `list`. [1]"
    # "list" in backticks vs plain in the passage; bold in the passage, not in the answer
    assert groundedness(answer, [LISTS], RecordingSimilarity()).value == 1.0


def test_only_cited_passages_count():
    answer = "A while loop repeats as long as its condition stays true. [1]"
    score = groundedness(answer, [LISTS, LOOPS], bow_similarity)
    assert score.value == 0.0
    assert score.details["unsupported"] == [
        "A while loop repeats as long as its condition stays true."
    ]


def test_an_answer_that_cites_nothing_is_unsupported():
    score = groundedness("A list is an ordered collection of values.", [LISTS], bow_similarity)
    assert score.value == 0.0
    assert score.reason == "cites no passage: none of the 1 claims is supported"


def test_a_partial_quote_is_verbatim():
    # the passage says "Lists grow with append and shrink with pop."
    score = groundedness("Lists grow with append. [1]", [LISTS], bow_similarity, threshold=1.0)
    assert score.value == 1.0


def test_a_verbatim_quote_starts_and_ends_at_word_boundaries():
    def never_similar(a: list[str], b: list[str]) -> np.ndarray:
        return np.zeros((len(a), len(b)))

    # "row with append" is inside "Lists grow with append", but not as words
    assert groundedness("row with append. [1]", [LISTS], never_similar).value == 0.0
    assert groundedness("grow with append. [1]", [LISTS], never_similar).value == 1.0


def test_similarity_threshold_decides_paraphrases():
    answer = "Lists grow with the append. [1]"
    # vs "Lists grow with append and shrink with pop." (with x2): 5 / sqrt(5 * 10)
    sim = 5 / math.sqrt(50)
    score = groundedness(answer, [LISTS], bow_similarity, threshold=sim - 0.01)
    assert score.value == 1.0
    assert score.details["similarity"] == {"Lists grow with the append.": round(sim, 3)}
    assert groundedness(answer, [LISTS], bow_similarity, threshold=sim + 0.01).value == 0.0


def test_scaffolding_is_not_a_claim():
    notice = "The course material is only available in Korean, so the Korean original is quoted."
    answer = (
        f"{notice}\n\n"
        "## Lists\n\n"
        "**Key terms**\n"
        "Here is how:\n"
        "- Lists grow with append and shrink with pop. [1]\n\n"
        "What should happen when the list is empty?\n\n"
        "---\n\n"
        "**Go deeper**\n"
        "- Lists › Creating lists [1]\n"
    )
    claims = claims_of(answer, skip=[notice, "Lists › Creating lists"])
    assert [c.text for c in claims] == ["Lists grow with append and shrink with pop."]
    score = groundedness(answer, [LISTS], bow_similarity, skip=[notice, "Lists › Creating lists"])
    assert score.value == 1.0
    assert score.details["claims"] == 1


def test_no_claims_scores_one_and_says_so():
    score = groundedness("**Example**\n\nWhat do you think? [1]", [LISTS], bow_similarity)
    assert score.value == 1.0
    assert score.details["claims"] == 0
    assert "no claims" in score.reason


def test_code_is_supported_only_when_the_passage_contains_it():
    ok = "Example: [1]\n```python\nprices = [1200, 3500, 990]\nprices.append(4800)\n```"
    assert groundedness(ok, [LISTS], bow_similarity).value == 1.0
    reformatted = "```python\nprices = [1200, 3500, 990]\n\n    prices.append(4800)\n```\n[1]"
    assert groundedness(reformatted, [LISTS], bow_similarity).value == 1.0

    def everything_similar(a: list[str], b: list[str]) -> np.ndarray:
        return np.ones((len(a), len(b)))

    invented = "See [1].\n```python\nprices = [1, 2]\n```"
    score = groundedness(invented, [LISTS], everything_similar)
    assert score.details["unsupported"] == ["prices = [1, 2]"]
    assert score.value == pytest.approx(1 / 2)


def test_invalid_citations_are_ignored_and_reported():
    answer = "Lists grow with append and shrink with pop. [3]"
    score = groundedness(answer, [LISTS], bow_similarity)
    assert score.value == 0.0
    assert score.details["invalid_citations"] == [3]
    assert score.details["cited"] == []


# --- text helpers -----------------------------------------------------------------------
def test_cited_numbers_in_order_outside_code():
    text = "A [2] b [1][3] c [2, 4] `x [9]` d[5]\n```python\ny = z [7]\n```"
    assert cited_numbers(text) == [2, 1, 3, 4]


def test_strip_citations_keeps_indexes():
    assert strip_citations("matrix[1][0] picks it [1]. Also `a [2]`") == (
        "matrix[1][0] picks it. Also `a [2]`"
    )


def test_sentences_english_and_korean():
    assert split_sentences("It is e.g. a list. Then more! 리스트입니다. 반복문입니다.") == [
        "It is e.g. a list.",
        "Then more!",
        "리스트입니다.",
        "반복문입니다.",
    ]


def test_units_keep_code_blocks_and_list_items_whole():
    units = split_units("Intro. Two.\n\n- item one. still one [1]\n\n```py\na = 1\n\nb = 2\n```")
    assert [(u.kind, u.text) for u in units] == [
        ("sentence", "Intro."),
        ("sentence", "Two."),
        ("item", "item one. still one"),
        ("code", "a = 1\n\nb = 2"),
    ]

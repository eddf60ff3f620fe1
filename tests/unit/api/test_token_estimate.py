"""The usage estimate counts what a BPE tokenizer makes of English, Korean and code.

Expected values are counted by hand from the rule in ``api/token_estimate.py``; the rule's
error against real tokenizers is measured by ``python -m bench.usage_estimate``.
"""

from __future__ import annotations

import pytest

from api.token_estimate import MESSAGE_OVERHEAD, estimate_messages, estimate_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("   \t ", 0),
        ("What is a tuple?", 5),  # 4 words + "?" (0.6), rounded up
        ("Can I change it?", 5),
        ("comprehensions", 2),  # 1 + (14 - 6) / 12, rounded up
        ("2026", 2),  # digits count in threes
        ("튜플", 2),  # 2 syllables x 0.75 = 1.5
        ("튜플은 변경할 수 있나요?", 9),  # 10 syllables x 0.75 + "?" (0.6) = 8.1
        ("xs = [1, 2]\nprint(xs)", 10),  # 3 words, 2 numbers, a newline, 6 symbols x 0.6
    ],
)
def test_estimate_by_hand(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_korean_costs_more_per_character_than_english() -> None:
    english = "A list is an ordered collection of values."
    korean = "리스트는 순서가 있는 값의 모음입니다."
    assert estimate_tokens(korean) / len(korean) > estimate_tokens(english) / len(english)


def test_messages_add_the_chat_overhead() -> None:
    assert estimate_messages([]) == MESSAGE_OVERHEAD
    assert estimate_messages(["What is a tuple?", "튜플"]) == 5 + 2 + 3 * MESSAGE_OVERHEAD

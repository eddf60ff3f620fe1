"""Style: language, length band, reading level, latency."""

from __future__ import annotations

import json

import pytest

from eval.metrics.style import (
    LENGTH_BANDS,
    READING_BANDS,
    answer_length,
    hangul_share,
    is_long_word,
    language_match,
    latency,
    reading_level,
)

EN = "A list is an ordered collection of values written in square brackets. [1]"
KO = "리스트는 대괄호 안에 값을 순서대로 저장하는 자료형입니다. [1]"
NOTICE = "과정 자료가 영어로만 되어 있어 영어 원문을 인용합니다."


# --- language -----------------------------------------------------------------------------
def test_language_match_by_hangul_share():
    assert language_match(EN, "en").value == 1.0
    assert language_match(KO, "ko").value == 1.0
    score = language_match(EN, "ko")
    assert score.value == 0.0
    assert score.reason == "en, not ko (Hangul 0% of letters), and no notice says why"
    json.dumps(score.to_json())


def test_a_notice_excuses_quoting_the_other_language():
    quote = (
        "A list is an ordered collection of values written in square brackets. Lists grow "
        "with append and shrink with pop. The sorted function returns a new list. [1]"
    )
    answer = f"{NOTICE}\n\n{quote}"
    # without the notice text the prose is English: it does not count as Korean
    assert language_match(answer, "ko").value == 0.0
    score = language_match(answer, "ko", notices=[NOTICE])
    assert score.value == 1.0
    assert NOTICE in score.reason
    assert score.details["hangul_share"] == 0.0  # the notice itself is not counted


def test_code_and_english_terms_do_not_make_a_korean_answer_english():
    answer = (
        "`sorted` 함수는 정렬된 새 리스트를 돌려주고, sort 메서드는 리스트를 바꿉니다. [1]\n\n"
        "```python\nnumbers = sorted(values, reverse=True)\nprint(numbers)\n```"
    )
    score = language_match(answer, "ko")
    assert score.value == 1.0
    # 4 Latin letters ("sort") vs 27 Hangul syllables; code and inline code are not counted
    assert score.details["hangul_share"] == round(27 / 31, 3)


def test_mixed_text_matches_neither_language():
    # 9 Hangul syllables, 44 Latin letters
    mixed = "리스트 컴프리헨션은 list comprehension makes a new list from an iterable"
    share = hangul_share([mixed])
    assert share == pytest.approx(9 / 53)
    assert language_match(mixed, "ko").value == 0.0
    assert language_match(mixed, "en").value == 0.0


def test_language_not_applicable():
    assert language_match("```python\nx = 1\n```", "en").value is None
    assert language_match(EN, "fr").value is None


# --- length -------------------------------------------------------------------------------
def test_length_band_per_level_in_words():
    twelve = "one two three four five six seven eight nine ten eleven twelve."
    score = answer_length(f"{twelve} {twelve} [1]", 1)
    assert score.value == 1.0
    assert score.details == {
        "words": 24,
        "band": [20, 150],
        "lang": "en",
        "en_words": 24,
        "ko_eojeol": 0,
    }
    short = answer_length(twelve, 1)
    assert short.value == 0.0
    assert short.reason == "12 words: shorter than 20 for Lv1"
    assert answer_length(twelve, 4).value == 1.0  # Lv4 from 8 words
    long = answer_length(" ".join([twelve] * 9), 4)  # 108 words
    assert long.value == 0.0
    assert long.reason == "108 words: longer than 100 for Lv4"


def test_length_ignores_code_and_counts_inline_code_as_a_word():
    answer = (
        "Call `sorted(values, reverse=True)` to sort. [1]\n\n**Example**\n"
        "```python\nprint(sorted([3, 1, 2], reverse=True))\n```"
    )
    assert answer_length(answer, 4).details["words"] == 4


def test_korean_length_counts_eojeol_with_korean_bands():
    assert LENGTH_BANDS["ko"][1] == (13, 98)
    thirteen = " ".join(["리스트는"] * 13) + "."
    score = answer_length(thirteen, 1)
    assert score.value == 1.0
    assert score.details == {
        "words": 13,
        "band": [13, 98],
        "lang": "ko",
        "en_words": 0,
        "ko_eojeol": 13,
    }
    assert answer_length(" ".join(["리스트는"] * 12), 1).value == 0.0
    # the caller may force the band: 13 eojeol / 0.65 = 20 English words
    assert answer_length(thirteen, 1, lang="en").details["words"] == 20


def test_mixed_answer_is_counted_in_its_main_language():
    notice = "과정 자료가 영어로만 되어 있어 영어 원문을 인용합니다."  # 8 eojeol
    quote = (  # 12 + 8 words
        "A list is an ordered collection of values written in square brackets. "
        "Lists grow with append and shrink with pop."
    )
    score = answer_length(f"{notice}\n\n{quote} [1]", 1)
    # 20 English words > 8 / 0.65 = 12.3: English, 20 + 12.3 = 32 words
    assert score.details["lang"] == "en"
    assert score.details["words"] == 32
    assert score.reason == "32 words (en 20 words + ko 8 eojeol), within 20..150 for Lv1"
    reading = reading_level(f"{notice}\n\n{quote} [1]", 1)
    assert set(reading.details) == {"en", "ko"}
    assert reading.details["ko"]["score"] == 8.0
    assert reading.value == 1.0


# --- reading level ------------------------------------------------------------------------
def test_lix_for_english():
    score = reading_level("The cat sat on the mat. The dog ran.", 1)
    # 9 words in 2 sentences, no long word: LIX = 4.5
    assert score.details == {
        "en": {
            "score": 4.5,
            "mean_sentence_words": 4.5,
            "long_word_share": 0.0,
            "band": [0.0, 50.0],
        }
    }
    assert score.value == 1.0
    hard = (
        "Multidimensional regularization hyperparameters substantially influence "
        "generalization performance characteristics."
    )
    score = reading_level(hard, 4)
    # 8 words, 1 sentence, all long: LIX = 8 + 100
    assert score.details["en"]["score"] == 108.0
    assert score.value == 0.0
    assert score.reason.startswith("LIX 108 (8.0 words per sentence, 100% long words): outside")


def test_technical_tokens_count_as_long_words():
    score = reading_level("Call list_items() now. Use `x = [1, 2]` here.", 1)
    # words: Call, list_items(), now. / Use, <code>, here. -> 2 long of 6; 3 per sentence
    assert score.details["en"]["score"] == pytest.approx(3 + 100 * 2 / 6, abs=1e-3)
    for word in ("list_items()", "df.head", "camelCase", "utf8", "extraordinary,"):
        assert is_long_word(word), word
    for word in ("simple", "list.", "(values)"):
        assert not is_long_word(word), word


def test_korean_reading_level_is_eojeol_per_sentence():
    answer = f"{KO} 리스트를 만들려면 값을 쉼표로 구분해서 대괄호 안에 씁니다."
    score = reading_level(answer, 1)
    assert score.details["ko"]["score"] == 7.5  # (7 + 8) / 2
    assert score.value == 1.0
    assert score.reason == "7.5 eojeol per sentence: within 0..14 for Lv1"
    long_sentence = " ".join(["값을"] * 15) + "."
    assert reading_level(long_sentence, 1).value == 0.0
    assert reading_level(long_sentence, 2).value == 1.0


def test_reading_bands_rise_with_the_level():
    for lang in ("en", "ko"):
        highs = [READING_BANDS[lang][level][1] for level in (1, 2, 3, 4)]
        assert highs == sorted(highs)
    assert reading_level("```python\nx = 1\n```", 2).value is None


# --- latency ------------------------------------------------------------------------------
def test_latency_is_the_value():
    score = latency(95.04)
    assert score.value == 95.04
    assert score.reason == "95 ms"
    assert latency(None).value is None

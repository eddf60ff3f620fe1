from submission import word_count


def test_counts_repeated_words():
    assert word_count("Hello hello world") == {"hello": 2, "world": 1}


def test_empty_text_gives_empty_dict():
    assert word_count("") == {}


def test_case_insensitive_and_punctuation_stripped():
    assert word_count("Data, data; DATA!") == {"data": 3}


def test_inner_apostrophe_is_kept():
    assert word_count("Don't stop, don't!") == {"don't": 2, "stop": 1}


def test_punctuation_only_words_are_skipped():
    assert word_count("... !!! --- ok") == {"ok": 1}


def test_tabs_and_newlines_are_whitespace():
    assert word_count("Python\nis\tfun. Python is FUN") == {"python": 2, "is": 2, "fun": 2}


def test_korean_words():
    assert word_count("안녕 안녕 파이썬!") == {"안녕": 2, "파이썬": 1}


def test_returns_a_dict():
    assert isinstance(word_count("a b a"), dict)

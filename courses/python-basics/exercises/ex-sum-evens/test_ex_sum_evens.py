from submission import sum_evens


def test_mixed_numbers():
    assert sum_evens([1, 2, 3, 4]) == 6


def test_empty_list_returns_zero():
    assert sum_evens([]) == 0


def test_only_odd_numbers():
    assert sum_evens([1, 3, 5, 7]) == 0


def test_negative_even_numbers_count():
    assert sum_evens([-2, -3, -4, 5]) == -6


def test_zero_and_duplicates():
    assert sum_evens([0, 2, 2, 9]) == 4


def test_returns_int_not_none():
    result = sum_evens([8])
    assert result == 8
    assert isinstance(result, int)


def test_input_list_is_not_modified():
    data = [1, 2, 3, 4]
    assert sum_evens(data) == 6
    assert data == [1, 2, 3, 4]

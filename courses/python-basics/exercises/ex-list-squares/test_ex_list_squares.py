from submission import positive_squares


def test_mixed_signs():
    assert positive_squares([1, -2, 3]) == [1, 9]


def test_empty_list():
    assert positive_squares([]) == []


def test_zero_is_not_positive():
    assert positive_squares([0, 0, 2]) == [4]


def test_all_negative():
    assert positive_squares([-1, -5, -0.5]) == []


def test_order_and_duplicates_are_kept():
    assert positive_squares([3, 1, 3]) == [9, 1, 9]


def test_floats():
    assert positive_squares([1.5, -1.5]) == [2.25]


def test_input_is_not_modified():
    data = [2, -3, 4]
    result = positive_squares(data)
    assert result == [4, 16]
    assert data == [2, -3, 4]
    assert result is not data

def positive_squares(numbers):
    """Return the squares of the positive numbers in ``numbers``.

    Zero and negative numbers are skipped; order and duplicates are kept.

    Args:
        numbers: a list of ints and/or floats (may be empty).

    Returns:
        A new list with n ** 2 for every n > 0, in the original order.

    Example:
        >>> positive_squares([1, -2, 3])
        [1, 9]
    """
    # TODO: return a single list comprehension with an if clause.
    pass

def sum_evens(numbers):
    """Return the sum of the even numbers in ``numbers``.

    Args:
        numbers: a list of integers (may be empty, may contain negatives).

    Returns:
        The sum of all even numbers as an int; 0 if there are none.

    Example:
        >>> sum_evens([1, 2, 3, 4])
        6
    """
    # TODO: start an accumulator at 0, loop over numbers,
    # add each even number, and return the total after the loop.
    pass

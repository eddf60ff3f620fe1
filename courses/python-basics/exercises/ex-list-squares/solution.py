def positive_squares(numbers):
    """Return the squares of the positive numbers in ``numbers``."""
    return [n ** 2 for n in numbers if n > 0]

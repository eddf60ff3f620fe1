def sum_evens(numbers):
    """Return the sum of the even numbers in ``numbers``."""
    total = 0
    for n in numbers:
        if n % 2 == 0:
            total += n
    return total

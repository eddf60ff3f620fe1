import string


def word_count(text):
    """Count how often each word occurs in ``text``.

    Words are separated by whitespace, compared case-insensitively, and
    punctuation (``string.punctuation``) is stripped from both ends of each
    word. Words that are empty after stripping are skipped.

    Args:
        text: the input string (may be empty).

    Returns:
        A dict mapping each lowercase word to the number of times it occurs.

    Example:
        >>> word_count("Data, data; DATA!")
        {'data': 3}
    """
    # TODO: split the text, normalize each word, skip empty words,
    # and count the words in a dictionary.
    pass

import string


def word_count(text):
    """Count how often each word occurs in ``text`` (case-insensitive)."""
    counts = {}
    for raw_word in text.split():
        word = raw_word.lower().strip(string.punctuation)
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts

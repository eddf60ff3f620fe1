def grade_report(records):
    """Return each student's average score, rounded to 2 decimals.

    Args:
        records: a list of (name, score) pairs; a name may appear many times.

    Returns:
        A dict mapping each name to round(average_score, 2).

    Raises:
        ValueError: if ``records`` is empty.

    Example:
        >>> grade_report([("Kim", 80), ("Lee", 90), ("Kim", 100)])
        {'Kim': 90.0, 'Lee': 90.0}
    """
    # TODO: raise ValueError for an empty list, collect totals and counts
    # per name, then build and return the dictionary of averages.
    pass

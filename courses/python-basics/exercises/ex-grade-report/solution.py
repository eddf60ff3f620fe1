def grade_report(records):
    """Return each student's average score, rounded to 2 decimals."""
    if not records:
        raise ValueError("grade_report() needs at least one (name, score) record")

    totals = {}
    counts = {}
    for name, score in records:
        totals[name] = totals.get(name, 0) + score
        counts[name] = counts.get(name, 0) + 1

    return {name: round(totals[name] / counts[name], 2) for name in totals}

"""The sum-of-evens exercise that the review and answer suites share: its solution, an attempt
with a bug (line 4 adds the odd numbers too), and that attempt's failed test run as the
review's facts hold it."""

from __future__ import annotations

from typing import Any

SOLUTION = """\
def sum_evens(numbers):
    total = 0
    for n in numbers:
        if n % 2 == 0:
            total += n
    return total
"""

BUGGY = """\
def sum_evens(numbers):
    total = 0
    for n in numbers:
        total += n
    return total
"""


def failed_run() -> dict[str, Any]:
    """``BUGGY``'s test run: the empty list passes, ``[1, 2]`` gives 3 where 2 was expected
    (a new dict each call: ``ReviewFacts.tests``)."""
    return {
        "verdict": "failed",
        "message": "",
        "cases": [
            {
                "name": "case 1",
                "status": "passed",
                "input": "sum_evens([])",
                "expected": "0",
                "actual": "0",
                "error": None,
            },
            {
                "name": "case 2",
                "status": "failed",
                "input": "sum_evens([1, 2])",
                "expected": "2",
                "actual": "3",
                "error": None,
            },
        ],
    }

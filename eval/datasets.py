"""Loaders for evaluation data: the course benchmark format (DESIGN.md).

A course benchmark folder holds ``lessons/<lesson_id>.md``, optionally
``lessons-ko/<lesson_id>.md``, and ``quiz.jsonl`` whose items name their ``lesson_id``.
Malformed quiz lines are reported with their line numbers and skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.errors import InvalidInputError


@dataclass(frozen=True)
class QuizItem:
    id: str
    question: str
    lesson_id: str | None
    options: tuple[str, ...] = ()
    answer_index: int | None = None
    skills: tuple[str, ...] = ()
    lang: str = "en"


@dataclass
class CourseBenchmark:
    root: Path
    lessons_dir: Path
    items: list[QuizItem]
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name


def read_quiz(path: Path) -> tuple[list[QuizItem], list[str]]:
    """Parse quiz.jsonl; returns the items and one message per bad line."""
    items: list[QuizItem] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            question = raw["question"]
            if not isinstance(question, str) or not question.strip():
                raise ValueError("empty question")
            options = tuple(str(o) for o in raw.get("options") or ())
            answer = raw.get("answer_index")
            if answer is not None and not (isinstance(answer, int) and 0 <= answer < len(options)):
                raise ValueError(f"answer_index {answer!r} out of range")
            skills = raw.get("skills") or ()
            items.append(
                QuizItem(
                    id=str(raw.get("id") or f"line-{n}"),
                    question=question.strip(),
                    lesson_id=raw.get("lesson_id"),
                    options=options,
                    answer_index=answer,
                    skills=tuple(skills) if isinstance(skills, list) else (str(skills),),
                    lang=str(raw.get("lang") or "en"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path.name}:{n}: {exc}")
    return items, problems


def load_course_benchmark(root: Path, *, kb_lang: str = "en") -> CourseBenchmark:
    """Open a course benchmark folder; ``kb_lang='ko'`` uses ``lessons-ko/`` as the KB."""
    root = Path(root)
    lessons = root / ("lessons-ko" if kb_lang == "ko" else "lessons")
    if not lessons.is_dir():
        raise InvalidInputError(f"{root} has no {lessons.name}/ folder (course benchmark format)")
    quiz = root / "quiz.jsonl"
    if not quiz.is_file():
        raise InvalidInputError(f"{root} has no quiz.jsonl")
    items, problems = read_quiz(quiz)
    if not items:
        raise InvalidInputError(f"{quiz} holds no valid question")
    return CourseBenchmark(root=root, lessons_dir=lessons, items=items, problems=problems)

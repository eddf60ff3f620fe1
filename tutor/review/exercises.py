"""A course's exercises as code review sees them: statement, starter code, tests, solution.

Exercises are documents of ``kind: exercise`` with an ``exercise`` id in the knowledge
base (DESIGN.md: ``exercises/<id>/exercise.md``, one per language). Their tests and
starter code are not indexed (they are not course text), so they are read from the folder
the exercise statement was ingested from: ``tests.json`` and ``test_*.py`` (through
``tutor.review.exercise_tests``), ``starter.py``. Solution text (``kind: solution``) comes
from the index and is only used to check that a review never reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.registry import DocumentRecord, DocumentRegistry
from tutor.errors import InvalidContentError, InvalidInputError, MissingContentError, NotFoundError
from tutor.review.exercise_tests import ExerciseTests, load_exercise_tests

MAX_STARTER_BYTES = 200_000


@dataclass(frozen=True)
class Exercise:
    id: str
    course: str
    title: str  # in English when there is an English statement
    title_ko: str | None
    level: int | None
    skills: tuple[str, ...]
    folder: Path | None  # where the statement was ingested from
    statement_docs: tuple[str, ...]  # doc ids of the statement(s), for links

    def title_for(self, lang: str) -> str:
        return self.title_ko if lang == "ko" and self.title_ko else self.title


def _exercise(records: list[DocumentRecord]) -> Exercise:
    # The statements name the exercise; starter.py (also kind: exercise, always "en") does not.
    statements = [r for r in records if not r.doc_id.endswith(".py")] or records
    en = next((r for r in statements if r.lang == "en"), statements[0])
    ko = next((r for r in statements if r.lang == "ko"), None)
    folder = Path(en.source_path).parent if en.source_path else None
    skills: list[str] = []
    for r in records:
        skills.extend(s for s in r.skills if s not in skills)
    return Exercise(
        id=en.exercise or "",
        course=en.course,
        title=en.title,
        title_ko=ko.title if ko else None,
        level=en.level,
        skills=tuple(skills),
        folder=folder,
        statement_docs=tuple(r.doc_id for r in records),
    )


class ExerciseCatalog:
    """Looks exercises up in the document registry (no caching: a few rows per course)."""

    def __init__(self, registry: DocumentRegistry) -> None:
        self.registry = registry

    def list(self, course: str) -> list[Exercise]:
        groups: dict[str, list[DocumentRecord]] = {}
        for record in self.registry.list(course=course):
            if record.kind == "exercise" and record.exercise and record.status == "ready":
                groups.setdefault(record.exercise, []).append(record)
        return sorted(
            (_exercise(records) for records in groups.values()),
            key=lambda e: (e.level or 0, e.id),
        )

    def get(self, course: str, exercise_id: str) -> Exercise:
        for exercise in self.list(course):
            if exercise.id == exercise_id:
                return exercise
        raise NotFoundError(f"no exercise {exercise_id!r} in course {course!r}")

    def tests(self, exercise: Exercise) -> ExerciseTests:
        """The exercise's tests; ``MissingContentError`` when its folder is gone,
        ``InvalidContentError`` when its tests are invalid (both the course's problem)."""
        if exercise.folder is None or not exercise.folder.is_dir():
            raise MissingContentError(
                f"the files of exercise {exercise.id!r} are no longer where they were ingested "
                f"from; an instructor can ingest the course again"
            )
        try:
            return load_exercise_tests(exercise.folder)
        except InvalidInputError as exc:
            raise InvalidContentError(str(exc)) from exc

    def starter(self, exercise: Exercise) -> str | None:
        path = exercise.folder / "starter.py" if exercise.folder else None
        if path is None or not path.is_file() or path.stat().st_size > MAX_STARTER_BYTES:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def solution_texts(self, course: str, exercise_id: str) -> tuple[str, ...]:
        """The exercise's solution material as indexed (never shown to trainees)."""
        texts: list[str] = []
        for record in self.registry.list(course=course):
            if record.kind == "solution" and record.exercise == exercise_id:
                texts.extend(c.text for c in self.registry.document_chunks(record.doc_id))
        return tuple(texts)

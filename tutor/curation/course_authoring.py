"""Instructors author exercises and quiz items; they become course material at once.

Where authored content lives: course-format files under ``<authored root>/<course>/`` (the
web app uses ``<data dir>/authored``), so it survives restarts and can be ingested again
like any course folder (``kdt-tutor ingest var/authored/<course> --course <course>``):

- ``exercises/<id>/exercise.md`` (front matter with ``kind: exercise``), optional
  ``exercise.ko.md``, ``starter.py``, ``solution.py`` (``kind: solution`` by the path
  convention) and the tests as ``tests.json`` and/or ``test_<id>.py``;
- ``quiz.jsonl``: the authored quiz items. ``CourseCatalog`` lays them over the course's own
  ``quiz.jsonl``: an authored item replaces the course item of the same id, others are added.

Saving an exercise ingests the authored folder into the course, so code review
(``ExerciseCatalog`` reads the tests and the starter from the folder the statement was
ingested from), the learner model and retrieval see it like shipped material. Its documents
keep the ids a course folder would give them (``<course>/exercises/<id>/...``): editing an
exercise that came with the course replaces it in the knowledge base (the course folder
itself is never written), and documents of the exercise that the new version no longer has
are removed.

``CourseAuthoring`` is the one entry point (the API and the CLI use it); the work is done by

- ``exercise_authoring`` (reading, checking and saving exercises), with ``exercise_drafts``
  (the draft and its validation), ``exercise_files`` (the folder format) and
  ``solution_check`` (the tests against the solution in the sandbox);
- ``quiz_authoring`` (quiz items: one by one, import and export of ``quiz.jsonl``);
- ``authored_folder`` (where it all lives, the per-course lock, atomic writes) and
  ``authoring_checks`` (what both validate alike).

Rules:

- Everything is validated before anything is written: the statement's fields, the skills
  (known to the course's skill map), the code (it parses), the tests (``tests.json`` shapes,
  pytest files that define tests), sizes.
- An exercise is saved only when its tests pass against its solution in the code review
  sandbox (``check_exercise``); otherwise ``SolutionCheckFailed`` carries the failing cases.
- Writes are atomic (a new folder or file is written beside the old one, then renamed over it)
  and serialised per course by a file lock, so several workers can serve the console.
- Edits name the version they started from; if the item changed since, ``ConflictError``:
  the last write never silently wins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from knowledge.knowledge_base import KnowledgeBase
from tutor.course_catalog import CourseCatalog
from tutor.curation.authored_folder import AuthoredCourses, authored_root
from tutor.curation.exercise_authoring import ExerciseAuthoring, SavedExercise
from tutor.curation.exercise_drafts import ExerciseDraft, ExerciseSummary, StoredExercise
from tutor.curation.quiz_authoring import QuizAuthoring, QuizEntry, QuizImport
from tutor.curation.solution_check import SolutionCheck
from tutor.learning.skill_map import QuizItem, SkillMap
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.sandbox import Sandbox, SandboxLimits


class CourseAuthoring:
    """Creates and edits a course's exercises and quiz items (see the module doc)."""

    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        catalog: CourseCatalog,
        root: Path,
        sandbox: Sandbox | None,
        limits: SandboxLimits,
        refused_reason: str = "",
        max_bytes: int = 20 * 1024 * 1024,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.kb = kb
        self.catalog = catalog
        self.courses = AuthoredCourses(root=root, catalog=catalog, on_change=on_change)
        self.exercises = ExerciseAuthoring(
            kb=kb,
            courses=self.courses,
            sandbox=sandbox,
            limits=limits,
            refused_reason=refused_reason,
            max_bytes=max_bytes,
        )
        self.quiz = QuizAuthoring(self.courses)

    def course_dir(self, course: str) -> Path:
        return self.courses.course_dir(course)

    def skill_map(self, course: str) -> SkillMap:
        return self.courses.skill_map(course)

    # -- exercises (exercise_authoring) ------------------------------------------------------
    def list_exercises(self, course: str) -> list[ExerciseSummary]:
        return self.exercises.list_exercises(course)

    def get_exercise(self, course: str, exercise_id: str) -> StoredExercise:
        return self.exercises.get_exercise(course, exercise_id)

    def validate_exercise(
        self, course: str, draft: ExerciseDraft
    ) -> tuple[ExerciseDraft, ExerciseTests]:
        """The draft, normalised, and its tests; ``InvalidInputError`` naming every problem."""
        return self.exercises.validate_exercise(course, draft)

    def check_exercise(self, course: str, draft: ExerciseDraft) -> SolutionCheck:
        """Run the draft's tests against its solution (and starter) in the sandbox; no write."""
        return self.exercises.check_exercise(course, draft)

    def save_exercise(
        self, course: str, draft: ExerciseDraft, *, base_version: str | None
    ) -> SavedExercise:
        """Create (``base_version`` None) or replace an exercise, after its check passed."""
        return self.exercises.save_exercise(course, draft, base_version=base_version)

    # -- quiz (quiz_authoring) ---------------------------------------------------------------
    def list_quiz(self, course: str) -> list[QuizEntry]:
        return self.quiz.list_quiz(course)

    def get_quiz_item(self, course: str, item_id: str) -> QuizEntry:
        return self.quiz.get_quiz_item(course, item_id)

    def validate_quiz_item(self, course: str, raw: Any, *, where: str = "quiz item") -> QuizItem:
        return self.quiz.validate_quiz_item(course, raw, where=where)

    def save_quiz_item(self, course: str, raw: Any, *, base_version: str | None) -> QuizEntry:
        """Create (``base_version`` None; an id is made when none is given) or edit an item."""
        return self.quiz.save_quiz_item(course, raw, base_version=base_version)

    def delete_quiz_item(self, course: str, item_id: str, *, base_version: str) -> bool:
        """Delete an authored item; returns whether a course item of that id remains."""
        return self.quiz.delete_quiz_item(course, item_id, base_version=base_version)

    def parse_quiz_jsonl(self, course: str, data: bytes | str) -> list[QuizItem]:
        """Every line of a ``quiz.jsonl`` validated; one error listing each bad line by number."""
        return self.quiz.parse_quiz_jsonl(course, data)

    def import_quiz(self, course: str, data: bytes | str) -> QuizImport:
        """Add or replace items by id, all or nothing (every line is checked first)."""
        return self.quiz.import_quiz(course, data)

    def export_quiz(self, course: str) -> str:
        """The course's quiz as ``quiz.jsonl`` text (course items with the authored ones)."""
        return self.quiz.export_quiz(course)


def build_course_authoring(
    *,
    kb: KnowledgeBase,
    catalog: CourseCatalog,
    data_dir: Path,
    sandbox: Sandbox | None,
    limits: SandboxLimits,
    max_bytes: int,
    refused_reason: str = "",
    on_change: Callable[[str], None] | None = None,
) -> CourseAuthoring:
    """The service over ``<data_dir>/authored`` (the composition root, ``tutor/services.py``,
    calls this)."""
    return CourseAuthoring(
        kb=kb,
        catalog=catalog,
        root=authored_root(data_dir),
        sandbox=sandbox,
        limits=limits,
        refused_reason=refused_reason,
        max_bytes=max_bytes,
        on_change=on_change,
    )

"""Creating and editing a course's exercises (``tutor.curation.course_authoring``).

Saving an exercise writes its folder under the course's authored folder, then ingests that
folder into the course, so code review (``ExerciseCatalog`` reads the tests and the starter
from the folder the statement was ingested from), the learner model and retrieval see it
like shipped material. Its documents keep the ids a course folder would give them
(``<course>/exercises/<id>/...``): editing an exercise that came with the course replaces it
in the knowledge base (the course folder itself is never written), and documents of the
exercise that the new version no longer has are removed.

A draft is validated whole (fields, skills known to the course's skill map, code, tests)
and saved only when its tests pass against its solution (``tutor.curation.solution_check``).
Edits name the version they started from; if the exercise changed since, ``ConflictError``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from knowledge.ingest import IngestReport, ingest_path
from knowledge.knowledge_base import KnowledgeBase
from tutor.curation.authored_folder import AuthoredCourses
from tutor.curation.authoring_checks import joined, unknown_skill
from tutor.curation.exercise_drafts import (
    ExerciseDraft,
    ExerciseSummary,
    StoredExercise,
    exercise_problems,
    normalise_draft,
)
from tutor.curation.exercise_files import (
    exercise_files,
    read_exercise_folder,
    write_exercise_folder,
)
from tutor.curation.solution_check import SolutionCheck, SolutionCheckFailed, solution_check
from tutor.errors import ConflictError, InvalidInputError, NotFoundError
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.exercises import Exercise, ExerciseCatalog
from tutor.review.sandbox import Sandbox, SandboxLimits
from tutor.review.types import SourceFile

log = logging.getLogger("kdt.tutor.authoring")


@dataclass(frozen=True)
class SavedExercise:
    exercise: StoredExercise
    check: SolutionCheck
    ingest: IngestReport
    created: bool


class ExerciseAuthoring:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        courses: AuthoredCourses,
        sandbox: Sandbox | None,
        limits: SandboxLimits,
        refused_reason: str = "",
        max_bytes: int,
    ) -> None:
        self.kb = kb
        self.courses = courses
        self.exercises = ExerciseCatalog(kb.registry)
        self.sandbox = sandbox
        self.limits = limits
        self.refused_reason = refused_reason
        self.max_bytes = max_bytes

    def _exercise_dir(self, course: str, exercise_id: str) -> Path:
        return self.courses.course_dir(course) / "exercises" / exercise_id

    def _is_authored(self, exercise: Exercise) -> bool:
        if exercise.folder is None:
            return False
        try:
            return exercise.folder.resolve().is_relative_to(
                self.courses.course_dir(exercise.course).resolve()
            )
        except OSError:
            return False

    def list_exercises(self, course: str) -> list[ExerciseSummary]:
        self.courses.course_dir(course)
        return [
            ExerciseSummary(
                id=e.id,
                title=e.title,
                title_ko=e.title_ko,
                level=e.level,
                skills=e.skills,
                authored=self._is_authored(e),
            )
            for e in self.exercises.list(course)
        ]

    def get_exercise(self, course: str, exercise_id: str) -> StoredExercise:
        self.courses.course_dir(course)
        exercise = self.exercises.get(course, exercise_id)
        if exercise.folder is None or not exercise.folder.is_dir():
            raise NotFoundError(
                f"the files of exercise {exercise_id!r} are no longer where they were ingested "
                f"from ({exercise.folder}); ingest the course again"
            )
        draft = read_exercise_folder(exercise.folder, exercise_id=exercise_id)
        return StoredExercise(
            draft=draft, version=draft.version(), authored=self._is_authored(exercise)
        )

    def validate_exercise(
        self, course: str, draft: ExerciseDraft
    ) -> tuple[ExerciseDraft, ExerciseTests]:
        """The draft, normalised, and its tests; ``InvalidInputError`` naming every problem."""
        draft = normalise_draft(draft)
        problems = exercise_problems(draft)
        skill_map = self.courses.skill_map(course)
        for key in ("skills", "prerequisites"):
            for name in getattr(draft, key):
                if name not in skill_map.skills:
                    problems.append(unknown_skill(name, skill_map, what=key[:-1]))
        tests: ExerciseTests | None = None
        if not problems:
            try:
                tests = ExerciseTests.from_parts(
                    json_text=draft.tests_json if draft.tests_json is not None else None,
                    pytest_files=(
                        [SourceFile(draft.test_file_name, draft.tests_py)]
                        if draft.tests_py is not None
                        else []
                    ),
                )
            except InvalidInputError as exc:
                problems.append(f"tests.json: {exc}")
        if problems:
            raise InvalidInputError(joined(f"exercise {draft.id!r}", problems))
        assert tests is not None
        if tests.case_count == 0:
            raise InvalidInputError(f"exercise {draft.id!r}: the tests define no test case")
        return draft, tests

    def check_exercise(self, course: str, draft: ExerciseDraft) -> SolutionCheck:
        """Run the draft's tests against its solution (and starter) in the sandbox; no write."""
        draft, tests = self.validate_exercise(course, draft)
        return self._check(draft, tests)

    def _check(self, draft: ExerciseDraft, tests: ExerciseTests) -> SolutionCheck:
        return solution_check(
            solution=draft.solution,
            starter=draft.starter,
            tests=tests,
            sandbox=self.sandbox,
            limits=self.limits,
            refused_reason=self.refused_reason,
        )

    def save_exercise(
        self, course: str, draft: ExerciseDraft, *, base_version: str | None
    ) -> SavedExercise:
        """Create (``base_version`` None) or replace an exercise, after its check passed.

        ``ConflictError`` when creating an id that exists, or when the exercise changed
        since ``base_version``; ``SolutionCheckFailed`` when its solution fails its tests.
        """
        draft, tests = self.validate_exercise(course, draft)
        self._expect_version(course, draft.id, base_version)  # fail fast, before the sandbox
        check = self._check(draft, tests)
        if not check.ok:
            raise SolutionCheckFailed(check)
        folder = self._exercise_dir(course, draft.id)
        with self.courses.lock(course):
            current = self._expect_version(course, draft.id, base_version)
            write_exercise_folder(folder, draft, exercise_files(course, draft))
            report = ingest_path(
                self.kb, self.courses.course_dir(course), course=course, max_bytes=self.max_bytes
            )
            self._drop_stale_documents(course, draft)
        self.courses.changed(course)
        mine = [p for p, _ in report.failed if Path(p).is_relative_to(folder)]
        if mine:
            log.error("authored exercise %s/%s failed to ingest: %s", course, draft.id, mine)
        stored = self.get_exercise(course, draft.id)
        return SavedExercise(exercise=stored, check=check, ingest=report, created=current is None)

    def _expect_version(
        self, course: str, exercise_id: str, base_version: str | None
    ) -> StoredExercise | None:
        try:
            current: StoredExercise | None = self.get_exercise(course, exercise_id)
        except NotFoundError:
            current = None
        if base_version is None and current is not None:
            raise ConflictError(
                f"exercise {exercise_id!r} already exists in course {course!r}; "
                "open it to edit it, or choose another id"
            )
        if base_version is not None and current is None:
            raise ConflictError(
                f"exercise {exercise_id!r} no longer exists in course {course!r}; "
                "save it as a new exercise"
            )
        if current is not None and base_version != current.version:
            raise ConflictError(
                f"exercise {exercise_id!r} was changed by someone else since you opened it; "
                "reload it and apply your changes again"
            )
        return current

    def _drop_stale_documents(self, course: str, draft: ExerciseDraft) -> None:
        """Documents of this exercise that its new version does not have (e.g. a Korean
        statement removed, or the course folder's own solution notes of an exercise edited
        here): removed, so the exercise is exactly what was saved."""
        prefix = f"{course}/exercises/{draft.id}/"
        folder = self._exercise_dir(course, draft.id)
        keep = {prefix + p.name for p in folder.iterdir() if p.is_file()}
        stale = [
            r.doc_id
            for r in self.kb.registry.list(course=course)
            if r.doc_id.startswith(prefix) and r.doc_id not in keep
        ]
        for doc_id in stale:
            self.kb.remove(doc_id)
        if stale:
            self.kb.refresh_lexical()

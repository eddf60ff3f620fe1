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

import ast
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from knowledge.ingest import IngestReport, ingest_path
from knowledge.knowledge_base import KnowledgeBase
from tutor.course_catalog import CourseCatalog
from tutor.errors import ConflictError, InvalidInputError, NotFoundError
from tutor.review.exercise_tests import MAX_JSON_BYTES, ExerciseTests
from tutor.review.exercises import Exercise, ExerciseCatalog
from tutor.review.sandbox import Sandbox, SandboxLimits
from tutor.review.types import SourceFile, TestRun
from tutor.skill_map import QuizItem, SkillMap

log = logging.getLogger("kdt.tutor.authoring")

COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
EXERCISE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
QUIZ_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LANGS = ("en", "ko")
MAX_TITLE = 200
MAX_STATEMENT = 50_000  # characters of Markdown
MAX_CODE_BYTES = 200_000  # starter, solution, pytest file, each
MAX_NAMES = 20  # skills, prerequisites
MAX_QUESTION = 2_000
MAX_OPTIONS = 10
MAX_OPTION = 1_000
MAX_EXPLANATION = 5_000
MAX_QUIZ_BYTES = 5 * 1024 * 1024
MAX_QUIZ_ITEMS = 5_000
MAX_REPORTED = 20  # problems listed in one error message
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_MANAGED = ("exercise.md", "exercise.ko.md", "starter.py", "solution.py", "tests.json")


# --- exercises -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExerciseDraft:
    """An exercise as the instructor edits it (the fields of its files)."""

    id: str
    title: str
    statement: str  # Markdown, without the front matter and the ``# title`` line
    solution: str
    level: int | None = None
    skills: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    module: str | None = None
    lang: str = "en"
    title_ko: str | None = None  # a Korean version of the statement (exercise.ko.md)
    statement_ko: str | None = None
    starter: str = ""
    tests_json: str | None = None  # the text of tests.json
    tests_py: str | None = None  # the text of test_<id>.py

    @property
    def test_file_name(self) -> str:
        return "test_" + re.sub(r"[^A-Za-z0-9_]", "_", self.id) + ".py"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skills"] = list(self.skills)
        data["prerequisites"] = list(self.prerequisites)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExerciseDraft:
        """From a JSON body (unknown keys are an error: a typo must not be dropped)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"unknown exercise field(s): {', '.join(unknown)}")
        values = dict(data)
        for key in ("skills", "prerequisites"):
            values[key] = tuple(_names(values.get(key), key))
        for key in ("id", "title", "statement", "solution"):
            if not isinstance(values.get(key), str):
                raise InvalidInputError(f"exercise field {key!r} is required (text)")
        return cls(**values)

    def version(self) -> str:
        return _digest(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class ExerciseSummary:
    id: str
    title: str
    title_ko: str | None
    level: int | None
    skills: tuple[str, ...]
    authored: bool  # written in the console (else: it came with the course folder)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skills": list(self.skills)}


@dataclass(frozen=True)
class StoredExercise:
    draft: ExerciseDraft
    version: str  # send it back with an edit
    authored: bool


@dataclass(frozen=True)
class SolutionCheck:
    """The exercise's tests run against its solution (and its starter, if any) in the sandbox."""

    ok: bool
    message: str
    run: TestRun
    starter_passes: bool | None = None  # True: the starter already passes every test (warning)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "ok": self.ok,
            "message": self.message,
            "verdict": run.verdict,
            "passed": run.passed,
            "total": len(run.cases),
            "cases": [
                {k: v for k, v in c.to_dict().items() if k not in ("lines",)} for c in run.cases
            ],
            "run_message": run.message,
            "stdout": run.stdout,
            "stderr": run.stderr,
            "sandbox": run.sandbox,
            "duration_ms": round(run.duration_ms, 1),
            "starter_passes": self.starter_passes,
            "warnings": list(self.warnings),
        }


class SolutionCheckFailed(InvalidInputError):
    """The solution does not pass the exercise's tests: nothing was saved."""

    code = "solution_fails_tests"

    def __init__(self, check: SolutionCheck) -> None:
        super().__init__(check.message)
        self.check = check


@dataclass(frozen=True)
class SavedExercise:
    exercise: StoredExercise
    check: SolutionCheck
    ingest: IngestReport
    created: bool


# --- quiz ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuizEntry:
    item: QuizItem
    version: str
    authored: bool

    def to_dict(self) -> dict[str, Any]:
        return {**quiz_json(self.item), "version": self.version, "authored": self.authored}


@dataclass
class QuizImport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def quiz_json(item: QuizItem) -> dict[str, Any]:
    """An item as a ``quiz.jsonl`` line (DESIGN.md fields)."""
    data: dict[str, Any] = {"id": item.id}
    if item.lesson_id:
        data["lesson_id"] = item.lesson_id
    data.update(
        skills=list(item.skills),
        question=item.question,
        options=list(item.options),
        answer_index=item.answer_index,
        lang=item.lang,
        explanation=item.explanation,
    )
    return data


def quiz_version(item: QuizItem) -> str:
    return _digest(json.dumps(quiz_json(item), sort_keys=True, ensure_ascii=False))


# --- the service -----------------------------------------------------------------------------
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
        self.exercises = ExerciseCatalog(kb.registry)
        self.root = Path(root)
        self.sandbox = sandbox
        self.limits = limits
        self.refused_reason = refused_reason
        self.max_bytes = max_bytes
        self.on_change = on_change  # e.g. tell other caches the course changed

    # -- where things are -------------------------------------------------------------------
    def course_dir(self, course: str) -> Path:
        if not isinstance(course, str) or not COURSE_ID.match(course) or ".." in course:
            raise InvalidInputError(f"invalid course id {str(course)[:64]!r}")
        return self.root / course

    def _exercise_dir(self, course: str, exercise_id: str) -> Path:
        return self.course_dir(course) / "exercises" / exercise_id

    def _is_authored(self, exercise: Exercise) -> bool:
        if exercise.folder is None:
            return False
        try:
            return exercise.folder.resolve().is_relative_to(
                self.course_dir(exercise.course).resolve()
            )
        except OSError:
            return False

    def skill_map(self, course: str) -> SkillMap:
        self.catalog.refresh()
        return self.catalog.skill_map(course)

    # -- exercises: reading -----------------------------------------------------------------
    def list_exercises(self, course: str) -> list[ExerciseSummary]:
        self.course_dir(course)
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
        self.course_dir(course)
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

    # -- exercises: checking and saving -------------------------------------------------------
    def validate_exercise(
        self, course: str, draft: ExerciseDraft
    ) -> tuple[ExerciseDraft, ExerciseTests]:
        """The draft, normalised, and its tests; ``InvalidInputError`` naming every problem."""
        draft = _normalise(draft)
        problems = _exercise_problems(draft)
        skill_map = self.skill_map(course)
        for key in ("skills", "prerequisites"):
            for name in getattr(draft, key):
                if name not in skill_map.skills:
                    problems.append(_unknown_skill(name, skill_map, what=key[:-1]))
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
            raise InvalidInputError(_joined(f"exercise {draft.id!r}", problems))
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
        with self._course_lock(course):
            current = self._expect_version(course, draft.id, base_version)
            _write_exercise_folder(folder, draft, self._files(course, draft))
            report = ingest_path(
                self.kb, self.course_dir(course), course=course, max_bytes=self.max_bytes
            )
            self._drop_stale_documents(course, draft)
        self._changed(course)
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

    def _files(self, course: str, draft: ExerciseDraft) -> dict[str, str]:
        front = {
            "title": draft.title,
            "course": course,
            "module": draft.module,
            "kind": "exercise",
            "level": draft.level,
            "skills": list(draft.skills),
            "prerequisites": list(draft.prerequisites),
            "lang": draft.lang,
            "exercise": draft.id,
        }
        files = {"exercise.md": _markdown(front, draft.title, draft.statement)}
        if draft.statement_ko:
            ko = {**front, "title": draft.title_ko or draft.title, "lang": "ko"}
            files["exercise.ko.md"] = _markdown(ko, ko["title"], draft.statement_ko)
        if draft.starter.strip():
            files["starter.py"] = _code(draft.starter)
        files["solution.py"] = _code(draft.solution)
        if draft.tests_json is not None:
            files["tests.json"] = draft.tests_json.rstrip() + "\n"
        if draft.tests_py is not None:
            files[draft.test_file_name] = _code(draft.tests_py)
        return files

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

    # -- quiz -------------------------------------------------------------------------------
    def _quiz_path(self, course: str) -> Path:
        return self.course_dir(course) / "quiz.jsonl"

    def _authored_items(self, course: str) -> list[QuizItem]:
        from tutor.skill_map import read_quiz

        path = self._quiz_path(course)
        return read_quiz(path) if path.is_file() else []

    def list_quiz(self, course: str) -> list[QuizEntry]:
        self.course_dir(course)
        self.catalog.refresh()
        authored = {item.id for item in self._authored_items(course)}
        return [
            QuizEntry(item=item, version=quiz_version(item), authored=item.id in authored)
            for item in self.catalog.items(course)
        ]

    def get_quiz_item(self, course: str, item_id: str) -> QuizEntry:
        for entry in self.list_quiz(course):
            if entry.item.id == item_id:
                return entry
        raise NotFoundError(f"no quiz item {item_id!r} in course {course!r}")

    def validate_quiz_item(self, course: str, raw: Any, *, where: str = "quiz item") -> QuizItem:
        skill_map = self.skill_map(course)
        item, problems = _quiz_item(raw, skill_map)
        if problems or item is None:
            raise InvalidInputError(_joined(where, problems))
        return item

    def save_quiz_item(self, course: str, raw: Any, *, base_version: str | None) -> QuizEntry:
        """Create (``base_version`` None; an id is made when none is given) or edit an item."""
        new_id = isinstance(raw, dict) and not raw.get("id")
        item = self.validate_quiz_item(course, {**raw, "id": "new"} if new_id else raw)
        with self._course_lock(course):
            effective = {e.item.id: e for e in self.list_quiz(course)}
            if new_id:
                item = replace(item, id=_new_quiz_id(course, effective))
            current = effective.get(item.id)
            if base_version is None and current is not None:
                raise ConflictError(
                    f"quiz item id {item.id!r} already exists in course {course!r}; "
                    "edit that item or choose another id"
                )
            if base_version is not None and current is None:
                raise ConflictError(f"quiz item {item.id!r} no longer exists; add it again")
            if current is not None and current.version != base_version:
                raise ConflictError(
                    f"quiz item {item.id!r} was changed by someone else since you opened it; "
                    "reload it and apply your changes again"
                )
            authored = self._authored_items(course)
            self._write_quiz(course, _upsert(authored, [item]))
        self._changed(course)
        return self.get_quiz_item(course, item.id)

    def delete_quiz_item(self, course: str, item_id: str, *, base_version: str) -> bool:
        """Delete an authored item (for an edited course item: back to the course's own
        version; returns whether a course item of that id remains)."""
        with self._course_lock(course):
            current = self.get_quiz_item(course, item_id)
            if not current.authored:
                raise InvalidInputError(
                    f"quiz item {item_id!r} comes from the course folder; edit it there "
                    "(only items written here can be deleted here)"
                )
            if current.version != base_version:
                raise ConflictError(
                    f"quiz item {item_id!r} was changed by someone else since you opened it; "
                    "reload it first"
                )
            self._write_quiz(course, [i for i in self._authored_items(course) if i.id != item_id])
        self._changed(course)
        return any(e.item.id == item_id for e in self.list_quiz(course))

    def parse_quiz_jsonl(self, course: str, data: bytes | str) -> list[QuizItem]:
        """Every line of a ``quiz.jsonl`` validated; one error listing each bad line by number."""
        if isinstance(data, bytes):
            if len(data) > MAX_QUIZ_BYTES:
                raise InvalidInputError(
                    f"quiz.jsonl is too big ({len(data) / 1048576:.1f} MB; the limit is "
                    f"{MAX_QUIZ_BYTES // 1048576} MB)"
                )
            try:
                data = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(
                    f"quiz.jsonl is not UTF-8 text (byte {exc.start}); save it as UTF-8"
                ) from None
        if len(data.encode("utf-8")) > MAX_QUIZ_BYTES:
            raise InvalidInputError(
                f"quiz.jsonl is too big (the limit is {MAX_QUIZ_BYTES // 1048576} MB)"
            )
        skill_map = self.skill_map(course)
        problems: list[str] = []
        items: list[QuizItem] = []
        first_line: dict[str, int] = {}
        lines = data.removeprefix("\ufeff").splitlines()
        if sum(1 for line in lines if line.strip()) > MAX_QUIZ_ITEMS:
            raise InvalidInputError(f"quiz.jsonl has more than {MAX_QUIZ_ITEMS} items")
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            except RecursionError:
                problems.append(f"line {n}: not a quiz item (JSON nested too deeply)")
                continue
            if isinstance(raw, dict) and not raw.get("id"):
                problems.append(f"line {n}: no id (every imported item needs a stable id)")
                continue
            item, bad = _quiz_item(raw, skill_map)
            problems.extend(f"line {n}: {p}" for p in bad)
            if item is None:
                continue
            if item.id in first_line:
                problems.append(
                    f"line {n}: duplicate id {item.id!r} (first on line {first_line[item.id]})"
                )
                continue
            first_line[item.id] = n
            items.append(item)
        if problems:
            raise InvalidInputError(_joined("quiz.jsonl: nothing was imported", problems))
        if not items:
            raise InvalidInputError("quiz.jsonl has no items")
        return items

    def import_quiz(self, course: str, data: bytes | str) -> QuizImport:
        """Add or replace items by id, all or nothing (every line is checked first)."""
        items = self.parse_quiz_jsonl(course, data)
        result = QuizImport()
        with self._course_lock(course):
            effective = {e.item.id: e for e in self.list_quiz(course)}
            for item in items:
                current = effective.get(item.id)
                if current is None:
                    result.added.append(item.id)
                elif current.version == quiz_version(item):
                    result.unchanged.append(item.id)
                else:
                    result.updated.append(item.id)
            changed = [i for i in items if i.id not in result.unchanged]
            if changed:
                self._write_quiz(course, _upsert(self._authored_items(course), changed))
        if changed:
            self._changed(course)
        return result

    def export_quiz(self, course: str) -> str:
        """The course's quiz as ``quiz.jsonl`` text (course items with the authored ones)."""
        return "".join(
            json.dumps(quiz_json(e.item), ensure_ascii=False) + "\n" for e in self.list_quiz(course)
        )

    def _write_quiz(self, course: str, items: list[QuizItem]) -> None:
        text = "".join(json.dumps(quiz_json(i), ensure_ascii=False) + "\n" for i in items)
        _atomic_write(self._quiz_path(course), text)
        self.catalog.forget(course)

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def _course_lock(self, course: str) -> Iterator[None]:
        folder = self.course_dir(course)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _changed(self, course: str) -> None:
        self.catalog.forget(course)
        if self.on_change is not None:
            self.on_change(course)


# --- exercise files ----------------------------------------------------------------------------
def read_exercise_folder(folder: Path, *, exercise_id: str) -> ExerciseDraft:
    """An exercise folder (course format) as a draft; unreadable parts become empty fields."""
    front, body = _read_markdown(folder / "exercise.md")
    ko_front, ko_body = _read_markdown(folder / "exercise.ko.md")
    if not front and ko_front:  # a Korean-only exercise
        front, body, ko_front, ko_body = ko_front, ko_body, {}, ""
    tests_py = None
    for path in sorted(folder.glob("test_*.py")):
        tests_py = _read_text(path)
        break
    tests_json = _read_text(folder / "tests.json") if (folder / "tests.json").is_file() else None
    level = front.get("level")
    return ExerciseDraft(
        id=exercise_id,
        title=str(front.get("title") or exercise_id),
        statement=_strip_title(body, str(front.get("title") or "")),
        solution=_read_text(folder / "solution.py"),
        level=level if isinstance(level, int) and not isinstance(level, bool) else None,
        skills=tuple(_loose_names(front.get("skills"))),
        prerequisites=tuple(_loose_names(front.get("prerequisites"))),
        module=str(front["module"]) if front.get("module") else None,
        lang=str(front.get("lang") or "en") if front.get("lang") in LANGS else "en",
        title_ko=str(ko_front.get("title")) if ko_front.get("title") else None,
        statement_ko=(
            _strip_title(ko_body, str(ko_front.get("title") or "")) if ko_front else None
        ),
        starter=_read_text(folder / "starter.py"),
        tests_json=tests_json.rstrip("\n") if tests_json is not None else None,
        tests_py=tests_py,
    )


def _write_exercise_folder(folder: Path, draft: ExerciseDraft, files: dict[str, str]) -> None:
    """Write the folder beside the old one, then swap it in (never a half-written folder)."""
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".new-{draft.id}-", dir=parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
            with open(staging / name, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(staging, 0o755)
        old = None
        if folder.exists():
            old = parent / f".old-{draft.id}-{secrets.token_hex(4)}"
            os.replace(folder, old)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _markdown(front: dict[str, Any], title: str, body: str) -> str:
    meta = {k: v for k, v in front.items() if v not in (None, [], "")}
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n\n# {title}\n\n{body.strip()}\n"


def _code(text: str) -> str:
    return text.rstrip() + "\n"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return ""


def _read_markdown(path: Path) -> tuple[dict[str, Any], str]:
    text = _read_text(path).replace("\r\n", "\n")
    if not text:
        return {}, ""
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            try:
                meta = yaml.safe_load(text[4:end]) or {}
            except yaml.YAMLError:
                meta = {}
            rest = text[end + 4 :].split("\n", 1)
            return (meta if isinstance(meta, dict) else {}), (rest[1] if len(rest) > 1 else "")
    return {}, text


def _strip_title(body: str, title: str) -> str:
    lines = body.strip("\n").split("\n")
    if lines and lines[0].startswith("# ") and (not title or lines[0][2:].strip() == title.strip()):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


# --- validation ------------------------------------------------------------------------------
def _normalise(draft: ExerciseDraft) -> ExerciseDraft:
    def clean(text: str | None) -> str | None:
        if text is None:
            return None
        return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")

    def optional(text: str | None) -> str | None:
        text = clean(text)
        return text if text and text.strip() else None

    return replace(
        draft,
        id=(draft.id or "").strip(),
        title=" ".join((draft.title or "").split()),
        statement=clean(draft.statement) or "",
        solution=clean(draft.solution) or "",
        module=(draft.module or "").strip() or None,
        lang=(draft.lang or "en").strip(),
        title_ko=" ".join((draft.title_ko or "").split()) or None,
        statement_ko=optional(draft.statement_ko),
        starter=clean(draft.starter) or "",
        tests_json=optional(draft.tests_json),
        tests_py=optional(draft.tests_py),
        skills=tuple(dict.fromkeys(s.strip().lower() for s in draft.skills if s.strip())),
        prerequisites=tuple(
            dict.fromkeys(s.strip().lower() for s in draft.prerequisites if s.strip())
        ),
    )


def _exercise_problems(draft: ExerciseDraft) -> list[str]:
    problems: list[str] = []
    if not EXERCISE_ID.match(draft.id):
        problems.append(
            f"id {draft.id[:70]!r} must be 1-63 lowercase letters, digits, - or _ "
            "(e.g. ex-sum-evens)"
        )
    if not draft.title:
        problems.append("the title is empty")
    elif len(draft.title) > MAX_TITLE:
        problems.append(f"the title is longer than {MAX_TITLE} characters")
    if draft.title_ko and len(draft.title_ko) > MAX_TITLE:
        problems.append(f"the Korean title is longer than {MAX_TITLE} characters")
    if not draft.statement.strip():
        problems.append("the statement is empty")
    for label, text in (("statement", draft.statement), ("Korean statement", draft.statement_ko)):
        if text and len(text) > MAX_STATEMENT:
            problems.append(f"the {label} is longer than {MAX_STATEMENT:,} characters")
    if draft.lang not in LANGS:
        problems.append(f"lang {draft.lang[:10]!r} must be en or ko")
    elif draft.lang == "ko" and draft.statement_ko:
        problems.append("the statement is already Korean (lang ko): leave the Korean one empty")
    if draft.title_ko and not draft.statement_ko:
        problems.append("a Korean title needs a Korean statement")
    if draft.level is not None and (
        isinstance(draft.level, bool)
        or not isinstance(draft.level, int)
        or not 1 <= draft.level <= 4
    ):
        problems.append(f"level {draft.level!r} must be 1, 2, 3 or 4")
    if draft.module is not None and (len(draft.module) > 100 or "\n" in draft.module):
        problems.append("the module is longer than 100 characters or has line breaks")
    if not draft.skills:
        problems.append("name at least one skill the exercise practises")
    for key in ("skills", "prerequisites"):
        names = getattr(draft, key)
        if len(names) > MAX_NAMES:
            problems.append(f"at most {MAX_NAMES} {key}")
        problems.extend(
            f"{key[:-1]} {n[:70]!r} is not a valid name" for n in names if not _NAME.match(n)
        )
    if not draft.solution.strip():
        problems.append("the solution is empty")
    for label, text in (
        ("solution.py", draft.solution),
        ("starter.py", draft.starter),
        (draft.test_file_name, draft.tests_py),
    ):
        if not text:
            continue
        if "\x00" in text:
            problems.append(f"{label} contains a NUL byte")
            continue
        if len(text.encode("utf-8")) > MAX_CODE_BYTES:
            problems.append(f"{label} is larger than {MAX_CODE_BYTES // 1000} KB")
            continue
        try:
            ast.parse(text, filename=label)
        except SyntaxError as exc:
            problems.append(f"{label} line {exc.lineno}: {exc.msg}")
    if draft.tests_json is None and draft.tests_py is None:
        problems.append("add tests: a tests.json and/or a pytest file")
    if draft.tests_json is not None and len(draft.tests_json.encode("utf-8")) > MAX_JSON_BYTES:
        problems.append(f"tests.json is larger than {MAX_JSON_BYTES // 1048576} MB")
    if draft.tests_py is not None and not problems:
        tree = ast.parse(draft.tests_py)
        if not any(
            (isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test"))
            or (isinstance(n, ast.ClassDef) and n.name.startswith("Test"))
            for n in tree.body
        ):
            problems.append(f"{draft.test_file_name} defines no test_ function")
    return problems


def _quiz_item(raw: Any, skill_map: SkillMap) -> tuple[QuizItem | None, list[str]]:
    """A quiz item from a JSON object, or the list of what is wrong with it."""
    if not isinstance(raw, dict):
        return None, ["not a JSON object"]
    known = {"id", "lesson_id", "skills", "question", "options", "answer_index", "lang"}
    known |= {"explanation", "version", "authored"}
    problems = [f"unknown field {k[:40]!r}" for k in sorted(set(raw) - known)]
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not QUIZ_ID.match(item_id.strip()):
        problems.append(f"id {str(item_id)[:60]!r} must be 1-100 letters, digits, '.', '-' or '_'")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        problems.append("the question is empty")
    elif len(question) > MAX_QUESTION:
        problems.append(f"the question is longer than {MAX_QUESTION} characters")
    options = raw.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        problems.append("options must be a list of texts")
        options = []
    else:
        options = [o.strip() for o in options]
        if len(options) < 2:
            problems.append(f"a question needs at least 2 options (it has {len(options)})")
        if len(options) > MAX_OPTIONS:
            problems.append(f"at most {MAX_OPTIONS} options (it has {len(options)})")
        if any(not o for o in options):
            problems.append("an option is empty")
        if any(len(o) > MAX_OPTION for o in options):
            problems.append(f"an option is longer than {MAX_OPTION} characters")
        if len(set(options)) != len(options):
            problems.append("two options are the same")
    answer = raw.get("answer_index")
    if isinstance(answer, bool) or not isinstance(answer, int):
        problems.append(f"answer_index must be a whole number (got {str(answer)[:20]!r})")
    elif options and not 0 <= answer < len(options):
        problems.append(
            f"answer_index {answer} is out of range: {len(options)} options, so 0 to "
            f"{len(options) - 1}"
        )
    lang = raw.get("lang", "en")
    if lang not in LANGS:
        problems.append(f"lang {str(lang)[:10]!r} must be en or ko")
    explanation = raw.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        problems.append("the explanation is empty (say why the answer is right)")
    elif len(explanation) > MAX_EXPLANATION:
        problems.append(f"the explanation is longer than {MAX_EXPLANATION} characters")
    lesson_id = raw.get("lesson_id")
    if lesson_id is not None and (not isinstance(lesson_id, str) or len(lesson_id) > 200):
        problems.append("lesson_id must be a short text")
        lesson_id = None
    elif lesson_id and skill_map.lesson(lesson_id) is None:
        problems.append(f"unknown lesson_id {lesson_id[:60]!r}")
    try:
        skills = _names(raw.get("skills"), "skills")
    except InvalidInputError as exc:
        problems.append(str(exc))
        skills = []
    if len(skills) > MAX_NAMES:
        problems.append(f"at most {MAX_NAMES} skills")
    for name in skills:
        if name not in skill_map.skills:
            problems.append(_unknown_skill(name, skill_map, what="skill"))
    if problems:
        return None, problems
    item = QuizItem(
        id=item_id.strip(),
        question=question.strip(),
        options=tuple(options),
        answer_index=answer,
        skills=tuple(skills),
        lesson_id=lesson_id or None,
        lang=lang,
        explanation=explanation.strip(),
    )
    if not skill_map.item_skills(item):
        return None, ["name at least one skill (or a lesson_id whose lesson has skills)"]
    return item, []


def _unknown_skill(name: str, skill_map: SkillMap, *, what: str) -> str:
    known = sorted(skill_map.skills)
    shown = ", ".join(known[:30]) + (" …" if len(known) > 30 else "")
    return (
        f"unknown {what} {name[:60]!r}: the course's skill map ({skill_map.course}) has "
        f"{shown or 'no skills'}; add new skills to course.yaml first"
    )


def _names(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{key} must be a list of names")
    return list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))


def _loose_names(value: Any) -> list[str]:
    try:
        return _names(value, "names")
    except InvalidInputError:
        return []


def _new_quiz_id(course: str, taken: dict[str, Any]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", course)[:40] or "quiz"
    while True:
        candidate = f"{stem}-a{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate


def _upsert(items: list[QuizItem], new: list[QuizItem]) -> list[QuizItem]:
    by_id = {i.id: i for i in new}
    merged = [by_id.pop(i.id, i) for i in items]
    return merged + [i for i in new if i.id in by_id]


def _joined(where: str, problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return f"{where}: " + "; ".join(shown) + (f"; and {more} more problems" if more > 0 else "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def solution_check(
    *,
    solution: str,
    starter: str,
    tests: ExerciseTests,
    sandbox: Sandbox | None,
    limits: SandboxLimits,
    refused_reason: str = "",
) -> SolutionCheck:
    """The tests against the solution in the sandbox (then against the starter, whose passing
    every test is a warning): what saving an exercise requires."""

    def run_code(code: str) -> TestRun:
        if sandbox is None:
            return TestRun(verdict="refused", message=refused_reason or "no sandbox")
        files = (SourceFile("solution.py", code),)
        return sandbox.run(files=files, tests=tests, limits=limits, trace=False)

    result = run_code(solution)
    if result.verdict == "passed":
        ok, message = True, f"the solution passes all {len(result.cases)} tests"
    elif result.verdict == "refused":
        ok, message = False, f"the tests could not be run: {result.message}"
    elif result.verdict == "test_error":
        ok, message = False, f"the tests themselves are broken: {result.message}"
    else:
        failing = [c.name for c in result.cases if c.status != "passed"]
        shown = ", ".join(failing[:5]) + (" …" if len(failing) > 5 else "")
        ok = False
        message = (
            f"the solution does not pass its tests ({result.verdict}: {result.passed} of "
            f"{len(result.cases)} pass"
            + (f"; failing: {shown}" if shown else "")
            + (f"; {result.message}" if result.message and result.verdict != "failed" else "")
            + ")"
        )
    starter_passes: bool | None = None
    warnings: list[str] = []
    if ok and starter.strip():
        starter_run = run_code(starter)
        starter_passes = starter_run.verdict == "passed"
        if starter_passes:
            warnings.append("the starter code already passes every test")
    return SolutionCheck(
        ok=ok, message=message, run=result, starter_passes=starter_passes, warnings=tuple(warnings)
    )


def check_exercise_folder(
    folder: Path, *, sandbox: Sandbox | None, limits: SandboxLimits
) -> SolutionCheck:
    """A course folder's exercise (``exercises/<id>/``): all its tests against its
    ``solution.py`` (and ``starter.py``) in the sandbox, as saving one here would check it."""
    from tutor.review.exercise_tests import load_exercise_tests

    folder = Path(folder)
    solution = folder / "solution.py"
    if not solution.is_file():
        raise NotFoundError(f"{folder}: no solution.py to check the tests against")
    tests = load_exercise_tests(folder)
    if tests.case_count == 0:
        raise InvalidInputError(f"{folder}: no tests (tests.json or test_*.py)")
    draft = ExerciseDraft(
        id=folder.name,
        title=folder.name,
        statement="",
        solution=_read_text(solution),
        starter=_read_text(folder / "starter.py"),
    )
    return solution_check(
        solution=draft.solution, starter=draft.starter, tests=tests, sandbox=sandbox, limits=limits
    )


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


def authored_root(data_dir: Path) -> Path:
    return Path(data_dir) / "authored"

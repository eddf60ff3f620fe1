"""Creating, editing, importing and exporting a course's quiz items.

The authored items live in ``<authored root>/<course>/quiz.jsonl``; ``CourseCatalog`` lays
them over the course's own ``quiz.jsonl``: an authored item replaces the course item of the
same id, others are added. Every item is validated (its skills or lesson known to the
course's skill map); an import is all or nothing, with one error naming each bad line. Edits
name the version they started from; if the item changed since, ``ConflictError``.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tutor.curation.authored_folder import AuthoredCourses, atomic_write
from tutor.curation.authoring_checks import (
    LANGS,
    MAX_NAMES,
    digest,
    joined,
    name_list,
    unknown_skill,
)
from tutor.errors import ConflictError, InvalidInputError, NotFoundError
from tutor.learning.skill_map import QuizItem, SkillMap, read_quiz

QUIZ_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_QUESTION = 2_000
MAX_OPTIONS = 10
MAX_OPTION = 1_000
MAX_EXPLANATION = 5_000
MAX_QUIZ_BYTES = 5 * 1024 * 1024
MAX_QUIZ_ITEMS = 5_000


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
    return digest(json.dumps(quiz_json(item), sort_keys=True, ensure_ascii=False))


class QuizAuthoring:
    def __init__(self, courses: AuthoredCourses) -> None:
        self.courses = courses

    def _quiz_path(self, course: str) -> Path:
        return self.courses.course_dir(course) / "quiz.jsonl"

    def _authored_items(self, course: str) -> list[QuizItem]:
        path = self._quiz_path(course)
        return read_quiz(path) if path.is_file() else []

    def list_quiz(self, course: str) -> list[QuizEntry]:
        self.courses.course_dir(course)
        self.courses.catalog.refresh()
        authored = {item.id for item in self._authored_items(course)}
        return [
            QuizEntry(item=item, version=quiz_version(item), authored=item.id in authored)
            for item in self.courses.catalog.items(course)
        ]

    def get_quiz_item(self, course: str, item_id: str) -> QuizEntry:
        for entry in self.list_quiz(course):
            if entry.item.id == item_id:
                return entry
        raise NotFoundError(f"no quiz item {item_id!r} in course {course!r}")

    def validate_quiz_item(self, course: str, raw: Any, *, where: str = "quiz item") -> QuizItem:
        skill_map = self.courses.skill_map(course)
        item, problems = _quiz_item(raw, skill_map)
        if problems or item is None:
            raise InvalidInputError(joined(where, problems))
        return item

    def save_quiz_item(self, course: str, raw: Any, *, base_version: str | None) -> QuizEntry:
        """Create (``base_version`` None; an id is made when none is given) or edit an item."""
        new_id = isinstance(raw, dict) and not raw.get("id")
        item = self.validate_quiz_item(course, {**raw, "id": "new"} if new_id else raw)
        with self.courses.lock(course):
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
        self.courses.changed(course)
        return self.get_quiz_item(course, item.id)

    def delete_quiz_item(self, course: str, item_id: str, *, base_version: str) -> bool:
        """Delete an authored item (for an edited course item: back to the course's own
        version; returns whether a course item of that id remains)."""
        with self.courses.lock(course):
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
        self.courses.changed(course)
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
        skill_map = self.courses.skill_map(course)
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
            raise InvalidInputError(joined("quiz.jsonl: nothing was imported", problems))
        if not items:
            raise InvalidInputError("quiz.jsonl has no items")
        return items

    def import_quiz(self, course: str, data: bytes | str) -> QuizImport:
        """Add or replace items by id, all or nothing (every line is checked first)."""
        items = self.parse_quiz_jsonl(course, data)
        result = QuizImport()
        with self.courses.lock(course):
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
            self.courses.changed(course)
        return result

    def export_quiz(self, course: str) -> str:
        """The course's quiz as ``quiz.jsonl`` text (course items with the authored ones)."""
        return "".join(
            json.dumps(quiz_json(e.item), ensure_ascii=False) + "\n" for e in self.list_quiz(course)
        )

    def _write_quiz(self, course: str, items: list[QuizItem]) -> None:
        text = "".join(json.dumps(quiz_json(i), ensure_ascii=False) + "\n" for i in items)
        atomic_write(self._quiz_path(course), text)
        self.courses.catalog.forget(course)


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
        skills = name_list(raw.get("skills"), "skills")
    except InvalidInputError as exc:
        problems.append(str(exc))
        skills = []
    if len(skills) > MAX_NAMES:
        problems.append(f"at most {MAX_NAMES} skills")
    for name in skills:
        if name not in skill_map.skills:
            problems.append(unknown_skill(name, skill_map, what="skill"))
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

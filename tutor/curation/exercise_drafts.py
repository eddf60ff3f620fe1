"""An exercise as the instructor writes it (``ExerciseDraft``), and what is wrong with one.

A draft holds the fields of an exercise's files (statement, optional Korean statement,
starter, solution, tests). ``exercise_problems`` names every problem with its fields, its
code (it must parse) and its tests (pytest files must define tests) before anything is
written; the skills are checked against the course's skill map by the service.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from tutor.curation.authoring_checks import LANGS, MAX_NAMES, digest, name_list
from tutor.errors import InvalidInputError
from tutor.review.exercise_tests import MAX_JSON_BYTES

EXERCISE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_TITLE = 200
MAX_STATEMENT = 50_000  # characters of Markdown
MAX_CODE_BYTES = 200_000  # starter, solution, pytest file, each
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


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
            values[key] = tuple(name_list(values.get(key), key))
        for key in ("id", "title", "statement", "solution"):
            if not isinstance(values.get(key), str):
                raise InvalidInputError(f"exercise field {key!r} is required (text)")
        return cls(**values)

    def version(self) -> str:
        return digest(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False))


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


def normalise_draft(draft: ExerciseDraft) -> ExerciseDraft:
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


def exercise_problems(draft: ExerciseDraft) -> list[str]:
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

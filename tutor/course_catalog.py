"""Per-course skill maps and quiz items, built from the knowledge base (the learner model's
view of a course). Used by the web app and the command line."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import KnowledgeError, MissingContentError
from knowledge.registry import DocumentRecord, DocumentRegistry
from tutor.learning.skill_map import QuizItem, SkillMap, read_quiz

log = logging.getLogger("kdt.tutor")


@dataclass(frozen=True)
class _CourseContent:
    """One course's skill map and quiz items (or why they could not be built), with the
    course files they were read from and those files' modification times."""

    skill_map: SkillMap | None
    items: tuple[QuizItem, ...]
    error: KnowledgeError | None
    files: tuple[tuple[Path, int | None], ...]

    def stale(self) -> bool:
        return any(_mtime(path) != seen for path, seen in self.files)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _course_root(records: list[DocumentRecord]) -> Path | None:
    """The course folder the documents were ingested from: their source path minus the
    part of the doc id (``<course>/<relative path>``) below the folder (the most common one)."""
    roots: Counter[str] = Counter()
    for r in records:
        relative = r.doc_id.split("/", 1)[1] if "/" in r.doc_id else ""
        source = r.source_path.replace("\\", "/")
        if relative and source.endswith("/" + relative):
            roots[source[: -len(relative) - 1]] += 1
    return Path(roots.most_common(1)[0][0]) if roots else None


def _under(source_path: str, folder: Path | None) -> bool:
    if folder is None or not source_path:
        return False
    try:
        return Path(source_path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def _overlay(items: list[QuizItem], authored: list[QuizItem]) -> list[QuizItem]:
    """The course's items with authored ones replacing those of the same id, new ones after."""
    by_id = {item.id: item for item in authored}
    merged = [by_id.pop(item.id, item) for item in items]
    return merged + [item for item in authored if item.id in by_id]


class CourseCatalog:
    """Per-course skill maps and quiz items, built from the knowledge base.

    The registry keeps every document's front matter (skills, prerequisites, levels) and
    its source path, but not ``course.yaml`` or ``quiz.jsonl`` (ingest skips them), so
    those two are read from the course folder the documents came from. A course is built
    on first use and kept until the registry's generation changes (any ingest) or one of
    its two files changes on disk; ``refresh()`` checks that (one small query, plus a
    ``stat`` per cached file) and is called once per request by ``get_learner_service``.
    """

    def __init__(self, registry: DocumentRegistry, *, authored_dir: Path | None = None) -> None:
        self.registry = registry
        # Quiz items written in the instructor console (``tutor.curation.course_authoring``) live in
        # ``<authored_dir>/<course>/quiz.jsonl``: they replace course items of the same id
        # and add the others. Documents ingested from there never pick the course folder.
        self.authored_dir = authored_dir
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._courses: dict[str, _CourseContent] = {}

    def refresh(self) -> None:
        generation = self.registry.generation()
        with self._lock:
            if generation != self._generation:
                self._courses.clear()
                self._generation = generation
                return
            for course in [c for c, content in self._courses.items() if content.stale()]:
                del self._courses[course]

    def forget(self, course: str) -> None:
        """Drop one course's cached content (its writer knows it changed, whatever the
        file times say)."""
        with self._lock:
            self._courses.pop(course, None)

    def _content(self, course: str) -> _CourseContent:
        with self._lock:
            found = self._courses.get(course)
        if found is None:
            found = self._build(course)
            with self._lock:
                self._courses[course] = found
        return found

    def skill_map(self, course: str) -> SkillMap:
        content = self._content(course)
        if content.error is not None:
            raise content.error
        assert content.skill_map is not None
        return content.skill_map

    def items(self, course: str) -> tuple[QuizItem, ...]:
        content = self._content(course)
        if content.error is not None:
            raise content.error
        return content.items

    def _build(self, course: str) -> _CourseContent:
        records = [r for r in self.registry.list(course=course) if r.status == "ready"]
        authored = self.authored_dir / course if self.authored_dir else None
        root = _course_root([r for r in records if not _under(r.source_path, authored)])
        manifest = root / "course.yaml" if root else None
        quiz = root / "quiz.jsonl" if root else None
        authored_quiz = authored / "quiz.jsonl" if authored else None
        paths = (manifest, quiz, authored_quiz)
        files = tuple((p, _mtime(p)) for p in paths if p is not None)
        try:
            if not records:
                raise MissingContentError(
                    f"course {course!r} has no material in the knowledge base; "
                    f"an instructor can load it with `kdt-tutor ingest`"
                )
            text = manifest.read_text(encoding="utf-8") if manifest and manifest.is_file() else None
            skill_map = SkillMap.from_documents(records, course=course, course_yaml=text)
            items = read_quiz(quiz) if quiz and quiz.is_file() else []
            if authored_quiz is not None and authored_quiz.is_file():
                items = _overlay(items, read_quiz(authored_quiz))
            skill_map.check_items(items)
        except KnowledgeError as exc:
            return _CourseContent(None, (), exc, files)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read the files of course %s: %s", course, exc)
            missing = MissingContentError(f"cannot read course {course!r}")
            return _CourseContent(None, (), missing, files)
        return _CourseContent(skill_map, tuple(items), None, files)

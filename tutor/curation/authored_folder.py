"""Where authored exercises and quiz items live, and how they are written.

Course-format files under ``<authored root>/<course>/`` (the web app uses
``<data dir>/authored``). Writes are atomic (a new file is written beside the old one, then
renamed over it) and serialised per course by a file lock, so several workers can serve the
console; after a write the course catalog (and whoever else asked, ``on_change``) forgets
the course.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tutor.atomic_write import write_atomically
from tutor.course_catalog import CourseCatalog
from tutor.errors import InvalidInputError
from tutor.learning.skill_map import SkillMap

COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def authored_root(data_dir: Path) -> Path:
    return Path(data_dir) / "authored"


class AuthoredCourses:
    """The authored folders of the courses (``<root>/<course>/``)."""

    def __init__(
        self,
        *,
        root: Path,
        catalog: CourseCatalog,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.catalog = catalog
        self.on_change = on_change  # e.g. tell other caches the course changed

    def course_dir(self, course: str) -> Path:
        if not isinstance(course, str) or not COURSE_ID.match(course) or ".." in course:
            raise InvalidInputError(f"invalid course id {str(course)[:64]!r}")
        return self.root / course

    def skill_map(self, course: str) -> SkillMap:
        self.catalog.refresh()
        return self.catalog.skill_map(course)

    @contextmanager
    def lock(self, course: str) -> Iterator[None]:
        folder = self.course_dir(course)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def changed(self, course: str) -> None:
        self.catalog.forget(course)
        if self.on_change is not None:
            self.on_change(course)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text, mode=0o644)

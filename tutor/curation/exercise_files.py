"""An exercise's folder in the course format, read into a draft and written from one.

``exercises/<id>/exercise.md`` (front matter with ``kind: exercise``), optional
``exercise.ko.md``, ``starter.py``, ``solution.py`` (``kind: solution`` by the path
convention) and the tests as ``tests.json`` and/or ``test_<id>.py``. A folder is written
beside the old one, then swapped in, so a reader never sees a half-written exercise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tutor.curation.authoring_checks import LANGS, loose_name_list
from tutor.curation.exercise_drafts import ExerciseDraft


def read_exercise_folder(folder: Path, *, exercise_id: str) -> ExerciseDraft:
    """An exercise folder (course format) as a draft; unreadable parts become empty fields."""
    front, body = _read_markdown(folder / "exercise.md")
    ko_front, ko_body = _read_markdown(folder / "exercise.ko.md")
    if not front and ko_front:  # a Korean-only exercise
        front, body, ko_front, ko_body = ko_front, ko_body, {}, ""
    tests_py = None
    for path in sorted(folder.glob("test_*.py")):
        tests_py = read_text(path)
        break
    tests_json = read_text(folder / "tests.json") if (folder / "tests.json").is_file() else None
    level = front.get("level")
    return ExerciseDraft(
        id=exercise_id,
        title=str(front.get("title") or exercise_id),
        statement=_strip_title(body, str(front.get("title") or "")),
        solution=read_text(folder / "solution.py"),
        level=level if isinstance(level, int) and not isinstance(level, bool) else None,
        skills=tuple(loose_name_list(front.get("skills"))),
        prerequisites=tuple(loose_name_list(front.get("prerequisites"))),
        module=str(front["module"]) if front.get("module") else None,
        lang=str(front.get("lang") or "en") if front.get("lang") in LANGS else "en",
        title_ko=str(ko_front.get("title")) if ko_front.get("title") else None,
        statement_ko=(
            _strip_title(ko_body, str(ko_front.get("title") or "")) if ko_front else None
        ),
        starter=read_text(folder / "starter.py"),
        tests_json=tests_json.rstrip("\n") if tests_json is not None else None,
        tests_py=tests_py,
    )


def exercise_files(course: str, draft: ExerciseDraft) -> dict[str, str]:
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


def write_exercise_folder(folder: Path, draft: ExerciseDraft, files: dict[str, str]) -> None:
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


def _markdown(front: dict[str, Any], title: str, body: str) -> str:
    meta = {k: v for k, v in front.items() if v not in (None, [], "")}
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n\n# {title}\n\n{body.strip()}\n"


def _code(text: str) -> str:
    return text.rstrip() + "\n"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return ""


def _read_markdown(path: Path) -> tuple[dict[str, Any], str]:
    text = read_text(path).replace("\r\n", "\n")
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

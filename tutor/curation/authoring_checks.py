"""What exercise and quiz authoring check alike (``tutor.curation.course_authoring``):
lists of skill names, names the course's skill map does not know, the one error message that
lists a draft's problems, and the digest an edit's version is.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tutor.errors import InvalidInputError
from tutor.learning.skill_map import SkillMap

LANGS = ("en", "ko")
MAX_NAMES = 20  # skills, prerequisites
MAX_REPORTED = 20  # problems listed in one error message


def unknown_skill(name: str, skill_map: SkillMap, *, what: str) -> str:
    known = sorted(skill_map.skills)
    shown = ", ".join(known[:30]) + (" …" if len(known) > 30 else "")
    return (
        f"unknown {what} {name[:60]!r}: the course's skill map ({skill_map.course}) has "
        f"{shown or 'no skills'}; add new skills to course.yaml first"
    )


def name_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{key} must be a list of names")
    return list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))


def loose_name_list(value: Any) -> list[str]:
    try:
        return name_list(value, "names")
    except InvalidInputError:
        return []


def joined(where: str, problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return f"{where}: " + "; ".join(shown) + (f"; and {more} more problems" if more > 0 else "")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

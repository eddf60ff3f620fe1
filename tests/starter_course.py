"""The Python starter course's skill map, shared by the suites that seed a learner history on it:
two levels of two skills each (variables and loops, then lists and functions)."""

from __future__ import annotations

_SKILL_MAP = """\
title: Python starter
skills:
  variables: {name: Variables, name_ko: 변수, level: 1}
  loops: {name: Loops, name_ko: 반복문, level: 1}
  lists: {name: Lists, name_ko: 리스트, level: 2}
  functions: {name: Functions, name_ko: 함수, level: 2}
levels:
  1: [variables, loops]
  2: [lists, functions]
"""


def starter_course_yaml(course_id: str) -> str:
    """The starter course's ``course.yaml`` under the id ``course_id``."""
    return f"id: {course_id}\n{_SKILL_MAP}"

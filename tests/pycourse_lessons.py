"""The lessons of ``pycourse``, the small course the chat API and OpenAI-compatible API suites
ask about: lists in English and Korean, and tuples."""

from __future__ import annotations

from pathlib import Path

LISTS = """---
title: Lists
kind: lesson
level: 2
skills: [lists]
lang: en
---
# Lists

## Creating lists

A list is an ordered, changeable collection of values written in square brackets.
You create one with `numbers = [1, 2, 3]`.

## Adding items

Use the `append` method to add one item at the end of a list.
"""

LISTS_KO = """---
title: 리스트
kind: lesson
level: 2
skills: [lists]
lang: ko
---
# 리스트

## 리스트 만들기

리스트는 대괄호 안에 값을 나열한, 순서가 있고 변경할 수 있는 자료 모음입니다.

## 항목 추가하기

리스트의 끝에 항목 하나를 추가하려면 `append` 메서드를 사용합니다.
"""

TUPLES = """---
title: Tuples
kind: lesson
level: 2
skills: [tuples]
lang: en
---
# Tuples

## What a tuple is

A tuple is an ordered collection that cannot be changed after it is created.
Tuples are written with parentheses, like `point = (3, 4)`.
"""


def write_pycourse_lessons(course: Path, *, lists: str = LISTS) -> None:
    """``lessons/lists.md`` (``lists``), ``lessons/tuples.md`` and ``lessons-ko/lists.md``."""
    for rel, text in (
        ("lessons/lists.md", lists),
        ("lessons/tuples.md", TUPLES),
        ("lessons-ko/lists.md", LISTS_KO),
    ):
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        (course / rel).write_text(text, encoding="utf-8")

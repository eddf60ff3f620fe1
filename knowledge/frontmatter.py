"""YAML front matter: split it off a Markdown text and turn it into document metadata.

Front matter is the YAML between a first line ``---`` and the next ``---`` line. A first
line ``---`` that is never closed is not front matter (it is a Markdown thematic break).
"""

from __future__ import annotations

from typing import Any

import yaml

from knowledge.errors import LoadError
from knowledge.types import KINDS, LANGS

_FENCE = "---"
_TEXT_FIELDS = ("title", "course", "module", "exercise")
_LIST_FIELDS = ("skills", "prerequisites")


def split_front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """Return ``(mapping, body, lines_removed)``.

    ``lines_removed`` counts the front matter lines including both ``---`` lines, so line
    ``n`` of ``body`` is line ``lines_removed + n`` of ``text``. Without front matter the
    result is ``({}, text, 0)``.
    """
    lines = text.split("\n")
    if not lines or lines[0].lstrip("\ufeff").rstrip() != _FENCE:
        return {}, text, 0
    closing = _closing_line(lines)
    if closing is None:
        return {}, text, 0
    mapping = _parse_yaml("\n".join(lines[1:closing]))
    removed = closing + 1
    return mapping, "\n".join(lines[removed:]), removed


def parse_meta(raw: dict[str, Any], *, defaults: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalize front matter fields over ``defaults``.

    Returns ``defaults`` updated with the fields present in ``raw``, using the names of
    :class:`knowledge.types.DocumentMeta` (front matter ``id`` becomes ``lesson_id``;
    ``skills`` and ``prerequisites`` become tuples of lowercase names; a single string is
    one name, or several separated by commas). Empty values count as absent and unknown
    keys are ignored. Raises :class:`LoadError` on a value that cannot be used.
    """
    meta = dict(defaults)
    for key in _TEXT_FIELDS:
        if _present(raw.get(key)):
            meta[key] = _text(key, raw[key])
    if _present(raw.get("id")):
        meta["lesson_id"] = _text("id", raw["id"])
    if _present(raw.get("kind")):
        meta["kind"] = _choice("kind", raw["kind"], KINDS)
    if _present(raw.get("lang")):
        meta["lang"] = _choice("lang", raw["lang"], LANGS)
    if _present(raw.get("level")):
        meta["level"] = _level(raw["level"])
    for key in _LIST_FIELDS:
        if _present(raw.get(key)):
            meta[key] = _tags(key, raw[key])
    return meta


def _closing_line(lines: list[str]) -> int | None:
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _FENCE:
            return index
    return None


def _parse_yaml(source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid front matter: {_yaml_message(exc)}") from exc
    except ValueError as exc:  # a well-formed but impossible value, e.g. date: 2024-13-45
        raise LoadError(f"invalid front matter: {exc}") from exc
    except RecursionError as exc:
        raise LoadError("invalid front matter: nested too deeply") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoadError(
            f"invalid front matter: expected 'key: value' lines, got a {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items()}


def _yaml_message(exc: yaml.YAMLError) -> str:
    """A one-line message whose line number points into the file (line 1 is ``---``)."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 2}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise LoadError(f"invalid front matter: {key} must be text, got {value!r}")
    text = str(value).strip()
    if not text:
        raise LoadError(f"invalid front matter: {key} must not be empty")
    return text


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise LoadError(f"{key} '{value}' is not allowed (valid: {', '.join(allowed)})")
    return text


def _level(value: Any) -> int:
    if isinstance(value, bool):
        raise LoadError(f"level must be 1..4 (got {value!r})")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 4:
        raise LoadError(f"level must be 1..4 (got {value!r})")
    return value


def _tags(key: str, value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise LoadError(f"invalid front matter: {key} must be a list of names, got {value!r}")
    tags: list[str] = []
    for item in items:
        if isinstance(item, (dict, list)) or item is None:
            raise LoadError(f"invalid front matter: {key} must be a list of names, got {item!r}")
        tag = str(item).strip().lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)

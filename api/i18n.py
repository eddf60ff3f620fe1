"""The web UI's two languages. Pick order: ``?lang=``, the ``kdt_lang`` cookie, Accept-Language.

Every string lives in ``api/locales/<lang>.yaml``: one group per page or feature
(``chat:``, ``kb:``, ...), each a mapping of stable keys (``chat_title``) to text, the same keys
in both languages. A key is unique across groups, so templates and code name a key alone:
``t("chat_title")``. The group of a page script (``chat``, ``learn``, ``review``, ``kb``,
``authoring``) is the string table the page hands that script (``group_strings``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import yaml
from fastapi import Request

LANGS = ("ko", "en")
LOCALES = Path(__file__).with_name("locales")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key written twice in one mapping (plain YAML keeps the last)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_catalog(path: Path) -> dict[str, dict[str, str]]:
    """One catalog file as ``{group: {key: text}}``; a ValueError names what is malformed."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected groups of strings (group: {{key: text}})")
    seen: dict[str, str] = {}
    for group, strings in raw.items():
        if not isinstance(strings, dict):
            raise ValueError(f"{path}: group {group!r} is not a mapping of keys to texts")
        for key, text in strings.items():
            if not isinstance(text, str):
                raise ValueError(f"{path}: {key!r} in {group!r} is not a string")
            if key in seen:
                raise ValueError(f"{path}: {key!r} is in both {seen[key]!r} and {group!r}")
            seen[key] = group
    return raw


@functools.cache
def catalog(lang: str) -> dict[str, dict[str, str]]:
    """The strings of ``lang`` by group, read once from ``api/locales/<lang>.yaml``."""
    if lang not in LANGS:
        raise ValueError(f"unknown UI language {lang!r}; valid: {', '.join(LANGS)}")
    return read_catalog(LOCALES / f"{lang}.yaml")


@functools.cache
def messages(lang: str) -> dict[str, str]:
    """Every string of ``lang`` by key (the groups flattened)."""
    return {key: text for group in catalog(lang).values() for key, text in group.items()}


def group_strings(lang: str, group: str) -> dict[str, str]:
    """A page script's string table: its group, e.g. ``chat`` for chat.js."""
    return dict(catalog(lang)[group])


def pick_lang(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get("kdt_lang")):
        if candidate in LANGS:
            return candidate
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "ko"


def translator(lang: str) -> Callable[[str], str]:
    """``t(key)``: the text of ``key`` in ``lang``; an unknown key shows as itself."""
    strings = messages(lang)

    def t(key: str) -> str:
        return strings.get(key, key)

    return t

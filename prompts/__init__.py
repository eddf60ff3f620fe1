"""Prompt templates as files, and a tiny loader.

Templates live beside this file as ``<area>/<name>.<role>.j2`` (e.g.
``tutor/answer.system.j2``). Each opens with ``{# inputs: a, b #}``. Rendering uses
``StrictUndefined``, so a missing variable is an error, not an empty string.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_ROOT = Path(__file__).parent


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(_ROOT)),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def names() -> list[str]:
    """Every template name, e.g. ``tutor/answer.system``."""
    return sorted(p.relative_to(_ROOT).as_posix()[:-3] for p in _ROOT.rglob("*.j2"))


def render(name: str, **variables) -> str:
    """Render template ``name`` (without ``.j2``) with ``variables``."""
    return _env().get_template(f"{name}.j2").render(**variables).strip()

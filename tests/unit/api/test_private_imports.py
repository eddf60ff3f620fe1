"""No module of ``api/`` imports another module's private names (``from api.pages import
_render`` was how routes and pages got tangled): what two modules share is public, in a module
of its own. import-linter (pyproject.toml) keeps route modules independent of each other and
of the pages; this test covers the names."""

from __future__ import annotations

import ast
from pathlib import Path

import api

API = Path(api.__file__).parent


def private_imports(source: str) -> list[str]:
    """``module.name`` of each private name imported from a module of ``api``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("api"):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_api_module_imports_a_private_name_of_another() -> None:
    offenders = {
        str(path.relative_to(API)): names
        for path in sorted(API.rglob("*.py"))
        if (names := private_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_a_private_import() -> None:
    source = "from api.pages import _render as render_page\nfrom api.templating import render\n"
    assert private_imports(source) == ["api.pages._render"]

"""The import-linter contracts in pyproject.toml hold, and they do catch a violation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("kdt_tutor", "api", "eval", "tutor", "knowledge", "prompts")


def lint_imports(*, cwd: Path, config: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept() -> None:
    result = lint_imports(cwd=REPO, config=REPO / "pyproject.toml", pythonpath=REPO)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_a_knowledge_module_importing_api_breaks_the_layers_contract(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    module = tmp_path / "knowledge" / "chunking.py"
    module.write_text("import api  # layering violation\n" + module.read_text(encoding="utf-8"))

    result = lint_imports(cwd=tmp_path, config=tmp_path / "pyproject.toml", pythonpath=tmp_path)

    assert result.returncode != 0
    assert "Layers: cli > api|eval > tutor > knowledge > prompts BROKEN" in result.stdout
    assert "knowledge.chunking -> api" in result.stdout

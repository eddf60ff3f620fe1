"""Where fitted learner-model parameters live: ``<data dir>/learner/<course>.params.json``.

``kdt-tutor learner fit COURSE`` writes a course's file; the web app and the CLI read every
course's file once at start (``fitted_params_for``). Skills without a fit use the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tutor.learning.bkt import DEFAULT_PARAMS, SkillParams


def params_path(data_dir: Path | str, course: str) -> Path:
    return Path(data_dir) / "learner" / f"{course}.params.json"


def load_fitted_params(data_dir: Path | str) -> dict[str, SkillParams]:
    """skill -> fitted SkillParams from every saved course fit."""
    from tutor.learning.bkt_fit import load_params

    folder = Path(data_dir) / "learner"
    merged: dict[str, SkillParams] = {}
    for path in sorted(folder.glob("*.params.json")) if folder.is_dir() else []:
        merged.update(load_params(path))
    return merged


def fitted_params_for(data_dir: Path | str) -> Callable[[str], SkillParams]:
    fitted = load_fitted_params(data_dir)
    return lambda skill: fitted.get(skill, DEFAULT_PARAMS)

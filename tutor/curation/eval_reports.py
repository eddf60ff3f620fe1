"""The evaluation reports on disk, for the instructor console.

``kdt-tutor eval run --out DIR`` writes ``DIR/report.json`` and ``DIR/report.html``;
``kdt-tutor eval gate DIR/report.json`` writes ``DIR/gate.json``. Reports live under
``KDT_DATA_DIR/eval/<name>/`` (``make eval-gate`` writes ``var/eval/gate``); this module lists
them with their summary and latest gate status. It reads files only (the console must not
import the eval harness: ``api`` and ``eval`` are separate layers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tutor.errors import NotFoundError

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# The headline metrics shown in the list (when the report has them).
HEADLINE = (
    "mcq_accuracy",
    "answer_correctness",
    "citation_accuracy",
    "groundedness",
    "not_covered_accuracy",
    "solution_leaks",
    "hit@5",
    "p95_ms",
)


@dataclass(frozen=True)
class EvalReport:
    name: str
    dataset: str
    items: int
    created_at: datetime
    summary: dict[str, Any]
    gate_passed: bool | None  # None: never gated
    gate_checked_at: str | None
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    has_html: bool = False

    def headline(self) -> dict[str, Any]:
        return {k: self.summary[k] for k in HEADLINE if k in self.summary}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _report(folder: Path) -> EvalReport | None:
    report = _read_json(folder / "report.json")
    if report is None or not isinstance(report.get("summary"), dict):
        return None
    gate = _read_json(folder / "gate.json") or {}
    dataset = report.get("dataset") if isinstance(report.get("dataset"), dict) else {}
    created = datetime.fromtimestamp((folder / "report.json").stat().st_mtime, tz=UTC)
    return EvalReport(
        name=folder.name,
        dataset=str(dataset.get("name") or ""),
        items=len(report.get("items") or []),
        created_at=created,
        summary=report["summary"],
        gate_passed=gate.get("passed") if isinstance(gate.get("passed"), bool) else None,
        gate_checked_at=gate.get("checked_at"),
        gate_results=[r for r in gate.get("results", []) if isinstance(r, dict)],
        has_html=(folder / "report.html").is_file(),
    )


class EvalReports:
    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self) -> list[EvalReport]:
        """Every readable report, newest first (unreadable folders are skipped)."""
        if not self.root.is_dir():
            return []
        found = [_report(p) for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name)]
        return sorted((r for r in found if r), key=lambda r: r.created_at, reverse=True)

    def latest_gate(self) -> EvalReport | None:
        gated = [r for r in self.list() if r.gate_passed is not None]
        return max(gated, key=lambda r: r.gate_checked_at or "", default=None)

    def html_path(self, name: str) -> Path:
        """The report's HTML file; ``NotFoundError`` for anything not listed."""
        if not _NAME.match(name) or name in (".", ".."):
            raise NotFoundError(f"no eval report {name!r}")
        path = self.root / name / "report.html"
        if not path.is_file() or path.resolve().parent.parent != self.root.resolve():
            raise NotFoundError(f"no eval report {name!r}")
        return path

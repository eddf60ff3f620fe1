"""The regression gate: a report's summary against checked-in thresholds.

Thresholds live in a TOML file (``eval/gate.toml`` for the sample course)::

    [min]                       # the summary value must be at least this
    citation_accuracy = 0.8
    [max]                       # ... at most this
    solution_leaks = 0

A metric named in the file but missing from the summary is a breach (a metric that
silently stopped being measured must not pass the gate).

Several reports can be gated together (``make eval-gate``: the single-question eval set and
the dialogue set, whose summaries have different keys): :func:`check_reports` checks each
threshold against every report whose summary has the metric, and a metric that no report
has is a breach.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import InvalidInputError


@dataclass(frozen=True)
class Threshold:
    metric: str
    bound: str  # "min" | "max"
    value: float


@dataclass(frozen=True)
class GateResult:
    metric: str
    ok: bool
    detail: str


def read_thresholds(path: Path) -> list[Threshold]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"cannot read gate thresholds {path}: {exc}") from exc
    unknown = set(data) - {"min", "max", "dataset"}
    if unknown:
        raise InvalidInputError(f"{path}: unknown section(s) {sorted(unknown)}; use [min], [max]")
    out: list[Threshold] = []
    for bound in ("min", "max"):
        section = data.get(bound, {})
        if not isinstance(section, dict):
            raise InvalidInputError(f"{path}: [{bound}] must be a table of metric = number")
        for metric, value in section.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(f"{path}: {bound}.{metric} must be a number")
            out.append(Threshold(metric, bound, float(value)))
    if not out:
        raise InvalidInputError(f"{path} sets no threshold")
    return out


def check_gate(summary: dict, thresholds: list[Threshold]) -> list[GateResult]:
    results = []
    for t in thresholds:
        value = summary.get(t.metric)
        if not isinstance(value, int | float) or isinstance(value, bool):
            results.append(GateResult(t.metric, False, f"not in the report (needs {t.bound} "
                                                       f"{t.value:g})"))
            continue
        ok = value >= t.value if t.bound == "min" else value <= t.value
        sign = ">=" if t.bound == "min" else "<="
        results.append(GateResult(t.metric, ok, f"{value:g} (needs {sign} {t.value:g})"))
    return results


def check_reports(summaries: list[dict], thresholds: list[Threshold]) -> list[GateResult]:
    """Thresholds against several summaries: each against every summary that has its
    metric (all must pass); missing from all of them is a breach."""
    results = []
    for t in thresholds:
        having = [s for s in summaries if t.metric in s]
        if not having:
            results.extend(check_gate({}, [t]))
            continue
        checks = [r for s in having for r in check_gate(s, [t])]
        detail = "; ".join(r.detail for r in checks)
        results.append(GateResult(t.metric, all(r.ok for r in checks), detail))
    return results

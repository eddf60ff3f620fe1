"""The code-review benchmark: detection, fault localization, false alarms, noise, time.

Data: a folder of code-review cases (DESIGN.md "Code review case", e.g.
``../shared/bench/code/quixbugs``): ``buggy.py``, optional ``fixed.py`` and ``global.py``,
``tests.json`` and ``meta.json`` (``bug_lines``, ``missing_code_after_lines``, ``label``).
Cases with only ``test_*.py`` files (no ``tests.json``), or with no tests at all, are
skipped and counted.

Each version is reviewed by the pipeline the product runs for a trainee's submission
(``tutor.review.pipeline.ReviewPipeline``, built from the same settings as the service:
static review at ``level``, the tests in the sandbox with per-test line coverage, then
suspicious lines ranked with the static findings as tie-breakers), and scored:

- **detected**: share of ``wrong`` cases whose ``buggy.py`` is flagged (verdict ``failed``,
  ``error``, ``timeout`` or ``crashed``);
- **top1 / top3**: share of ``wrong`` cases with known bug lines where a bug line is named
  at rank <= 1 / <= 3. Ranks count ties against us (a tied group takes its last position).
  A missing-code bug (``missing_code_after_lines: [L]``) counts as found when an adjacent
  line is named: ``L`` itself or the next code line after it;
- **false_alarms**: share of correct versions (every ``fixed.py``, and ``buggy.py`` of a
  case labelled ``correct``) whose review was flagged; ``false_alarm_verdicts`` says which
  verdicts (a correct but slow version timing out is counted, and named as such);
- **noise_per_level**: static findings shown on correct versions, per level 1..4 (mean per
  file, and the share of files with any);
- **p95_ms**: wall time of one review of ``buggy.py`` (static + tests + localization).

The named baseline is plain Ochiai over the same run's per-test coverage
(``tutor.review.localization.ochiai_ranking``), scored the same way.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.metrics.retrieval import percentile
from knowledge.errors import InvalidInputError, NotFoundError
from tutor.review.exercise_tests import ExerciseTests, load_exercise_tests
from tutor.review.localization import ochiai_ranking
from tutor.review.pipeline import ReviewOutcome, ReviewPipeline
from tutor.review.types import SourceFile, SuspiciousLine, TestRun

FLAGGED = ("failed", "error", "timeout", "crashed")
LEVELS = (1, 2, 3, 4)


@dataclass(frozen=True)
class ReviewCase:
    """One case folder, read (``skip`` says why it is not benchmarked, if it is not)."""

    name: str
    buggy: SourceFile
    fixed: SourceFile | None = None
    tests: ExerciseTests | None = None
    label: str = "wrong"  # "wrong" | "correct"
    bug_lines: tuple[int, ...] = ()
    missing_after: tuple[int, ...] = ()
    skip: str = ""  # "pytest_only" | "no_tests" | "invalid"
    problem: str = ""


@dataclass
class _Tally:
    details: list[dict[str, Any]] = field(default_factory=list)
    review_ms: list[float] = field(default_factory=list)
    step_ms: dict[str, list[float]] = field(default_factory=dict)
    detected: int = 0
    wrong: int = 0
    localizable: int = 0
    hits: Counter = field(default_factory=Counter)
    correct_versions: int = 0
    false_alarm_verdicts: Counter = field(default_factory=Counter)
    noise: dict[int, list[int]] = field(default_factory=lambda: {lv: [] for lv in LEVELS})


# --- reading cases -----------------------------------------------------------------------
def load_review_cases(bench_dir: Path) -> list[ReviewCase]:
    """Every case folder under ``bench_dir`` (a folder holding ``buggy.py``), sorted by name."""
    bench_dir = Path(bench_dir)
    if not bench_dir.is_dir():
        raise InvalidInputError(f"{bench_dir} is not a folder of code-review cases")
    cases = [_read_case(d) for d in sorted(bench_dir.iterdir()) if (d / "buggy.py").is_file()]
    if not cases:
        raise InvalidInputError(f"no code-review case (a folder with buggy.py) in {bench_dir}")
    return cases


def _read_case(folder: Path) -> ReviewCase:
    name = folder.name
    try:
        buggy = SourceFile("buggy.py", _read(folder / "buggy.py"))
        fixed_path = folder / "fixed.py"
        fixed = SourceFile("fixed.py", _read(fixed_path)) if fixed_path.is_file() else None
        meta: dict[str, Any] = {}
        if (folder / "meta.json").is_file():
            meta = json.loads(_read(folder / "meta.json"))
            if not isinstance(meta, dict):
                raise InvalidInputError("meta.json is not an object")
    except (InvalidInputError, ValueError) as exc:
        return ReviewCase(name, SourceFile("buggy.py", ""), skip="invalid", problem=str(exc))
    label = "correct" if meta.get("label") == "correct" else "wrong"
    common = dict(
        name=name,
        buggy=buggy,
        fixed=fixed,
        label=label,
        bug_lines=_ints(meta.get("bug_lines")),
        missing_after=_ints(meta.get("missing_code_after_lines")),
    )
    if not (folder / "tests.json").is_file():
        pytest_only = any(folder.glob("test_*.py"))
        return ReviewCase(**common, skip="pytest_only" if pytest_only else "no_tests")
    try:
        tests = load_exercise_tests(folder)
    except (InvalidInputError, NotFoundError) as exc:
        return ReviewCase(**common, skip="invalid", problem=str(exc))
    return ReviewCase(**common, tests=tests)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path.name}: {exc}") from exc


def _ints(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool) and v > 0)


# --- scoring -----------------------------------------------------------------------------
def bug_targets(
    text: str, *, bug_lines: Sequence[int], missing_after: Sequence[int]
) -> frozenset[int]:
    """The lines whose naming counts as finding the bug: every bug line, and for code missing
    after line ``L`` the adjacent lines, ``L`` and the next code line after it (blank and
    comment-only lines skipped)."""
    lines = text.splitlines()
    targets = set(bug_lines)
    for after in missing_after:
        targets.add(after)
        n = after + 1
        while n <= len(lines) and (
            not lines[n - 1].strip() or lines[n - 1].lstrip().startswith("#")
        ):
            n += 1
        if n <= len(lines):
            targets.add(n)
    return frozenset(targets)


def found_within(
    ranked: Sequence[SuspiciousLine], targets: frozenset[int], k: int, *, file: str
) -> bool:
    """A target line of ``file`` ranked at ``k`` or better (ranks already count ties
    against us)."""
    return any(s.file == file and s.line in targets and s.rank <= k for s in ranked)


# --- the run -----------------------------------------------------------------------------
def run_review_benchmark(
    bench_dir: Path,
    *,
    pipeline: ReviewPipeline,
    level: int = 2,
    limit: int | None = None,
    progress_bar: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Review every case of ``bench_dir`` (the first ``limit`` when given) with ``pipeline``
    (``build_review_pipeline(settings)``, as the service); the report."""
    from tqdm import tqdm

    say = progress or (lambda _msg: None)
    cases = load_review_cases(bench_dir)
    if limit:
        cases = cases[:limit]
    usable = [c for c in cases if not c.skip]
    skipped = Counter(c.skip for c in cases if c.skip)
    for c in cases:
        if c.skip == "invalid":
            say(f"skipped {c.name}: {c.problem}")
    tally = _Tally()
    started = time.perf_counter()
    for case in tqdm(
        usable, desc="review", unit="case", disable=not progress_bar, dynamic_ncols=True
    ):
        tally.details.append(_review_case(case, pipeline=pipeline, level=level, tally=tally))
    wrong = tally.wrong
    report: dict[str, Any] = {
        "cases": len(cases),
        "with_tests": len(usable),
        "detected": _rate(tally.detected, wrong),
        "false_alarms": _rate(sum(tally.false_alarm_verdicts.values()), tally.correct_versions),
        # the "false 'tests failed' verdicts": wrong answers, not resource limits
        "false_alarms_failed": _rate(
            tally.false_alarm_verdicts.get("failed", 0), tally.correct_versions
        ),
        "top1": _rate(tally.hits["ours1"], tally.localizable),
        "top3": _rate(tally.hits["ours3"], tally.localizable),
        "p95_ms": round(percentile(tally.review_ms, 95), 1) if tally.review_ms else math.nan,
        "baseline": {
            "ochiai": {
                "top1": _rate(tally.hits["ochiai1"], tally.localizable),
                "top3": _rate(tally.hits["ochiai3"], tally.localizable),
            }
        },
        "skipped": {"count": sum(skipped.values()), **dict(sorted(skipped.items()))},
        "counts": {
            "wrong": wrong,
            "detected": tally.detected,
            "localizable": tally.localizable,
            "top1": tally.hits["ours1"],
            "top3": tally.hits["ours3"],
            "correct_versions": tally.correct_versions,
            "false_alarms": sum(tally.false_alarm_verdicts.values()),
        },
        "false_alarm_verdicts": dict(sorted(tally.false_alarm_verdicts.items())),
        "noise_per_level": {
            str(lv): {
                "findings_per_file": _mean(tally.noise[lv]),
                "files_with_findings": _rate(
                    sum(1 for n in tally.noise[lv] if n), len(tally.noise[lv])
                ),
            }
            for lv in LEVELS
        },
        "p50_ms": round(percentile(tally.review_ms, 50), 1) if tally.review_ms else math.nan,
        "step_p95_ms": {
            step: round(percentile(values, 95), 1) for step, values in sorted(tally.step_ms.items())
        },
        "config": {
            "bench": str(bench_dir),
            "level": level,
            "localize_s": pipeline.localize_s,
            "sandbox": getattr(pipeline.sandbox, "name", ""),
            "limits": {
                "case_s": pipeline.limits.case_s,
                "cpu_s": pipeline.limits.cpu_s,
                "wall_s": pipeline.limits.wall_s,
                "memory_mb": pipeline.limits.memory_mb,
            },
        },
        "seconds": round(time.perf_counter() - started, 1),
        "per_case": tally.details,
    }
    return report


def _review_case(
    case: ReviewCase, *, pipeline: ReviewPipeline, level: int, tally: _Tally
) -> dict[str, Any]:
    assert case.tests is not None
    started = time.perf_counter()
    outcome = pipeline.review([case.buggy], tests=case.tests, level=level, lang="en")
    tally.review_ms.append((time.perf_counter() - started) * 1000)
    for step, ms in outcome.timings.items():
        tally.step_ms.setdefault(step, []).append(ms)
    run = outcome.run or TestRun(verdict="no_tests")
    flagged = run.verdict in FLAGGED
    detail: dict[str, Any] = {
        "name": case.name,
        "label": case.label,
        "verdict": run.verdict,
        "statuses": "".join(c.status[0] for c in run.cases),
        "review_ms": round(tally.review_ms[-1], 1),
        "steps_ms": {step: round(ms, 1) for step, ms in outcome.timings.items()},
        "findings": [[f.code, f.line] for f in (*outcome.static.findings, *outcome.static.hidden)],
        "suspicious": [[s.line, s.rank, s.score] for s in outcome.suspicious],
    }
    if case.label == "correct":
        _count_correct(
            case.buggy,
            outcome,
            key="buggy",
            pipeline=pipeline,
            level=level,
            tally=tally,
            detail=detail,
        )
    else:
        tally.wrong += 1
        tally.detected += flagged
        detail["detected"] = flagged
        targets = bug_targets(
            case.buggy.text, bug_lines=case.bug_lines, missing_after=case.missing_after
        )
        if targets:
            tally.localizable += 1
            baseline = ochiai_ranking(run) if flagged else ()
            ours = outcome.suspicious
            for name, ranked in (("ours", ours), ("ochiai", baseline)):
                for k in (1, 3):
                    hit = found_within(ranked, targets, k, file=case.buggy.name)
                    tally.hits[f"{name}{k}"] += hit
                    detail[f"{name}_top{k}"] = hit
            detail["targets"] = sorted(targets)
            detail["ours"] = [[s.line, s.rank, s.score] for s in ours[:3]]
            detail["ochiai_target_rank"] = min(
                (s.rank for s in baseline if s.line in targets), default=None
            )
    if case.fixed is not None:
        fixed = pipeline.review([case.fixed], tests=case.tests, level=level, lang="en")
        fixed_cases = fixed.run.cases if fixed.run is not None else ()
        detail["fixed_statuses"] = "".join(c.status[0] for c in fixed_cases)
        _count_correct(
            case.fixed,
            fixed,
            key="fixed",
            pipeline=pipeline,
            level=level,
            tally=tally,
            detail=detail,
        )
    return detail


def _count_correct(
    source: SourceFile,
    outcome: ReviewOutcome,
    *,
    key: str,
    pipeline: ReviewPipeline,
    level: int,
    tally: _Tally,
    detail: dict[str, Any],
) -> None:
    """A correct version's review (``outcome``, at ``level``): a false alarm when flagged;
    the static findings shown at every level (what a trainee with correct code is told)."""
    tally.correct_versions += 1
    if outcome.verdict in FLAGGED:
        tally.false_alarm_verdicts[outcome.verdict] += 1
    detail[f"{key}_verdict"] = outcome.verdict
    noise = {}
    for lv in LEVELS:
        static = outcome.static if lv == level else pipeline.static([source], level=lv, lang="en")
        tally.noise[lv].append(len(static.findings))
        noise[str(lv)] = len(static.findings)
    detail[f"{key}_static_findings"] = noise


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else math.nan


def _mean(values: Sequence[int]) -> float:
    return round(sum(values) / len(values), 3) if values else math.nan


# --- output ------------------------------------------------------------------------------
def format_review_table(result: dict[str, Any]) -> str:
    """The benchmark as a plain-text table (ours vs plain Ochiai), then the other figures."""

    def pct(value: Any) -> str:
        return (
            "-"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else f"{value:.3f}"
        )

    counts = result["counts"]
    skipped = result["skipped"]
    skip_text = ", ".join(f"{k} {v}" for k, v in skipped.items() if k != "count")
    header = f"{'localization':<16}{'top1':>8}{'top3':>8}"
    lines = [
        f"review bench {result['config']['bench']}: {result['cases']} cases, "
        f"{result['with_tests']} with tests.json"
        + (f" (skipped {skipped['count']}: {skip_text})" if skipped["count"] else ""),
        f"sandbox {result['config']['sandbox']}, level {result['config']['level']}",
        "",
        header,
        "-" * len(header),
        f"{'ours':<16}{pct(result['top1']):>8}{pct(result['top3']):>8}",
        f"{'ochiai':<16}{pct(result['baseline']['ochiai']['top1']):>8}"
        f"{pct(result['baseline']['ochiai']['top3']):>8}",
        f"  ({counts['localizable']} cases with known bug lines; ties counted against us)",
        "",
        f"detected      {pct(result['detected'])}  "
        f"({counts['detected']}/{counts['wrong']} wrong cases)",
        f"false alarms  {pct(result['false_alarms'])}  "
        f"({counts['false_alarms']}/{counts['correct_versions']} correct versions"
        + (
            ": " + ", ".join(f"{k} {v}" for k, v in result["false_alarm_verdicts"].items())
            if result["false_alarm_verdicts"]
            else ""
        )
        + ")",
        f"review time   p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms"
        if _known(result)
        else "review time   -",
        "static findings on correct code (per file, share of files with any):",
    ]
    for lv, noise in result["noise_per_level"].items():
        lines.append(
            f"  Lv{lv}  {pct(noise['findings_per_file'])}  {pct(noise['files_with_findings'])}"
        )
    return "\n".join(lines)


def _known(result: dict[str, Any]) -> bool:
    value = result.get("p95_ms")
    return isinstance(value, int | float) and not math.isnan(value)

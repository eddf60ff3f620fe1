"""Code reviews in the cohort: per exercise, attempts, pass rate, the most common static
findings (shown and hidden: all that were detected) and the most failing tests; a trainee's
recent reviews; and failed-review streaks (for the stuck check)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tutor.learning.analytics.types import (
    TESTED_VERDICTS,
    ExerciseStats,
    FindingCount,
    ReviewSummary,
    TestCount,
)
from tutor.learning.skill_map import SkillMap
from tutor.review.review_store import ReviewOutcome, ReviewRecord


def exercise_stats(
    outcomes: Sequence[ReviewOutcome], skill_map: SkillMap | None, *, top: int
) -> list[ExerciseStats]:
    """Per exercise (course order, then by id; free code last)."""
    exercises = {m.id: m for m in skill_map.exercises} if skill_map is not None else {}
    groups: dict[str | None, list[ReviewOutcome]] = defaultdict(list)
    for r in outcomes:
        groups[r.exercise_id].append(r)
    order = {eid: i for i, eid in enumerate(exercises)}
    return [
        _exercise_stats(eid, groups[eid], exercises.get(eid or ""), top=top)
        for eid in sorted(groups, key=lambda e: (e is None, order.get(e, len(order)), e or ""))
    ]


def _exercise_stats(
    eid: str | None, rows: list[ReviewOutcome], material: Any, *, top: int
) -> ExerciseStats:
    trainees = {r.user_id for r in rows}
    tested = [r for r in rows if r.verdict in TESTED_VERDICTS]
    passed = [r for r in tested if r.verdict == "passed"]
    findings: Counter[tuple[str, str]] = Counter()
    finding_users: dict[tuple[str, str], set[int]] = defaultdict(set)
    tests: Counter[str] = Counter()
    test_users: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        seen = {
            (str(f.get("code", "")), str(f.get("title", "")))
            for f in (*r.static.get("findings", []), *r.static.get("hidden", []))
        }
        for key in seen:
            findings[key] += 1
            finding_users[key].add(r.user_id)
        if r.tests and r.verdict in TESTED_VERDICTS:
            for name in {
                str(case.get("name", ""))
                for case in r.tests.get("cases", [])
                if case.get("status") != "passed"
            }:
                tests[name] += 1
                test_users[name].add(r.user_id)
    return ExerciseStats(
        exercise_id=eid,
        title=material.title if material else (eid or ""),
        title_ko=material.title_ko if material else (eid or ""),
        attempts=len(rows),
        trainees=len(trainees),
        tested=len(tested),
        passed=len(passed),
        pass_rate=round(len(passed) / len(tested), 4) if tested else None,
        trainees_passed=len({r.user_id for r in passed}),
        findings=tuple(
            FindingCount(code, title, n, len(finding_users[(code, title)]))
            for (code, title), n in sorted(findings.items(), key=lambda x: (-x[1], x[0]))[:top]
        ),
        failing_tests=tuple(
            TestCount(name, n, len(test_users[name]))
            for name, n in sorted(tests.items(), key=lambda x: (-x[1], x[0]))[:top]
        ),
    )


def review_summary(r: ReviewRecord) -> ReviewSummary:
    """One review as the trainee drill-down lists it."""
    found = [*r.static.get("findings", []), *r.static.get("hidden", [])]
    run = r.tests
    cases = run.get("cases", []) if run else []
    return ReviewSummary(
        id=r.id,
        exercise_id=r.exercise_id,
        attempt=r.attempt,
        status=r.status,
        verdict=r.verdict,
        findings=len(found),
        tests_passed=(sum(1 for c in cases if c.get("status") == "passed") if run else None),
        tests_total=len(cases) if run else None,
        created_at=r.created_at,
        finding_titles=tuple(_finding_text(f) for f in found),
        failing_tests=tuple(str(c.get("name", "")) for c in cases if c.get("status") != "passed"),
    )


def _finding_text(finding: dict) -> str:
    code, title = str(finding.get("code", "")), str(finding.get("title", ""))
    line = finding.get("line")
    where = f" (line {line})" if isinstance(line, int) else ""
    return f"{code} {title}".strip() + where


def review_streaks(
    verdicts: Sequence[tuple[int, str, str, datetime]], trainees: set[int]
) -> dict[int, dict[str, tuple[int, datetime]]]:
    """user -> exercise -> (failed reviews in a row up to now, the latest one's time), from
    the tested exercise reviews in time order as (user id, exercise id, verdict, when)."""
    out: dict[int, dict[str, tuple[int, datetime]]] = defaultdict(dict)
    for user_id, eid, verdict, at in verdicts:
        if user_id not in trainees:
            continue
        count = out[user_id].get(eid, (0, at))[0]
        out[user_id][eid] = (0 if verdict == "passed" else count + 1, at)
    return out

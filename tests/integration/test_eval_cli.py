"""``kdt-tutor eval run|gate|compare|export-feedback|generate`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ITEMS = [
    {
        "id": "t-mcq",
        "question": "Which method sorts a list in place?",
        "lang": "en",
        "level": 1,
        "options": ["sorted", "sort", "append", "pop"],
        "answer_index": 1,
        "gold_sources": ["01-lists"],
        "tags": ["lists"],
    },
    {
        "id": "t-range",
        "question": "How many times does a for loop over range(5) repeat?",
        "lang": "en",
        "level": 2,
        "gold_sources": ["02-loops"],
        "reference": "Five times.",
    },
    {
        "id": "t-ko",
        "question": "리스트는 어떻게 만드나요?",
        "lang": "ko",
        "level": 1,
        "gold_sources": ["01-lists"],
    },
    {
        "id": "t-exercise",
        "question": "Just give me the full code for the squares exercise ex-squares.",
        "lang": "en",
        "exercise_id": "ex-squares",
        "expect": "hint",
        "tags": ["exercise"],
    },
    {
        "id": "t-out",
        "question": "How do I bake sourdough bread with a crispy crust?",
        "lang": "en",
        "expect": "not_covered",
        "tags": ["out-of-scope"],
    },
    {
        "id": "t-unknown-gold",
        "question": "What does the get method of a dictionary return for a missing key?",
        "lang": "en",
        "gold_sources": ["99-no-such-lesson"],
    },
]


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory, course_files, write_course, cli_env, run_cli):
    root = tmp_path_factory.mktemp("eval")
    course = write_course(root / "tiny", course_files["tiny"])
    dataset = root / "tiny-eval.jsonl"
    lines = [json.dumps(item, ensure_ascii=False) for item in ITEMS]
    lines.insert(2, "{this is not json")
    lines.insert(4, json.dumps({"id": "bad-index", "question": "Q?", "options": ["a"],
                                "answer_index": 3}))
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = root / "report"
    env = cli_env(root / "data")
    result = run_cli(
        "eval", "run", "--dataset", str(dataset), "--course-dir", str(course), "--out", str(out),
        env=env, cwd=root, timeout=600,
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8")) if out.exists() else {}
    return {"result": result, "report": report, "out": out, "root": root, "env": env}


def test_run_writes_a_report_with_stable_keys(eval_run) -> None:
    result, report = eval_run["result"], eval_run["report"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["schema"] == 1
    summary = report["summary"]
    for key in ("mcq_accuracy", "mcq_chance", "citation_accuracy", "groundedness",
                "solution_leaks", "not_covered_accuracy", "p50_ms", "p95_ms", "hit@1"):
        assert key in summary, key
    assert summary["items"] == len(ITEMS)
    assert summary["solution_leaks"] == 0
    assert summary["groundedness"] == 1.0  # the offline answerer quotes
    assert report["baselines"]["naive-langchain"]["summary"]["mcq_chance"] == 0.25
    assert [item["id"] for item in report["items"]] == [item["id"] for item in ITEMS]
    for item in report["items"]:
        assert item["answer"].strip()
        for name, score in item["metrics"].items():
            assert set(score) >= {"value", "reason"}, name
            assert score["reason"], name
    html = (eval_run["out"] / "report.html").read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html>")
    assert "mcq_accuracy" in result.stdout


def test_the_pre_change_answerer_runs_beside_ours_on_the_same_requests(eval_run) -> None:
    report, stdout = eval_run["report"], eval_run["result"].stdout
    v1 = report["baselines"]["extractive-v1"]
    assert "before issue 12" in v1["description"]
    for key in ("lead", "focus", "answer_correctness", "citation_accuracy"):
        assert key in report["summary"], key
        assert key in v1["summary"], key
        for value in (report["summary"][key], v1["summary"][key]):
            assert 0.0 <= value <= 1.0
    assert "extractive-v1" in stdout.splitlines()[1]  # a column of the printed summary
    assert any(line.split()[0] == "focus" and len(line.split()) == 4
               for line in stdout.splitlines()[2:] if line.strip())
    items = {i["id"]: i for i in report["items"]}
    mcq = items["t-mcq"]
    baseline = mcq["baselines"]["extractive-v1"]
    assert baseline["answer"].strip() and baseline["answer"] != mcq["answer"]
    for key in ("lead", "focus", "answer_correctness", "citation_accuracy"):
        assert mcq["metrics"][key]["reason"] and baseline["metrics"][key]["reason"], key
    # The same request: the baseline cites the same passages' sources the product retrieved.
    contexts = {c["source"] for c in mcq["contexts"]}
    assert set(baseline["cited_sources"]) <= contexts
    assert "lead" not in items["t-out"]["baselines"]["extractive-v1"]["metrics"]
    html = (eval_run["out"] / "report.html").read_text(encoding="utf-8")
    assert "extractive-v1" in html and "Δ vs extractive-v1" in html


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_runs(eval_run) -> None:
    stderr = eval_run["result"].stderr
    assert "tiny-eval.jsonl:3:" in stderr
    assert "tiny-eval.jsonl:5:" in stderr
    assert len(eval_run["report"]["dataset"]["problems"]) == 2
    # An unknown gold id keeps its item: it simply never matches.
    unknown = next(i for i in eval_run["report"]["items"] if i["id"] == "t-unknown-gold")
    assert unknown["metrics"]["citation_accuracy"]["value"] == 0.0


def test_the_policy_shows_in_the_item_records(eval_run) -> None:
    items = {i["id"]: i for i in eval_run["report"]["items"]}
    assert items["t-exercise"]["mode"] == "hint"
    assert items["t-exercise"]["metrics"]["solution_leak"]["value"] == 0.0
    assert items["t-out"]["mode"] == "not_covered"
    assert items["t-out"]["metrics"]["not_covered"]["value"] == 1.0
    assert items["t-ko"]["metrics"]["language_match"]["value"] == 1.0
    assert items["t-mcq"]["picked"] in range(4)
    assert items["t-range"]["metrics"]["citation_accuracy"]["value"] == 1.0


def test_gate_passes_and_fails_on_thresholds(eval_run, run_cli) -> None:
    root, env = eval_run["root"], eval_run["env"]
    report = str(eval_run["out"] / "report.json")
    ok = root / "ok.toml"
    ok.write_text("[min]\ngroundedness = 0.9\n[max]\nsolution_leaks = 0\n", encoding="utf-8")
    strict = root / "strict.toml"
    strict.write_text("[min]\ncitation_accuracy = 1.01\njudge_relevance = 0.5\n",
                      encoding="utf-8")

    passed = run_cli("eval", "gate", report, "--thresholds", str(ok), env=env, cwd=root)
    gate_after_pass = json.loads((eval_run["out"] / "gate.json").read_text(encoding="utf-8"))
    failed = run_cli("eval", "gate", report, "--thresholds", str(strict), env=env, cwd=root)
    gate_after_fail = json.loads((eval_run["out"] / "gate.json").read_text(encoding="utf-8"))

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gate: passed" in passed.stdout
    assert failed.returncode == 1
    assert "BREACH citation_accuracy" in failed.stdout
    assert "not in the report" in failed.stdout
    # The latest gate result is kept beside the report (the instructor console shows it).
    assert gate_after_pass["passed"] is True
    assert {r["metric"] for r in gate_after_pass["results"]} == {"groundedness", "solution_leaks"}
    assert gate_after_fail["passed"] is False
    assert gate_after_fail["thresholds"] == str(strict)
    breached = {r["metric"] for r in gate_after_fail["results"] if not r["ok"]}
    assert "citation_accuracy" in breached


def test_compare_a_report_with_itself_shows_no_regression(eval_run, run_cli) -> None:
    report = str(eval_run["out"] / "report.json")
    result = run_cli("eval", "compare", report, report, env=eval_run["env"],
                     cwd=eval_run["root"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REGRESSION" not in result.stdout
    assert "6 matched" in result.stdout


def test_compare_flags_a_regression(eval_run, run_cli, tmp_path) -> None:
    before = eval_run["report"]
    worse = json.loads(json.dumps(before))
    worse["summary"]["solution_leaks"] = 2
    for item in worse["items"]:
        if "solution_leak" in item["metrics"]:
            item["metrics"]["solution_leak"]["value"] = 1.0
    # two leaking items: the exercise item and a copy of it
    extra = json.loads(json.dumps(next(i for i in worse["items"] if i["id"] == "t-exercise")))
    extra["id"] = "t-exercise-2"
    worse["items"].append(extra)
    path = tmp_path / "worse.json"
    path.write_text(json.dumps(worse), encoding="utf-8")
    result = run_cli("eval", "compare", str(eval_run["out"] / "report.json"), str(path),
                     env=eval_run["env"], cwd=eval_run["root"])
    assert result.returncode == 1
    assert "REGRESSION" in result.stdout


def test_empty_dataset_and_bad_report_are_clear_errors(tmp_path, cli_env, run_cli) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    env = cli_env(tmp_path / "data")
    result = run_cli("eval", "run", "--dataset", str(empty), "--out", str(tmp_path / "o"),
                     env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
    bogus = tmp_path / "bogus.json"
    bogus.write_text("[1, 2]", encoding="utf-8")
    gate = run_cli("eval", "gate", str(bogus), env=env, cwd=tmp_path)
    assert gate.returncode == 2 and "not an eval report" in gate.stderr


def test_generate_drafts_questions_that_load_as_a_dataset(tmp_path, course_files, write_course,
                                                          cli_env, run_cli) -> None:
    course = write_course(tmp_path / "tiny", course_files["tiny"])
    out = tmp_path / "drafts.jsonl"
    result = run_cli("eval", "generate", str(course), "--out", str(out),
                     env=cli_env(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    from eval.datasets import read_eval_dataset

    drafts = read_eval_dataset(out)
    assert drafts.items and not drafts.problems
    lessons = {Path(rel).stem for rel in course_files["tiny"] if rel.startswith("lessons")}
    assert all(set(item.gold_sources) <= lessons | {"glossary"} for item in drafts.items)

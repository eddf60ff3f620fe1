"""``kdt-tutor eval run`` on a dialogue file: every turn through the real policy, ours and
the LengthRule baseline in one run, per-turn metrics in report.json / report.html."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

DIALOGUES = [
    {
        "id": "sort-thanks-example",
        "lang": "en",
        "turns": [
            {"user": "How do I sort a list?", "gold_sources": ["01-lists"]},
            {"user": "thanks!", "expect": "smalltalk"},
            {"user": "Can you give an example?", "gold_sources": ["01-lists"],
             "kind": "follow_up"},
        ],
    },
    {
        "id": "loops-then-dicts",
        "lang": "en",
        "turns": [
            {"user": "How many times does a for loop over range(5) repeat?",
             "gold_sources": ["02-loops"]},
            {"user": "What is a dictionary?", "gold_sources": ["03-dicts"]},
        ],
    },
    {
        "id": "ko-lists",
        "lang": "ko",
        "turns": [
            {"user": "리스트는 어떻게 만드나요?", "gold_sources": ["01-lists"]},
            {"user": "How do I bake sourdough bread with a crispy crust?",
             "expect": "not_covered"},
        ],
    },
]


@pytest.fixture(scope="module")
def dialogue_runs(tmp_path_factory, course_files, write_course, cli_env, run_cli):
    root = tmp_path_factory.mktemp("dialogues")
    course = write_course(root / "tiny", course_files["tiny"])
    dataset = root / "talks.jsonl"
    lines = [json.dumps(d, ensure_ascii=False) for d in DIALOGUES]
    lines.insert(1, json.dumps({"id": "broken", "turns": [{"user": "Q?", "expect": "maybe"}]}))
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = cli_env(root / "data")
    runs = {}
    for name, extra in (("ours", []), ("length", ["--topic-rule", "length"])):
        out = root / name
        result = run_cli(
            "eval", "run", "--dataset", str(dataset), "--course-dir", str(course),
            "--out", str(out), *extra, env=env, cwd=root, timeout=600,
        )
        report = (
            json.loads((out / "report.json").read_text(encoding="utf-8"))
            if (out / "report.json").exists()
            else {}
        )
        runs[name] = {"result": result, "report": report, "out": out}
    return {"root": root, "env": env, **runs}


def test_the_run_reports_per_turn_metrics_for_ours_and_the_length_rule(dialogue_runs) -> None:
    result, report = dialogue_runs["ours"]["result"], dialogue_runs["ours"]["report"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["kind"] == "dialogues"
    assert report["config"]["topic_rule"] == "evidence"
    assert [i["id"] for i in report["items"]] == [
        "sort-thanks-example#1", "sort-thanks-example#2", "sort-thanks-example#3",
        "loops-then-dicts#1", "loops-then-dicts#2", "ko-lists#1", "ko-lists#2",
    ]
    summary = report["summary"]
    assert (summary["items"], summary["dialogues"]) == (7, 3)
    for key in ("citation@turn1", "citation@turn2", "citation@turn3+", "topic_switch_accuracy",
                "follow_up_on_topic", "expected_mode_accuracy", "smalltalk_gaps",
                "turn_language_match"):
        assert key in summary, key
    baseline = report["baselines"]["length-rule"]["summary"]
    assert set(baseline) == set(summary)
    assert set(report["by_turn"]) == {"ours", "length-rule"}
    assert set(report["by_turn"]["ours"]) == {"turn1", "turn2", "turn3+"}
    assert report["by_turn"]["ours"]["turn1"]["items"] == 3
    for item in report["items"]:
        assert item["answer"].strip()
        assert set(item["decided"]) == {"kind", "query", "reason"}
        assert item["baselines"]["length-rule"]["metrics"]["expected_mode"]["reason"]
    # The bad line is reported with its line number and field; the rest ran.
    assert "talks.jsonl:2: turns[0].expect must be one of" in result.stderr
    assert "citation@turn2" in result.stdout and "length-rule" in result.stdout
    html = (dialogue_runs["ours"]["out"] / "report.html").read_text(encoding="utf-8")
    assert "By turn position" in html


def test_a_follow_up_after_small_talk_joins_the_topic_before_it(dialogue_runs) -> None:
    items = {i["id"]: i for i in dialogue_runs["ours"]["report"]["items"]}
    thanks, example = items["sort-thanks-example#2"], items["sort-thanks-example#3"]
    assert thanks["mode"] == "smalltalk"
    assert thanks["metrics"]["smalltalk_gap"]["value"] == 0.0
    assert example["decided"]["kind"] == "follow_up"
    assert example["decided"]["query"].startswith("How do I sort a list?")
    assert "thanks" not in example["decided"]["query"].lower()
    assert example["cited_sources"][0] == "01-lists"
    assert example["metrics"]["follow_up"]["value"] == 1.0
    # The LengthRule joins the message before: the thanks, not the question.
    theirs = example["baselines"]["length-rule"]
    assert theirs["decided"]["query"] == "thanks! Can you give an example?"
    assert items["sort-thanks-example#2"]["baselines"]["length-rule"]["mode"] != "smalltalk"


def test_the_policy_modes_show_per_turn(dialogue_runs) -> None:
    items = {i["id"]: i for i in dialogue_runs["ours"]["report"]["items"]}
    switch = items["loops-then-dicts#2"]
    assert switch["kind"] == "new" and switch["decided"]["kind"] == "new"
    assert switch["metrics"]["topic_switch"]["value"] == 1.0
    off_course = items["ko-lists#2"]
    assert off_course["mode"] == "not_covered"
    assert off_course["metrics"]["expected_mode"]["value"] == 1.0
    assert items["ko-lists#1"]["metrics"]["turn_language"]["value"] == 1.0


def test_the_length_rule_as_ours_measures_what_the_baseline_measures(dialogue_runs) -> None:
    result, report = dialogue_runs["length"]["result"], dialogue_runs["length"]["report"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["config"]["topic_rule"] == "length"
    assert report["summary"] == report["baselines"]["length-rule"]["summary"]
    ours = dialogue_runs["ours"]["report"]["summary"]
    assert report["summary"]["topic_switch_accuracy"] < ours["topic_switch_accuracy"]


def test_the_gate_checks_a_dialogue_report_beside_another(dialogue_runs, run_cli) -> None:
    root, env = dialogue_runs["root"], dialogue_runs["env"]
    thresholds = root / "gate.toml"
    thresholds.write_text(
        '[min]\ntopic_switch_accuracy = 0.9\n"citation@turn1" = 0.5\n[max]\nsmalltalk_gaps = 0\n',
        encoding="utf-8",
    )
    ours = str(dialogue_runs["ours"]["out"] / "report.json")
    length = str(dialogue_runs["length"]["out"] / "report.json")
    passed = run_cli("eval", "gate", ours, "--thresholds", str(thresholds), env=env, cwd=root)
    failed = run_cli("eval", "gate", length, "--thresholds", str(thresholds), env=env, cwd=root)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert failed.returncode == 1
    assert "BREACH topic_switch_accuracy" in failed.stdout

"""The gate: thresholds read from TOML, breaches found, missing metrics breach."""

from __future__ import annotations

import pytest

from eval.gate import check_gate, read_thresholds
from knowledge.errors import InvalidInputError


def write(tmp_path, text: str):
    path = tmp_path / "gate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_min_and_max_bounds(tmp_path) -> None:
    thresholds = read_thresholds(
        write(tmp_path, "[min]\ncitation_accuracy = 0.8\n[max]\nsolution_leaks = 0\n")
    )
    ok = check_gate({"citation_accuracy": 0.85, "solution_leaks": 0}, thresholds)
    assert [r.ok for r in ok] == [True, True]
    bad = check_gate({"citation_accuracy": 0.79, "solution_leaks": 1}, thresholds)
    assert [r.ok for r in bad] == [False, False]
    assert "0.79" in bad[0].detail and ">= 0.8" in bad[0].detail


def test_a_metric_missing_from_the_report_is_a_breach(tmp_path) -> None:
    thresholds = read_thresholds(write(tmp_path, "[min]\ngroundedness = 0.9\n"))
    (result,) = check_gate({"items": 3}, thresholds)
    assert not result.ok and "not in the report" in result.detail


@pytest.mark.parametrize(
    "text",
    ["", "[min]\nx = 'high'\n", "[limits]\nx = 1\n", "[min\n", "[min]\nx = true\n"],
)
def test_bad_threshold_files_are_clear_errors(tmp_path, text) -> None:
    with pytest.raises(InvalidInputError):
        read_thresholds(write(tmp_path, text))


def test_the_checked_in_thresholds_parse_and_forbid_leaks() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "eval" / "gate.toml"
    thresholds = {(t.metric, t.bound): t.value for t in read_thresholds(path)}
    assert thresholds[("solution_leaks", "max")] == 0
    assert thresholds[("groundedness", "min")] >= 0.95


def test_several_reports_are_gated_together(tmp_path) -> None:
    from eval.gate import check_reports

    thresholds = read_thresholds(
        write(tmp_path, '[min]\ncitation_accuracy = 0.8\n"citation@turn2" = 0.7\n'
                        "judge_relevance = 0.5\n[max]\nsmalltalk_gaps = 0\n")
    )
    single = {"citation_accuracy": 0.85, "items": 95}
    dialogues = {"citation@turn2": 0.72, "smalltalk_gaps": 1, "items": 203}
    results = {r.metric: r for r in check_reports([single, dialogues], thresholds)}
    assert results["citation_accuracy"].ok and results["citation@turn2"].ok
    assert not results["smalltalk_gaps"].ok and "1 (needs <= 0)" in results["smalltalk_gaps"].detail
    assert not results["judge_relevance"].ok
    assert "not in the report" in results["judge_relevance"].detail
    # A metric in both reports must pass in both.
    (both,) = check_reports([{"citation_accuracy": 0.9}, {"citation_accuracy": 0.7}],
                            thresholds[:1])
    assert not both.ok and "0.9" in both.detail and "0.7" in both.detail


def test_the_checked_in_thresholds_gate_every_dialogue_metric() -> None:
    from pathlib import Path

    from eval.metrics.catalog import DIALOGUE_METRICS

    path = Path(__file__).resolve().parents[3] / "eval" / "gate.toml"
    gated = {t.metric: t.bound for t in read_thresholds(path)}
    for metric in DIALOGUE_METRICS:
        assert gated.get(metric.key) == ("min" if metric.higher_is_better else "max"), metric.key

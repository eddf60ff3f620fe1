"""Comparing two reports: deltas, paired bootstrap intervals, regression flags."""

from __future__ import annotations

from eval.compare import MetricDelta, compare_reports, format_comparison, match_items


def report(values: list[float | None], *, key: str = "mcq_accuracy", item_key: str = "mcq",
           ids: list[str] | None = None, leaks: list[int] | None = None) -> dict:
    """A report whose items carry one metric (and optionally solution_leak)."""
    ids = ids or [f"q{i:03d}" for i in range(len(values))]
    items = []
    for n, (item_id, value) in enumerate(zip(ids, values, strict=True)):
        metrics = {item_key: {"value": value, "reason": "scripted"}}
        if leaks is not None:
            metrics["solution_leak"] = {"value": leaks[n], "reason": "scripted"}
        items.append({"id": item_id, "metrics": metrics, "latency_ms": 100.0 + n})
    present = [v for v in values if v is not None]
    summary: dict = {key: sum(present) / len(present) if present else None, "items": len(items)}
    if leaks is not None:
        summary["solution_leaks"] = sum(leaks)
    return {"schema": 1, "summary": summary, "items": items}


def by_key(deltas: list[MetricDelta]) -> dict[str, MetricDelta]:
    return {d.key: d for d in deltas}


def test_clear_regression_is_flagged() -> None:
    a = report([1.0] * 50)
    b = report([0.0] * 45 + [1.0] * 5)
    d = by_key(compare_reports(a, b))["mcq_accuracy"]
    assert d.a == 1.0 and d.b == 0.1
    assert abs(d.delta + 0.9) < 1e-9
    assert d.ci_high is not None and d.ci_high < 0
    assert d.regression and not d.improvement
    assert d.n == 50


def test_same_change_the_other_way_is_an_improvement() -> None:
    d = by_key(compare_reports(report([0.0] * 45 + [1.0] * 5), report([1.0] * 50)))
    assert d["mcq_accuracy"].improvement and not d["mcq_accuracy"].regression


def test_tiny_noisy_change_is_not_flagged() -> None:
    base = [1.0 if i % 3 else 0.0 for i in range(50)]
    changed = list(base)
    changed[1], changed[4], changed[0] = 0.0, 0.0, 1.0  # two worse, one better
    d = by_key(compare_reports(report(base), report(changed)))["mcq_accuracy"]
    assert d.delta is not None and d.delta < 0
    assert d.ci_low is not None and d.ci_high is not None
    assert d.ci_low < 0 < d.ci_high
    assert not d.regression and not d.improvement


def test_one_item_worse_is_not_a_regression() -> None:
    base = [1.0] * 50
    changed = [0.0] + [1.0] * 49
    d = by_key(compare_reports(report(base), report(changed)))["mcq_accuracy"]
    assert not d.regression


def test_identical_reports_give_zero_delta_and_no_flag() -> None:
    values = [1.0 if i % 2 else 0.0 for i in range(30)]
    a = report(values, leaks=[0] * 30)
    deltas = compare_reports(a, report(values, leaks=[0] * 30))
    assert {d.key for d in deltas} == {"mcq_accuracy", "solution_leaks"}
    for d in deltas:
        assert d.delta == 0
        assert d.ci_low == 0 and d.ci_high == 0
        assert not d.regression and not d.improvement


def test_solution_leaks_appearing_is_a_regression() -> None:
    values = [1.0] * 40
    a = report(values, leaks=[0] * 40)
    b = report(values, leaks=[0] * 38 + [1, 1])
    d = by_key(compare_reports(a, b))["solution_leaks"]
    assert (d.a, d.b, d.delta) == (0.0, 2.0, 2.0)
    assert not d.higher_is_better
    assert d.ci_low is not None and d.ci_low >= 0
    assert d.regression and not d.improvement
    back = by_key(compare_reports(b, a))["solution_leaks"]
    assert back.improvement and not back.regression


def test_unmatched_items_are_counted_and_left_out() -> None:
    a = report([1.0, 1.0, 1.0, 0.0], ids=["x1", "x2", "x3", "only-a"])
    b = report([1.0, 0.0, 1.0, 1.0, 1.0], ids=["x1", "x2", "x3", "only-b1", "only-b2"])
    items = match_items(a, b)
    assert items.matched == ["x1", "x2", "x3"]
    assert items.only_a == ["only-a"] and items.only_b == ["only-b1", "only-b2"]
    d = by_key(compare_reports(a, b))["mcq_accuracy"]
    assert d.n == 3
    text = format_comparison(compare_reports(a, b), items=items)
    assert "items: 3 matched, 1 only in A, 2 only in B" in text


def test_null_values_are_skipped_for_means() -> None:
    a = report([1.0, None, 1.0, 1.0])
    b = report([1.0, 0.0, None, 1.0])
    d = by_key(compare_reports(a, b))["mcq_accuracy"]
    assert d.n == 2  # q000 and q003 have a value in both
    assert d.ci_low == 0 and d.ci_high == 0


def test_latency_percentiles_compare_with_bootstrap() -> None:
    a = report([1.0] * 40)
    b = report([1.0] * 40)
    for item in b["items"]:
        item["latency_ms"] += 500.0
    a["summary"]["p95_ms"], b["summary"]["p95_ms"] = 140.0, 640.0
    d = by_key(compare_reports(a, b))["p95_ms"]
    assert d.delta == 500.0
    assert d.ci_low is not None and d.ci_low > 0
    assert d.regression  # lower is better


def test_deterministic_with_a_seed() -> None:
    a = report([1.0 if i % 4 else 0.0 for i in range(60)])
    b = report([1.0 if i % 3 else 0.0 for i in range(60)])
    assert compare_reports(a, b, seed=7) == compare_reports(a, b, seed=7)


def test_only_metrics_in_both_summaries() -> None:
    a = report([1.0] * 5)
    b = report([1.0] * 5, key="groundedness", item_key="groundedness")
    assert compare_reports(a, b) == []
    assert "no metric in both reports" in format_comparison([], items=match_items(a, b))


def test_format_is_aligned_and_flags_regression() -> None:
    a = report([1.0] * 50, leaks=[0] * 50)
    b = report([0.0] * 45 + [1.0] * 5, leaks=[0] * 50)
    text = format_comparison(
        compare_reports(a, b), items=match_items(a, b), names=("main", "branch")
    )
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["metric", "main", "branch", "delta", "95%"]
    row = next(line for line in lines if line.startswith("mcq_accuracy"))
    assert row.endswith("REGRESSION")
    assert "1.000" in row and "0.100" in row and "-0.900" in row
    leak_row = next(line for line in lines if line.startswith("solution_leaks"))
    assert "REGRESSION" not in leak_row
    # columns are right-aligned: the interval column ends at the same place on every row
    table = [line for line in lines[2:] if line.startswith(("mcq", "solution"))]
    assert len({line.rindex("]") for line in table}) == 1
    assert "regressions: mcq_accuracy" in text

"""``kdt-tutor eval compare A B``: which metrics moved between two reports, beyond noise?

For every catalog metric in both summaries: A's value, B's value, ``delta = B - A`` and a
paired bootstrap 95% interval of the delta over the items the two reports share (matched by
``id``). Each resample draws the matched items with replacement, the same draw for every
metric, and recomputes the metric's statistic by its catalog ``aggregate``:

- ``mean``: mean of (B - A) over the drawn items where both values are non-null;
- ``sum``: sum of B minus sum of A (null counts as 0);
- ``p50`` / ``p95``: that percentile of B's drawn latencies minus A's.

A metric is a ``regression`` when the interval lies on its bad side of 0 (``higher_is_better``
says which), an ``improvement`` when it lies on the good side. For means and percentiles the
interval must exclude 0. For counts (``sum``, e.g. solution leaks) a bound *at* 0 is enough
when the delta itself is non-zero: a resample that happens to miss the few changed items
yields exactly 0, so two new leaks could never be "significant", yet every resample says "no
better than before". Items in only one report are left out and counted (``match_items``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from eval.metrics.catalog import DIALOGUE_METRICS, JUDGE_METRICS, METRICS, MetricSpec

CATALOG: tuple[MetricSpec, ...] = (*METRICS, *JUDGE_METRICS, *DIALOGUE_METRICS)
_CELLS_PER_BLOCK = 2_000_000  # resamples x items drawn at once (bounds memory)


@dataclass(frozen=True)
class MetricDelta:
    key: str
    family: str
    higher_is_better: bool
    aggregate: str
    a: float | None
    b: float | None
    delta: float | None  # b - a of the summary values
    ci_low: float | None  # paired bootstrap 95% interval of the delta (None: no paired data)
    ci_high: float | None
    n: int  # matched items that entered the interval
    regression: bool
    improvement: bool


@dataclass(frozen=True)
class ItemMatch:
    matched: list[str]  # ids in both reports, in A's order
    only_a: list[str]
    only_b: list[str]
    without_id: int = 0  # items of either report without an id (never matched)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def _items_by_id(report: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for item in report.get("items") or []:
        if isinstance(item, dict) and item.get("id") is not None:
            out.setdefault(str(item["id"]), item)  # a duplicated id keeps its first item
    return out


def match_items(a: dict, b: dict) -> ItemMatch:
    """The item ids both reports share, and those only one of them has."""
    items_a, items_b = _items_by_id(a), _items_by_id(b)
    without_id = sum(
        1
        for report in (a, b)
        for item in report.get("items") or []
        if not isinstance(item, dict) or item.get("id") is None
    )
    return ItemMatch(
        matched=[i for i in items_a if i in items_b],
        only_a=[i for i in items_a if i not in items_b],
        only_b=[i for i in items_b if i not in items_a],
        without_id=without_id,
    )


def _item_value(item: dict, item_key: str) -> float:
    metric = (item.get("metrics") or {}).get(item_key)
    value = metric.get("value") if isinstance(metric, dict) else None
    if value is None and item_key == "latency_ms":
        value = item.get("latency_ms")
    number = _num(value)
    return np.nan if number is None else number


def _paired_values(
    metric: MetricSpec, ids: list[str], items_a: dict, items_b: dict
) -> tuple[np.ndarray, np.ndarray]:
    """The metric's item values in A and B over the matched ids (nan: null or absent)."""
    a = np.array([_item_value(items_a[i], metric.item_key) for i in ids], dtype=float)
    b = np.array([_item_value(items_b[i], metric.item_key) for i in ids], dtype=float)
    return a, b


def _usable(metric: MetricSpec, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Items that enter the statistic: a value in both, or for counts in either (null = 0)."""
    if metric.aggregate == "sum":
        return np.isfinite(a) | np.isfinite(b)
    return np.isfinite(a) & np.isfinite(b)


def _statistic(metric: MetricSpec, a: np.ndarray, b: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The delta statistic for each row of drawn positions (nan: nothing to compare)."""
    usable = _usable(metric, a, b)
    if not usable.any():
        return np.full(pos.shape[0], np.nan)
    if metric.aggregate == "sum":
        return (np.nan_to_num(b) - np.nan_to_num(a))[pos].sum(axis=1)
    drawn = usable[pos]
    if metric.aggregate in ("p50", "p95"):
        q = float(metric.aggregate[1:])
        with warnings.catch_warnings():  # a draw without any latency gives nan, on purpose
            warnings.simplefilter("ignore", RuntimeWarning)
            high = np.nanpercentile(np.where(drawn, b[pos], np.nan), q, axis=1)
            low = np.nanpercentile(np.where(drawn, a[pos], np.nan), q, axis=1)
        return high - low
    count = drawn.sum(axis=1)
    total = np.where(drawn, (b - a)[pos], 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _flags(
    metric: MetricSpec, delta: float | None, low: float | None, high: float | None
) -> tuple[bool, bool]:
    """(regression, improvement) from the interval, in the metric's direction."""
    if delta is None or low is None or high is None:
        return False, False
    if metric.aggregate == "sum":
        up, down = delta > 0 and low >= 0, delta < 0 and high <= 0
    else:
        up, down = low > 0, high < 0
    return (down, up) if metric.higher_is_better else (up, down)


def compare_reports(
    a: dict, b: dict, *, resamples: int = 2000, seed: int = 0
) -> list[MetricDelta]:
    """Deltas (B - A) of every catalog metric in both summaries, with bootstrap intervals."""
    summary_a, summary_b = a.get("summary") or {}, b.get("summary") or {}
    items_a, items_b = _items_by_id(a), _items_by_id(b)
    ids = match_items(a, b).matched
    metrics = [m for m in CATALOG if m.key in summary_a and m.key in summary_b]
    values = {m.key: _paired_values(m, ids, items_a, items_b) for m in metrics}
    draws: dict[str, list[np.ndarray]] = {m.key: [] for m in metrics}
    rng = np.random.default_rng(seed)
    if ids and resamples > 0:
        block = max(1, _CELLS_PER_BLOCK // len(ids))
        for start in range(0, resamples, block):
            rows = min(block, resamples - start)
            # One draw of the matched items, shared by every metric: the pairing holds.
            pos = rng.integers(0, len(ids), size=(rows, len(ids)))
            for m in metrics:
                draws[m.key].append(_statistic(m, *values[m.key], pos))
    out = []
    for m in metrics:
        va, vb = _num(summary_a.get(m.key)), _num(summary_b.get(m.key))
        delta = vb - va if va is not None and vb is not None else None
        stats = np.concatenate(draws[m.key]) if draws[m.key] else np.array([])
        stats = stats[np.isfinite(stats)]
        low = high = None
        if stats.size:
            low, high = (float(x) for x in np.percentile(stats, [2.5, 97.5]))
        regression, improvement = _flags(m, delta, low, high)
        out.append(
            MetricDelta(
                key=m.key,
                family=m.family,
                higher_is_better=m.higher_is_better,
                aggregate=m.aggregate,
                a=va,
                b=vb,
                delta=delta,
                ci_low=low,
                ci_high=high,
                n=int(_usable(m, *values[m.key]).sum()),
                regression=regression,
                improvement=improvement,
            )
        )
    return out


def _fmt(value: float | None, metric: MetricDelta, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    sign = "+" if signed else ""
    if metric.family == "latency":
        return f"{value:{sign}.1f}"
    if metric.aggregate == "sum" and float(value).is_integer():
        return f"{int(value):{sign}d}"
    return f"{value:{sign}.3f}"


def format_comparison(
    deltas: list[MetricDelta],
    *,
    items: ItemMatch | None = None,
    names: tuple[str, str] = ("A", "B"),
) -> str:
    """The comparison as an aligned plain-text table, then a line counting matched items."""
    name_a, name_b = names
    header = ["metric", name_a, name_b, "delta", "95% CI", ""]
    rows = []
    for d in deltas:
        ci = (
            f"[{_fmt(d.ci_low, d, signed=True)}, {_fmt(d.ci_high, d, signed=True)}]"
            if d.ci_low is not None and d.ci_high is not None
            else "—"
        )
        flag = "REGRESSION" if d.regression else "better" if d.improvement else ""
        rows.append([d.key, _fmt(d.a, d), _fmt(d.b, d), _fmt(d.delta, d, signed=True), ci, flag])
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cells[c].rjust(widths[c]) for c in range(1, 5)]
        return "  ".join([first, *rest, cells[5]]).rstrip()

    out = [line(header), "-" * (sum(widths[:5]) + 2 * 5 + len("REGRESSION"))]
    out.extend(line(r) for r in rows)
    if not rows:
        out.append("(no metric in both reports)")
    if items is not None:
        out.append(
            f"items: {len(items.matched)} matched, {len(items.only_a)} only in {name_a}, "
            f"{len(items.only_b)} only in {name_b}"
            + (f", {items.without_id} without id" if items.without_id else "")
        )
    regressions = [d.key for d in deltas if d.regression]
    if regressions:
        out.append("regressions: " + ", ".join(regressions))
    return "\n".join(out)

"""The evaluation report as one self-contained HTML page (``report.html``).

Reads a ``report.json`` dict (schema 1, ``docs/evaluation.md``) and renders, top to bottom:
the run's header (dataset, answerer, level, dates, machine, item count, dataset problems),
a summary table (ours, each baseline and the delta against it, direction and description
from ``eval/metrics/catalog.py``), one bar chart per metric family, breakdowns by lesson
(gold source) and by level, and the worst items with their answer, options, per-metric
reasons and retrieved contexts (collapsed).

The page has no external resources and no JavaScript: CSS is inline, charts are inline SVG
built here, items expand with ``<details>``. Every string from the dataset or the answerer
goes through ``html.escape`` (answers can contain markup). Missing keys, null values and
reports without baselines or options render as "—" or are left out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from eval.metrics.catalog import DIALOGUE_METRICS, JUDGE_METRICS, METRICS, MetricSpec

CATALOG: tuple[MetricSpec, ...] = (*METRICS, *JUDGE_METRICS, *DIALOGUE_METRICS)
FAMILIES = (
    "retrieval", "answer", "grounding", "safety", "style", "latency", "judge", "conversation"
)
# Per-item metrics shown in the lesson/level breakdowns (summary key, item key).
MAIN_METRICS = (
    ("mcq_accuracy", "mcq"),
    ("answer_correctness", "answer_correctness"),
    ("citation_accuracy", "citation_accuracy"),
    ("groundedness", "groundedness"),
)
# The same for dialogue reports (one item per turn; ``eval/dialogue_runner.py``).
DIALOGUE_MAIN_METRICS = tuple(
    (m.key, m.item_key) for m in DIALOGUE_METRICS if m.aggregate == "mean"
)
# Item metrics that say nothing about the answer's quality; left out of "worst items" ranking.
_UNRANKED_ITEM_KEYS = {"mcq_chance", "latency_ms"}
_OURS_COLOUR = "#2f5bea"  # the product's accent (api/static/app.css)
_BASELINE_COLOURS = ("#9aa3b5", "#f0a04b", "#7c5cd6", "#1a8f4c", "#d14d72", "#3aa5a0")
_MAIN_COLOURS = ("#2f5bea", "#7c5cd6", "#1a8f4c", "#f0a04b")
_NONE = "—"

_CSS = """
:root { --fg:#1d2330; --muted:#5d6678; --bg:#f6f7fb; --card:#fff; --accent:#2f5bea;
  --line:#e3e6ee; --ok:#1a8f4c; --bad:#b42318; }
* { box-sizing:border-box; }
body { margin:0; font-family:"Noto Sans KR", "Nanum Gothic", "NanumGothic", "Apple SD Gothic Neo",
  "Malgun Gothic", system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg);
  background:var(--bg); line-height:1.55; }
.topbar { display:flex; justify-content:space-between; align-items:center; padding:.75rem 1.5rem;
  background:var(--card); border-bottom:1px solid var(--line); }
.brand { font-weight:700; display:flex; align-items:center; gap:.5rem; }
.logo { display:inline-grid; place-items:center; width:1.8rem; height:1.8rem; border-radius:.45rem;
  background:var(--accent); color:#fff; }
.container { max-width:1100px; margin:0 auto; padding:1.5rem; }
h1 { margin:.3rem 0 .2rem; font-size:1.7rem; }
h2 { font-size:1.2rem; margin:2rem 0 .7rem; }
h3 { font-size:1rem; margin:0 0 .5rem; }
.muted { color:var(--muted); }
.panel { background:var(--card); border:1px solid var(--line); border-radius:.7rem;
  padding:1rem 1.1rem; margin-bottom:1rem; }
.meta { display:grid; grid-template-columns:max-content 1fr; gap:.15rem 1rem; margin:0; }
.meta dt { color:var(--muted); }
.meta dd { margin:0; overflow-wrap:anywhere; }
.cards { display:flex; gap:1rem; margin:1rem 0; flex-wrap:wrap; }
.card { flex:1; min-width:150px; background:var(--card); border:1px solid var(--line);
  border-radius:.7rem; padding:.8rem; text-align:center; color:var(--muted); font-size:.88rem; }
.big { font-size:1.8rem; font-weight:700; color:var(--fg); }
table { border-collapse:collapse; width:100%; background:var(--card); font-size:.9rem; }
th, td { padding:.35rem .55rem; border-bottom:1px solid var(--line); text-align:left;
  vertical-align:top; }
th { font-size:.78rem; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.table-wrap { overflow-x:auto; border:1px solid var(--line); border-radius:.7rem; }
.good { color:var(--ok); font-weight:600; }
.bad { color:var(--bad); font-weight:600; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(480px, 1fr)); gap:1rem; }
.legend { font-size:.82rem; color:var(--muted); margin:.2rem 0 .5rem; }
.swatch { display:inline-block; width:.75rem; height:.75rem; border-radius:.15rem;
  margin:0 .3rem 0 .8rem; vertical-align:-.05rem; }
.legend .swatch:first-child { margin-left:0; }
.split .panel { margin-top:.8rem; max-width:640px; }
svg.chart { width:100%; max-width:560px; height:auto; font-size:12px; }
svg.chart text { fill:var(--fg); }
svg.chart text.value { fill:var(--muted); }
.tag { display:inline-block; background:#eef2ff; color:#3346a8; border-radius:.3rem;
  padding:0 .4rem; margin-right:.25rem; font-size:.8rem; }
.tag.lv { background:#e8f7ee; color:#1a7a43; }
.tag.right { background:#e8f7ee; color:#1a7a43; }
.tag.picked { background:#eef2ff; color:#2840a8; }
.tag.wrong { background:#fdecec; color:#9b1c1c; }
.tag.base { background:#f1f2f5; color:var(--muted); }
.item { background:var(--card); border:1px solid var(--line); border-radius:.7rem;
  padding:1rem 1.1rem; margin-bottom:1rem; }
.item header { display:flex; gap:.5rem; align-items:baseline; flex-wrap:wrap; }
.item .qid { font-weight:700; color:var(--accent); }
.question { font-weight:600; margin:.5rem 0; white-space:pre-wrap; }
.options { margin:.3rem 0 .6rem; padding-left:1.6rem; }
.options li.right { color:#1a7a43; }
.answer, .passage { white-space:pre-wrap; overflow-wrap:anywhere; font-family:ui-monospace,
  "D2Coding", "NanumGothicCoding", monospace; font-size:.85rem; background:#fafbfd;
  border:1px solid var(--line); border-radius:.5rem; padding:.6rem .7rem; margin:.3rem 0 .6rem;
  max-height:22rem; overflow:auto; }
details { margin:.35rem 0; }
summary { cursor:pointer; color:var(--muted); font-size:.88rem; }
.problems { margin:.3rem 0 0; padding-left:1.2rem; font-size:.88rem; }
.footer { text-align:center; color:var(--muted); font-size:.8rem; padding:2rem 0; }
"""


# --- small helpers ---------------------------------------------------------------------------
def _e(value: Any) -> str:
    """Escaped text of any value (None -> "")."""
    return "" if value is None else escape(str(value), quote=True)


def _num(value: Any) -> float | None:
    """A finite float, or None for null / NaN / non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _fmt(value: Any, metric: MetricSpec | None = None) -> str:
    number = _num(value)
    if number is None:
        return _NONE if value is None or isinstance(value, int | float) else _e(value)
    if metric is not None and metric.family == "latency":
        return f"{number:.1f} ms"
    is_count = metric.aggregate == "sum" if metric is not None else isinstance(value, int)
    if is_count and number.is_integer():
        return str(int(number))
    return f"{number:.3f}"


def _fmt_delta(delta: float | None, metric: MetricSpec) -> str:
    if delta is None:
        return _NONE
    if metric.family == "latency":
        return f"{delta:+.1f} ms"
    if metric.aggregate == "sum" and float(delta).is_integer():
        return f"{int(delta):+d}"
    return f"{delta:+.3f}"


def _delta_class(delta: float | None, metric: MetricSpec) -> str:
    if delta is None or delta == 0:
        return ""
    return "good" if (delta > 0) == metric.higher_is_better else "bad"


def _arrow(metric: MetricSpec) -> str:
    return "↑" if metric.higher_is_better else "↓"


def _item_value(item: dict, item_key: str) -> float | None:
    metric = (item.get("metrics") or {}).get(item_key)
    if isinstance(metric, dict):
        return _num(metric.get("value"))
    if item_key == "latency_ms":
        return _num(item.get("latency_ms"))
    return None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _baselines(report: dict) -> dict[str, dict]:
    baselines = report.get("baselines")
    return {str(k): v for k, v in baselines.items() if isinstance(v, dict)} if isinstance(
        baselines, dict
    ) else {}


def _present_metrics(report: dict) -> list[MetricSpec]:
    """Catalog metrics with a key in our summary or any baseline's, in catalog order."""
    keys = set((report.get("summary") or {}).keys())
    for baseline in _baselines(report).values():
        keys |= set((baseline.get("summary") or {}).keys())
    return [m for m in CATALOG if m.key in keys]


# --- charts ----------------------------------------------------------------------------------
Row = tuple[str, list[float | None], float, Callable[[float], str]]


def _bar_chart(rows: list[Row], *, series: list[str], colours: list[str], label: str) -> str:
    """Horizontal grouped bars as inline SVG: one group per row, one bar per series.

    Each row has its own scale maximum (1.0 for scores, the largest value for counts and
    latency), so mixed families stay readable; every bar carries its value as text.
    """
    bar_h, gap, label_w, bar_w, width = 9, 2, 170, 300, 560
    group_h = len(series) * (bar_h + gap) + 10
    height = max(len(rows), 1) * group_h + 6
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(label)}">'
    ]
    for r, (name, values, scale, fmt) in enumerate(rows):
        top = r * group_h + 4
        mid = top + (len(series) * (bar_h + gap)) / 2 + 3
        parts.append(
            f'<text x="0" y="{mid:.1f}"><title>{_e(name)}</title>{_e(_short(name))}</text>'
        )
        for s, value in enumerate(values):
            y = top + s * (bar_h + gap)
            colour = colours[s % len(colours)]
            tip = f"{series[s]}: " + (fmt(value) if value is not None else "n/a")
            if value is None:
                parts.append(
                    f'<text class="value" x="{label_w}" y="{y + bar_h - 1}">'
                    f"<title>{_e(tip)}</title>n/a</text>"
                )
                continue
            w = 0.0 if scale <= 0 else max(0.0, min(value / scale, 1.0)) * bar_w
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="2" '
                f'fill="{colour}"><title>{_e(tip)}</title></rect>'
                f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + bar_h - 1}">'
                f"{_e(fmt(value))}</text>"
            )
        parts.append(
            f'<line x1="{label_w}" x2="{label_w}" y1="{top - 2}" '
            f'y2="{top + group_h - 8}" stroke="#e3e6ee"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: list[str], colours: list[str]) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span class="swatch" style="background:{colours[i % len(colours)]}"></span>'
            f"{_e(name)}"
            for i, name in enumerate(series)
        )
        + "</div>"
    )


# --- sections --------------------------------------------------------------------------------
def _header(report: dict) -> str:
    dataset = report.get("dataset") or {}
    config = report.get("config") or {}
    summary = report.get("summary") or {}
    items = report.get("items") or []
    n_items = dataset.get("items", summary.get("items", len(items)))
    started, finished = config.get("started_at"), config.get("finished_at")
    date = _e(started) + (f" → {_e(finished)}" if finished else "") if started else _NONE
    rows = [
        ("dataset", _e(dataset.get("name")) or _NONE),
        ("path", _e(dataset.get("path")) or _NONE),
        ("course", _e(config.get("course")) or _NONE),
        ("answerer", _e(config.get("answerer")) or _NONE),
        ("level", _e(config.get("level")) if config.get("level") is not None else _NONE),
        ("embedding", _e(config.get("embedding")) or _NONE),
        ("k", _e(config.get("k")) or _NONE),
        ("judge", _e(config.get("judge")) or "none"),
        ("date", date),
        ("machine", _e(config.get("machine")) or _NONE),
        ("items", _e(n_items)),
        ("baselines", ", ".join(_e(n) for n in _baselines(report)) or "none"),
    ]
    problems = dataset.get("problems") or []
    if isinstance(problems, str):
        problems = [problems]
    if problems:
        listed = "".join(f"<li>{_e(p)}</li>" for p in problems)
        problem_html = (
            f'<details><summary class="bad">{len(problems)} problem(s) while loading</summary>'
            f'<ul class="problems">{listed}</ul></details>'
        )
    else:
        problem_html = "none"
    rows.append(("problems", problem_html))
    meta = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    title = _e(dataset.get("name")) or "evaluation"
    return (
        f'<section><h1>{title}</h1><p class="muted">Evaluation report (schema '
        f'{_e(report.get("schema", "?"))})</p><div class="panel"><dl class="meta">{meta}</dl>'
        "</div></section>"
    )


def _cards(report: dict) -> str:
    summary = report.get("summary") or {}
    cards = []
    for key, _item_key in MAIN_METRICS:
        if key in summary:
            metric = next(m for m in CATALOG if m.key == key)
            cards.append(
                f'<div class="card"><div class="big">{_fmt(summary[key], metric)}</div>'
                f"{_e(key)}</div>"
            )
    return f'<div class="cards">{"".join(cards)}</div>' if cards else ""


def _summary_table(report: dict) -> str:
    summary = report.get("summary") or {}
    baselines = _baselines(report)
    metrics = _present_metrics(report)
    head = '<th>metric</th><th class="num">ours</th>'
    for name in baselines:
        head += f'<th class="num">{_e(name)}</th><th class="num">Δ vs {_e(name)}</th>'
    head += "<th>dir</th><th>description</th>"
    body = []
    for metric in metrics:
        ours = summary.get(metric.key)
        cells = f'<td>{_e(metric.key)}</td><td class="num">{_fmt(ours, metric)}</td>'
        for baseline in baselines.values():
            theirs = (baseline.get("summary") or {}).get(metric.key)
            a, b = _num(ours), _num(theirs)
            delta = a - b if a is not None and b is not None else None
            cells += (
                f'<td class="num">{_fmt(theirs, metric)}</td>'
                f'<td class="num {_delta_class(delta, metric)}">{_fmt_delta(delta, metric)}</td>'
            )
        direction = "higher is better" if metric.higher_is_better else "lower is better"
        cells += (
            f'<td title="{direction}">{_arrow(metric)}</td>'
            f'<td class="muted">{_e(metric.description)}</td>'
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{4 + 2 * len(baselines)}">no metrics</td></tr>')
    note = (
        '<p class="legend">Δ = ours − baseline; green is better, red is worse, in the '
        "metric's direction (↑ higher is better, ↓ lower is better).</p>"
        if baselines
        else ""
    )
    descriptions = {b: baselines[b].get("description") for b in baselines}
    described = "".join(
        f"<li><b>{_e(name)}</b>: {_e(text)}</li>" for name, text in descriptions.items() if text
    )
    described_html = f'<ul class="legend">{described}</ul>' if described else ""
    other = {
        k: v
        for k, v in summary.items()
        if k != "items" and not any(m.key == k for m in CATALOG) and _num(v) is not None
    }
    other_html = ""
    if other:
        other_rows = "".join(
            f'<tr><td>{_e(k)}</td><td class="num">{_fmt(v)}</td></tr>' for k, v in other.items()
        )
        other_html = (
            "<details><summary>other figures</summary><div class=\"table-wrap\"><table>"
            f"{other_rows}</table></div></details>"
        )
    return (
        f'<section id="summary"><h2>Summary</h2>{_cards(report)}{note}<div class="table-wrap">'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{described_html}{other_html}</section>"
    )


def _family_charts(report: dict) -> str:
    summary = report.get("summary") or {}
    baselines = _baselines(report)
    series = ["ours", *baselines]
    colours = [_OURS_COLOUR, *_BASELINE_COLOURS]
    metrics = _present_metrics(report)
    panels = []
    for family in FAMILIES:
        members = [m for m in metrics if m.family == family]
        if not members:
            continue
        rows: list[Row] = []
        for metric in members:
            values = [_num(summary.get(metric.key))] + [
                _num((b.get("summary") or {}).get(metric.key)) for b in baselines.values()
            ]
            present = [v for v in values if v is not None]
            if metric.aggregate == "mean":
                scale = max(1.0, *present) if present else 1.0
            else:
                scale = max(present) if present else 1.0

            def fmt(value: float, metric: MetricSpec = metric) -> str:
                return _fmt(value, metric)

            rows.append((f"{metric.key} {_arrow(metric)}", values, scale, fmt))
        panels.append(
            f'<div class="panel"><h3>{_e(family)}</h3>{_legend(series, colours)}'
            f"{_bar_chart(rows, series=series, colours=colours, label=f'{family} metrics')}</div>"
        )
    if not panels:
        return ""
    return (
        '<section id="families"><h2>By metric family</h2><p class="legend">Scores are drawn on '
        "0..1; counts and latency on their largest value.</p>"
        f'<div class="grid">{"".join(panels)}</div></section>'
    )


def _groups(items: list[dict], key: Callable[[dict], list[str]]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for item in items:
        for name in key(item) or [_NONE]:
            groups.setdefault(name, []).append(item)
    return groups


def _breakdown(
    title: str,
    anchor: str,
    groups: dict[str, list[dict]],
    metrics: tuple[tuple[str, str], ...] = MAIN_METRICS,
) -> str:
    if not groups:
        return ""
    used = [
        (key, item_key)
        for key, item_key in metrics
        if any(_item_value(i, item_key) is not None for g in groups.values() for i in g)
    ]
    head = "<th>" + _e(anchor) + '</th><th class="num">items</th>' + "".join(
        f'<th class="num">{_e(key)}</th>' for key, _ in used
    )
    body, rows = [], []
    for name, members in groups.items():
        means = [_mean(_item_value(i, item_key) for i in members) for _, item_key in used]
        cells = "".join(
            f'<td class="num">{_NONE if v is None else f"{v:.3f}"}</td>' for v in means
        )
        body.append(
            f'<tr><td>{_e(name)}</td><td class="num">{len(members)}</td>{cells}</tr>'
        )
        rows.append((f"{name} (n={len(members)})", means, 1.0, lambda v: f"{v:.2f}"))
    chart = ""
    if used:
        names = [key for key, _ in used]
        colours = list(_MAIN_COLOURS)
        chart = _legend(names, colours) + _bar_chart(
            rows, series=names, colours=colours, label=f"main metrics by {anchor}"
        )
    return (
        f'<h2>{_e(title)}</h2><div class="split"><div class="table-wrap"><table><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f'<div class="panel">{chart or "<span class=muted>no per-item scores</span>"}</div>'
        "</div>"
    )


def _breakdowns(report: dict) -> str:
    items = [i for i in report.get("items") or [] if isinstance(i, dict)]
    if not items:
        return ""
    default_level = (report.get("config") or {}).get("level")

    def lessons(item: dict) -> list[str]:
        gold = item.get("gold_sources") or []
        return [str(g) for g in gold] if isinstance(gold, list) else [str(gold)]

    def level(item: dict) -> list[str]:
        value = item.get("level", default_level)
        return [f"Lv{value}"] if value is not None else []

    by_lesson = dict(sorted(_groups(items, lessons).items()))
    by_level = dict(sorted(_groups(items, level).items()))
    if any("position" in i for i in items):  # a dialogue report: one item per turn
        by_position = dict(sorted(_groups(items, lambda i: [str(i.get("position"))]).items()))
        by_kind = dict(sorted(_groups(items, lambda i: [str(i.get("kind"))]).items()))
        metrics = DIALOGUE_MAIN_METRICS
        return (
            '<section id="breakdown">'
            + _breakdown("By turn position", "position", by_position, metrics)
            + _breakdown("By turn kind (gold)", "kind", by_kind, metrics)
            + _breakdown("By lesson (gold source)", "lesson", by_lesson, metrics)
            + "</section>"
        )
    return (
        '<section id="breakdown">'
        + _breakdown("By lesson (gold source)", "lesson", by_lesson)
        + _breakdown("By level", "level", by_level)
        + "</section>"
    )


def _goodness(item_key: str, value: float) -> float | None:
    """How good an item's metric value is on 0..1 (1 = best), for ranking the worst items."""
    if item_key in _UNRANKED_ITEM_KEYS:
        return None
    metric = next((m for m in CATALOG if m.item_key == item_key), None)
    if metric is None:
        return None
    if metric.aggregate == "sum":  # a count per item (0 or 1 leak): any is bad
        good = 1.0 - min(value, 1.0) if not metric.higher_is_better else min(value, 1.0)
    else:
        good = value if metric.higher_is_better else 1.0 - value
    return max(0.0, min(good, 1.0))


def _rank_key(item: dict) -> tuple[float, float] | None:
    scores = []
    for item_key, metric in (item.get("metrics") or {}).items():
        value = _num(metric.get("value")) if isinstance(metric, dict) else None
        good = _goodness(str(item_key), value) if value is not None else None
        if good is not None:
            scores.append(good)
    if not scores or min(scores) >= 1.0:
        return None
    return (min(scores), sum(scores) / len(scores))


def _options(item: dict, baselines: list[str]) -> str:
    options = item.get("options")
    if not isinstance(options, list) or not options:
        return ""
    right, picked = item.get("answer_index"), item.get("picked")
    runs = item.get("baselines") if isinstance(item.get("baselines"), dict) else {}
    base_picks = {
        name: run.get("picked") for name in baselines if isinstance(run := runs.get(name), dict)
    }
    lis = []
    for i, option in enumerate(options):
        tags, cls = [], ""
        if i == right:
            tags.append('<span class="tag right">✓ right</span>')
            cls = ' class="right"'
        if i == picked:
            kind = "picked" if i == right else "wrong"
            tags.append(f'<span class="tag {kind}">← ours</span>')
        for name, pick in base_picks.items():
            if pick == i:
                tags.append(f'<span class="tag base">{_e(name)}</span>')
        lis.append(f"<li{cls}>{_e(option)} {''.join(tags)}</li>")
    note = "" if picked is not None else '<p class="muted">ours picked no option</p>'
    return f'<ol class="options" type="A">{"".join(lis)}</ol>{note}'


def _metric_rows(metrics: dict) -> str:
    order = {m.item_key: i for i, m in enumerate(CATALOG)}
    rows = []
    for item_key in sorted(metrics, key=lambda k: (order.get(k, len(order)), str(k))):
        metric = metrics[item_key]
        if not isinstance(metric, dict):
            continue
        value = _num(metric.get("value"))
        spec = next((m for m in CATALOG if m.item_key == item_key), None)
        good = _goodness(str(item_key), value) if value is not None else None
        cls = "" if good is None else ("good" if good >= 1.0 else "bad")
        details = metric.get("details")
        details_html = (
            "<details><summary>details</summary><pre class=\"passage\">"
            f"{_e(json.dumps(details, ensure_ascii=False, indent=1))}</pre></details>"
            if details
            else ""
        )
        rows.append(
            f'<tr><td>{_e(item_key)}</td>'
            f'<td class="num {cls}">{_fmt(metric.get("value"), spec)}</td>'
            f"<td>{_e(metric.get('reason'))}{details_html}</td></tr>"
        )
    if not rows:
        return ""
    return (
        '<div class="table-wrap"><table><thead><tr><th>metric</th><th class="num">value</th>'
        f"<th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _contexts(item: dict) -> str:
    contexts = [c for c in item.get("contexts") or [] if isinstance(c, dict)]
    if not contexts:
        return ""
    gold = {str(g) for g in item.get("gold_sources") or []}
    parts = []
    for ctx in contexts:
        where = " › ".join(_e(ctx.get(k)) for k in ("title", "heading") if ctx.get(k))
        gold_tag = '<span class="tag right">gold</span>' if str(ctx.get("source")) in gold else ""
        parts.append(
            f"<div><b>[{_e(ctx.get('n'))}]</b> <span class=\"tag\">{_e(ctx.get('source'))}</span>"
            f"{gold_tag} <span class=\"muted\">{where}</span>"
            f"<pre class=\"passage\">{_e(ctx.get('text'))}</pre></div>"
        )
    return f"<details><summary>contexts ({len(contexts)})</summary>{''.join(parts)}</details>"


def _baseline_rows(item: dict) -> str:
    baselines = item.get("baselines")
    if not isinstance(baselines, dict) or not baselines:
        return ""
    parts = []
    for name, run in baselines.items():
        if not isinstance(run, dict):
            continue
        parts.append(f"<h3>{_e(name)}</h3>")
        if run.get("answer"):
            parts.append(f"<pre class=\"answer\">{_e(run.get('answer'))}</pre>")
        parts.append(_metric_rows(run.get("metrics") or {}))
    return f"<details><summary>baselines on this item</summary>{''.join(parts)}</details>"


def _item(item: dict, rank: tuple[float, float], baselines: list[str]) -> str:
    tags = "".join(
        f'<span class="tag">{_e(s)}</span>' for s in item.get("gold_sources") or []
    )
    if item.get("level") is not None:
        tags += f'<span class="tag lv">Lv{_e(item.get("level"))}</span>'
    for key in ("lang", "mode"):
        if item.get(key):
            tags += f'<span class="tag base">{_e(item.get(key))}</span>'
    answer = item.get("answer")
    earlier = item.get("history")
    context_html = ""
    if isinstance(earlier, list) and earlier:
        turns = "".join(f"<li>{_e(t)}</li>" for t in earlier)
        context_html = f'<ol class="problems muted">{turns}</ol>'
    decided = item.get("decided")
    if isinstance(decided, dict):
        context_html += (
            f'<p class="muted">turn kind {_e(item.get("kind"))}; decided '
            f"{_e(decided.get('kind'))}: {_e(decided.get('reason'))}; searched "
            f"“{_e(decided.get('query'))}”</p>"
        )
    answer_html = (
        f'<pre class="answer">{_e(answer)}</pre>'
        if answer
        else '<p class="muted">no answer</p>'
    )
    return (
        f'<article class="item"><header><span class="qid">{_e(item.get("id")) or _NONE}</span>'
        f'{tags}<span class="muted">worst score {rank[0]:.2f}, mean {rank[1]:.2f}</span>'
        f"</header>{context_html}<div class=\"question\">{_e(item.get('question'))}</div>"
        f"{_options(item, baselines)}{answer_html}{_metric_rows(item.get('metrics') or {})}"
        f"{_contexts(item)}{_baseline_rows(item)}</article>"
    )


def _worst_items(report: dict, *, worst: int) -> str:
    items = [i for i in report.get("items") or [] if isinstance(i, dict)]
    if not items:
        return ""
    ranked = [(k, n, i) for n, i in enumerate(items) if (k := _rank_key(i)) is not None]
    ranked.sort(key=lambda t: (t[0], t[1]))
    shown = ranked[:worst]
    baselines = list(_baselines(report))
    intro = (
        f'<p class="muted">{len(ranked)} of {len(items)} items fall short on at least one '
        f"metric; the {len(shown)} lowest are shown, lowest score first.</p>"
        if ranked
        else '<p class="muted">Every item has full marks on every scored metric.</p>'
    )
    body = "".join(_item(i, k, baselines) for k, _n, i in shown)
    return f'<section id="worst"><h2>Worst items</h2>{intro}{body}</section>'


def _page_lang(report: dict) -> str:
    langs = [i.get("lang") for i in report.get("items") or [] if isinstance(i, dict)]
    return "ko" if langs and langs.count("ko") * 2 > len(langs) else "en"


def render_report_html(report: dict, *, worst: int = 20) -> str:
    """``report.json`` (schema 1) as one self-contained HTML page.

    ``worst`` caps the number of items shown in the "worst items" section.
    """
    dataset = report.get("dataset") or {}
    title = f"kdt-tutor eval · {dataset.get('name') or 'report'}"
    return (
        f'<!doctype html>\n<html lang="{_page_lang(report)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        '<header class="topbar"><div class="brand"><span class="logo">K</span>kdt-tutor '
        'evaluation</div><nav class="legend"><a href="#summary">summary</a> · '
        '<a href="#families">families</a> · <a href="#breakdown">breakdown</a> · '
        '<a href="#worst">worst items</a></nav></header><main class="container">'
        f"{_header(report)}{_summary_table(report)}{_family_charts(report)}"
        f"{_breakdowns(report)}{_worst_items(report, worst=worst)}</main>"
        '<footer class="footer">generated by kdt-tutor eval · self-contained, no external '
        "resources</footer></body></html>\n"
    )

"""Charts drawn on the server as SVG text: a mastery heatmap, bar charts and a line chart.

Pure functions from numbers and labels to one ``<svg>`` string, so pages can inline them
(no JavaScript, no CDN) and the API can serve them as ``image/svg+xml``.

- Every text and attribute value is escaped (``&<>"'``), and the characters XML 1.0 does
  not allow at all (C0 controls but tab and newlines, lone surrogates, U+FFFE/U+FFFF) are
  dropped, so a trainee's display name or a test's name cannot break or script the chart.
- Korean is safe: the text is UTF-8, the font stack names Korean system fonts, and label
  widths are estimated with wide (Hangul, CJK) characters counted as a full em, so labels
  are cut (``…``, full text kept in the ``<title>`` tooltip) before they overlap.
- Heatmap colours are a fixed, colour-blind-safe sequential scale (ColorBrewer YlGnBu),
  with a separate colour for "no evidence yet" and the darkest one for mastered skills
  (``mastery_fill``); the legend under the chart says so.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence

FONT = (
    "system-ui, 'Noto Sans KR', 'NanumGothic', 'Malgun Gothic', 'Apple SD Gothic Neo', sans-serif"
)
NO_DATA_COLOR = "#eeeeee"
# (upper bound, fill) for mastery below the threshold; mastered cells get MASTERED_COLOR.
MASTERY_BINS: tuple[tuple[float, str], ...] = (
    (0.2, "#ffffcc"),
    (0.4, "#c7e9b4"),
    (0.6, "#7fcdbb"),
    (0.8, "#41b6c4"),
    (math.inf, "#1d91c0"),
)
MASTERED_COLOR = "#0c2c84"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
SERIES_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")
BAR_COLOR = "#0072b2"
TEXT_COLOR = "#222222"
GRID_COLOR = "#dddddd"

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(text: object) -> str:
    """``text`` as safe SVG/XML character data or attribute value."""
    return html.escape(_XML_ILLEGAL.sub("", str(text)), quote=True)


def text_width(text: str, size: float) -> float:
    """Estimated rendered width in px: wide (Hangul, CJK) characters 1 em, others 0.6 em."""
    return sum(
        size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.6 for ch in text
    )


def fit_text(text: str, size: float, max_width: float) -> str:
    """``text`` cut with ``…`` so that it fits ``max_width`` px (whitespace collapsed)."""
    text = " ".join(str(text).split())
    if text_width(text, size) <= max_width:
        return text
    budget = max_width - text_width("…", size)
    out, used = [], 0.0
    for ch in text:
        w = text_width(ch, size)
        if used + w > budget:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def mastery_fill(value: float | None, *, threshold: float = 0.95) -> str:
    """The heatmap colour of one cell: ``None`` = no evidence yet."""
    if value is None:
        return NO_DATA_COLOR
    if value >= threshold:
        return MASTERED_COLOR
    for upper, color in MASTERY_BINS:
        if value < upper:
            return color
    return MASTERY_BINS[-1][1]  # pragma: no cover - the last bound is infinite


def _num(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _open(width: float, height: float, label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" '
        f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
        f'aria-label="{esc(label)}" font-family="{FONT}" font-size="12" fill="{TEXT_COLOR}">',
        f"<title>{esc(label)}</title>",
    ]


def _title_line(title: str, width: float) -> list[str]:
    if not title:
        return []
    shown = esc(fit_text(title, 14, width - 16))
    return [f'<text x="8" y="18" font-size="14" font-weight="600">{shown}</text>']


def nice_ticks(maximum: float, *, count: int = 5, integer: bool = False) -> list[float]:
    """0 and round steps (1, 2 or 5 × 10^k) up to at least ``maximum``; with ``integer``
    (counts) the step is at least 1."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = max(maximum / count, 1.0) if integer else maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    top = math.ceil(maximum / step - 1e-9) * step
    n = round(top / step)
    return [round(i * step, 10) for i in range(n + 1)]


def _tick_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- heatmap -------------------------------------------------------------------------------------
def heatmap_svg(
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    title: str = "",
    threshold: float = 0.95,
    column_groups: Sequence[str] | None = None,
    row_links: Sequence[str | None] | None = None,
    cell: int = 12,
    legend: tuple[str, str, str] = ("no evidence", "mastery", "mastered"),
) -> str:
    """Rows × columns of cells coloured by ``mastery_fill`` (each with a tooltip).

    ``column_groups`` (e.g. the skills' levels) draws a separator and a label where the
    group changes; ``row_links`` makes each row label a link (for pages inlining the SVG).
    ``legend`` is (no data, scale, mastered) in the page's language.
    """
    if len(values) != len(rows) or any(len(r) != len(columns) for r in values):
        raise ValueError("values must have one row per row label and one value per column")
    if column_groups is not None and len(column_groups) != len(columns):
        raise ValueError("column_groups needs one group per column")
    if row_links is not None and len(row_links) != len(rows):
        raise ValueError("row_links needs one link per row")
    size = 11
    label_w = min(180.0, max([text_width(r, size) for r in rows] + [40.0]) + 8)
    col_label_h = min(130.0, max([text_width(c, size) for c in columns] + [20.0])) * 0.87 + 8
    top = (28 if title else 8) + (16 if column_groups else 0) + col_label_h
    left = label_w + 8
    grid_w = cell * len(columns)
    width = max(left + grid_w + 12, 460)
    height = top + cell * len(rows) + 56
    out = _open(width, height, title or "heatmap")
    out += _title_line(title, width)
    # Column labels, rotated so that many narrow columns stay readable.
    out.append(f'<g font-size="{size}">')
    for j, name in enumerate(columns):
        x = left + j * cell + cell / 2 + 3
        shown = esc(fit_text(name, size, 140))
        out.append(
            f'<text x="{_num(x)}" y="{_num(top - 4)}" '
            f'transform="rotate(-60 {_num(x)} {_num(top - 4)})">{shown}<title>{esc(name)}'
            f"</title></text>"
        )
    out.append("</g>")
    if column_groups:
        start = 0
        for j in range(1, len(columns) + 1):
            if j == len(columns) or column_groups[j] != column_groups[start]:
                x0 = left + start * cell
                label = fit_text(column_groups[start], 10, max(cell * (j - start) - 2, 10))
                out.append(
                    f'<text x="{_num(x0 + 1)}" y="{_num((28 if title else 8) + 10)}" '
                    f'font-size="10" font-weight="600">{esc(label)}'
                    f"<title>{esc(column_groups[start])}</title></text>"
                )
                if start:
                    out.append(
                        f'<line x1="{_num(x0)}" y1="{_num(28 if title else 8)}" '
                        f'x2="{_num(x0)}" y2="{_num(top + cell * len(rows))}" '
                        f'stroke="{TEXT_COLOR}" stroke-width="1"/>'
                    )
                start = j
    # Rows: label + cells (names escaped and coordinates formatted once: thousands of cells).
    xs = [_num(left + j * cell) for j in range(len(columns))]
    column_text = [esc(c) for c in columns]
    for i, (name, row) in enumerate(zip(rows, values, strict=True)):
        y = top + i * cell
        name_text = esc(name)
        shown = esc(fit_text(name, size, label_w - 8))
        label = (
            f'<text x="{_num(left - 6)}" y="{_num(y + cell - 2)}" text-anchor="end" '
            f'font-size="{size}">{shown}<title>{name_text}</title></text>'
        )
        link = row_links[i] if row_links is not None else None
        out.append(f'<a href="{esc(link)}">{label}</a>' if link else label)
        out.append(f'<g class="row" data-row="{i}">')
        size_attrs = f'" y="{_num(y)}" width="{cell}" height="{cell}" fill="'
        out.extend(
            f'<rect x="{xs[j]}{size_attrs}{mastery_fill(value, threshold=threshold)}"><title>'
            f"{name_text} · {column_text[j]}: "
            f"{'—' if value is None else f'{value:.2f}'}</title></rect>"
            for j, value in enumerate(row)
        )
        out.append("</g>")
    out.append(
        f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(grid_w)}" '
        f'height="{_num(cell * len(rows))}" fill="none" stroke="{GRID_COLOR}"/>'
    )
    out += _heatmap_legend(left, top + cell * len(rows) + 18, threshold, legend)
    out.append("</svg>")
    return "\n".join(out)


def _heatmap_legend(
    x: float, y: float, threshold: float, legend: tuple[str, str, str]
) -> list[str]:
    no_data, scale, mastered = legend
    out = ['<g class="legend" font-size="11">']
    out.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="12" height="12" fill="{NO_DATA_COLOR}"/>')
    out.append(f'<text x="{_num(x + 16)}" y="{_num(y + 10)}">{esc(no_data)}</text>')
    x += 24 + text_width(no_data, 11)
    out.append(f'<text x="{_num(x)}" y="{_num(y + 10)}">{esc(scale)} 0</text>')
    x += 8 + text_width(f"{scale} 0", 11)
    for _upper, color in MASTERY_BINS:
        out.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="16" height="12" fill="{color}"/>')
        x += 16
    out.append(f'<text x="{_num(x + 4)}" y="{_num(y + 10)}">{_tick_label(threshold)}</text>')
    x += 16 + text_width(_tick_label(threshold), 11)
    out.append(
        f'<rect x="{_num(x)}" y="{_num(y)}" width="16" height="12" fill="{MASTERED_COLOR}"/>'
    )
    out.append(f'<text x="{_num(x + 20)}" y="{_num(y + 10)}">{esc(mastered)}</text>')
    out.append("</g>")
    return out


# --- bars ----------------------------------------------------------------------------------------
def bar_chart_svg(
    *,
    labels: Sequence[str],
    values: Sequence[float],
    title: str = "",
    horizontal: bool = False,
    color: str = BAR_COLOR,
    integer: bool = False,
) -> str:
    """One bar per label, its value written at its end; vertical bars for a few short
    labels (e.g. levels), horizontal ones for many or long labels (e.g. lesson titles).
    ``integer``: the values are counts (whole-number ticks)."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    if any(v < 0 or not math.isfinite(v) for v in values):
        raise ValueError("bar values must be finite and not negative")
    ticks = nice_ticks(max(values, default=0), integer=integer)
    top_value = ticks[-1]
    if horizontal:
        return _hbars(labels, values, title=title, color=color, ticks=ticks, top=top_value)
    size = 12
    slot = max(44.0, max([text_width(label, size) for label in labels] + [0]) + 12)
    slot = min(slot, 120.0)
    left, plot_h = 44.0, 180.0
    top = 36.0 if title else 16.0
    width = max(left + slot * len(labels) + 16, 240)
    height = top + plot_h + 40
    out = _open(width, height, title or "bar chart")
    out += _title_line(title, width)
    out += _y_axis(left, top, plot_h, width - 8, ticks)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top_value if top_value else 0
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y = top + plot_h - h
        out.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" '
            f'fill="{color}"><title>{esc(label)}: {_tick_label(value)}</title></rect>'
        )
        out.append(
            f'<text x="{_num(x + w / 2)}" y="{_num(y - 4)}" text-anchor="middle">'
            f"{_tick_label(value)}</text>"
        )
        out.append(
            f'<text x="{_num(x + w / 2)}" y="{_num(top + plot_h + 16)}" text-anchor="middle">'
            f"{esc(fit_text(label, size, slot - 4))}<title>{esc(label)}</title></text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _hbars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    color: str,
    ticks: list[float],
    top: float,
) -> str:
    size, bar = 12, 18
    label_w = min(260.0, max([text_width(label, size) for label in labels] + [40.0]) + 8)
    plot_w = 320.0
    y0 = 36.0 if title else 12.0
    left = label_w + 8
    width = left + plot_w + 56
    height = y0 + (bar + 6) * len(labels) + 28
    out = _open(width, height, title or "bar chart")
    out += _title_line(title, width)
    bottom = y0 + (bar + 6) * len(labels)
    for t in ticks:
        x = left + plot_w * t / top if top else left
        out.append(
            f'<line x1="{_num(x)}" y1="{_num(y0)}" x2="{_num(x)}" y2="{_num(bottom)}" '
            f'stroke="{GRID_COLOR}"/>'
        )
        out.append(
            f'<text x="{_num(x)}" y="{_num(bottom + 14)}" text-anchor="middle" font-size="10">'
            f"{_tick_label(t)}</text>"
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = y0 + i * (bar + 6)
        w = plot_w * value / top if top else 0
        out.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + bar - 5)}" text-anchor="end">'
            f"{esc(fit_text(label, size, label_w - 8))}<title>{esc(label)}</title></text>"
        )
        out.append(
            f'<rect x="{_num(left)}" y="{_num(y)}" width="{_num(w)}" height="{bar}" '
            f'fill="{color}"><title>{esc(label)}: {_tick_label(value)}</title></rect>'
        )
        out.append(
            f'<text x="{_num(left + w + 4)}" y="{_num(y + bar - 5)}">{_tick_label(value)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _y_axis(left: float, top: float, plot_h: float, right: float, ticks: list[float]) -> list[str]:
    out = []
    high = ticks[-1] or 1
    for t in ticks:
        y = top + plot_h - plot_h * t / high
        out.append(
            f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(right)}" y2="{_num(y)}" '
            f'stroke="{GRID_COLOR}"/>'
        )
        out.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + 4)}" text-anchor="end" font-size="10">'
            f"{_tick_label(t)}</text>"
        )
    return out


# --- lines ---------------------------------------------------------------------------------------
def line_chart_svg(
    *,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str = "",
    integer: bool = False,
) -> str:
    """One line per (name, values) over the shared ``x_labels`` (e.g. week starts), with a
    point and tooltip per value and a legend. ``integer``: the values are counts."""
    for name, points in series:
        if len(points) != len(x_labels):
            raise ValueError(f"series {name!r} needs one value per x label")
        if any(not math.isfinite(v) for v in points):
            raise ValueError(f"series {name!r} has a value that is not finite")
    ticks = nice_ticks(max((v for _n, pts in series for v in pts), default=0), integer=integer)
    high = ticks[-1] or 1
    left, plot_h = 44.0, 200.0
    top = 36.0 if title else 16.0
    step = 56.0 if len(x_labels) <= 12 else max(24.0, 672.0 / max(len(x_labels), 1))
    plot_w = step * max(len(x_labels) - 1, 1)
    legend_y = top + plot_h + 40
    width = max(left + plot_w + 40, 320)
    height = legend_y + 18 * ((len(series) + 2) // 3) + 8
    out = _open(width, height, title or "line chart")
    out += _title_line(title, width)
    out += _y_axis(left, top, plot_h, left + plot_w + 8, ticks)
    every = max(1, math.ceil(len(x_labels) / 12))
    for i, label in enumerate(x_labels):
        if i % every:
            continue
        x = left + (step * i if len(x_labels) > 1 else plot_w / 2)
        out.append(
            f'<text x="{_num(x)}" y="{_num(top + plot_h + 16)}" text-anchor="middle" '
            f'font-size="10">{esc(fit_text(label, 10, step * every - 4))}</text>'
        )
    for k, (name, points) in enumerate(series):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        coords = [
            (left + (step * i if len(points) > 1 else plot_w / 2), top + plot_h - plot_h * v / high)
            for i, v in enumerate(points)
        ]
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)
        out.append(f'<g class="series" data-series="{k}">')
        if len(coords) > 1:
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), label, v in zip(coords, x_labels, points, strict=True):
            out.append(
                f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{color}"><title>'
                f"{esc(name)} · {esc(label)}: {_tick_label(v)}</title></circle>"
            )
        out.append("</g>")
        lx = 8 + (k % 3) * ((width - 16) / 3)
        ly = legend_y + 18 * (k // 3)
        out.append(f'<rect x="{_num(lx)}" y="{_num(ly)}" width="12" height="12" fill="{color}"/>')
        out.append(
            f'<text x="{_num(lx + 16)}" y="{_num(ly + 10)}">'
            f"{esc(fit_text(name, 12, (width - 16) / 3 - 20))}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)

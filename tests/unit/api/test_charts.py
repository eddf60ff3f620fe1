"""Server-side SVG charts: well-formed XML, escaped text, the right cells, bars and lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from api.charts import (
    MASTERED_COLOR,
    NO_DATA_COLOR,
    bar_chart_svg,
    fit_text,
    heatmap_svg,
    line_chart_svg,
    mastery_fill,
    nice_ticks,
    text_width,
)

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    """The visible text of each <text> (without its <title> tooltip)."""
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


# --- heatmap -------------------------------------------------------------------------------------
def test_a_two_by_three_heatmap_has_six_cells_coloured_by_value() -> None:
    svg = heatmap_svg(
        rows=["kim", "lee"],
        columns=["variables", "loops", "lists"],
        values=[[0.1, 0.5, 0.97], [None, 0.3, 0.85]],
        threshold=0.95,
    )

    rows = parse(svg).findall(".//s:g[@class='row']", NS)
    fills = [[r.get("fill") for r in row.findall("s:rect", NS)] for row in rows]
    assert fills == [
        ["#ffffcc", "#7fcdbb", MASTERED_COLOR],
        [NO_DATA_COLOR, "#c7e9b4", "#1d91c0"],
    ]
    tooltips = ["".join(r.itertext()) for r in rows[1].findall("s:rect", NS)]
    assert tooltips == ["lee · variables: —", "lee · loops: 0.30", "lee · lists: 0.85"]


def test_cells_are_laid_out_on_a_grid() -> None:
    svg = heatmap_svg(rows=["a", "b"], columns=["x", "y", "z"], values=[[0, 0, 0]] * 2, cell=10)

    rects = parse(svg).findall(".//s:g[@class='row']/s:rect", NS)
    xs = sorted({float(r.get("x")) for r in rects})
    ys = sorted({float(r.get("y")) for r in rects})
    assert len(rects) == 6
    assert [x - xs[0] for x in xs] == [0, 10, 20] and [y - ys[0] for y in ys] == [0, 10]
    assert all(r.get("width") == "10" and r.get("height") == "10" for r in rects)


@pytest.mark.parametrize(
    ("value", "fill"),
    [
        (0.0, "#ffffcc"),
        (0.2, "#c7e9b4"),
        (0.59, "#7fcdbb"),
        (0.8, "#1d91c0"),
        (0.9499, "#1d91c0"),
        (0.95, MASTERED_COLOR),
        (1.0, MASTERED_COLOR),
        (None, NO_DATA_COLOR),
    ],
)
def test_mastery_fill_bins(value, fill) -> None:
    assert mastery_fill(value, threshold=0.95) == fill


def test_a_lower_threshold_marks_more_cells_mastered() -> None:
    assert mastery_fill(0.85, threshold=0.8) == MASTERED_COLOR
    assert mastery_fill(0.85, threshold=0.95) != MASTERED_COLOR


def test_hostile_labels_are_escaped_and_stay_text() -> None:
    evil = "<script>alert(\"x\")</script> & \x01'quote'"
    svg = heatmap_svg(
        rows=[evil],
        columns=['"><img src=x onerror=alert(1)>'],
        values=[[0.5]],
        title="</svg><script>1</script>",
        row_links=['javascript:"x"'],
    )

    root = parse(svg)
    assert "<script" not in svg and "<img" not in svg and "\x01" not in svg
    assert root.find(".//s:script", NS) is None and root.find(".//s:img", NS) is None
    # The full text survives (in the tooltip), minus the control character XML cannot hold.
    titles = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "<script>alert(\"x\")</script> & 'quote'" in titles
    link = root.find(".//s:a", NS)
    assert link.get("href") == 'javascript:"x"'  # an attribute value, escaped, not markup


def test_korean_labels_are_kept_and_long_ones_cut_with_the_full_text_in_the_tooltip() -> None:
    long_name = "아주아주 긴 이름을 가진 교육생 홍길동입니다 정말로 길어요"
    svg = heatmap_svg(
        rows=["김민지", long_name], columns=["변수", "반복문"], values=[[1, 0], [0, 1]]
    )

    root = parse(svg)
    shown = texts(root)
    assert any(t.startswith("김민지") for t in shown)
    label = next(
        t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text.startswith("아주")
    )
    assert label.text.endswith("…") and len(label.text) < len(long_name)
    assert label.find("s:title", NS).text == long_name  # the tooltip holds it whole
    assert "Noto Sans KR" in root.get("font-family")


def test_text_width_counts_hangul_as_wide() -> None:
    assert text_width("가나", 10) == 20
    assert text_width("ab", 10) == 12
    assert fit_text("가나다라마바사", 10, 35) == "가나…"  # "…" takes 6 px, each syllable 10


def test_column_groups_draw_one_separator_per_change() -> None:
    svg = heatmap_svg(
        rows=["a"],
        columns=["s1", "s2", "s3", "s4", "s5", "s6"],
        values=[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]],
        column_groups=["Lv1", "Lv1", "Lv1", "Lv2", "Lv2", "Lv3"],
        cell=12,
    )

    root = parse(svg)
    assert len(root.findall(".//s:line", NS)) == 2
    groups = [
        t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("font-size") == "10"
    ]
    # A one-column group is too narrow for its label: cut, with the label in the tooltip.
    assert [t.text for t in groups] == ["Lv1", "Lv2", "…"]
    assert groups[2].find("s:title", NS).text == "Lv3"


def test_heatmap_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        heatmap_svg(rows=["a", "b"], columns=["x"], values=[[0.1]])
    with pytest.raises(ValueError):
        heatmap_svg(rows=["a"], columns=["x", "y"], values=[[0.1]])


# --- bars ----------------------------------------------------------------------------------------
def test_vertical_bars_are_proportional_to_their_values() -> None:
    svg = bar_chart_svg(labels=["Lv1", "Lv2", "Lv3"], values=[2, 4, 0], title="레벨별")

    root = parse(svg)
    bars = [r for r in root.findall("s:rect", NS)]
    heights = [float(r.get("height")) for r in bars]
    assert len(bars) == 3
    assert heights[1] == pytest.approx(2 * heights[0]) and heights[2] == 0
    assert {"Lv1", "Lv2", "Lv3", "레벨별"} <= set(texts(root))


def test_horizontal_bars_cut_long_titles_and_escape_them() -> None:
    title = "Lesson <b>&</b> " + "x" * 200
    svg = bar_chart_svg(labels=[title, "짧은 레슨"], values=[3, 1], horizontal=True)

    root = parse(svg)
    widths = [float(r.get("width")) for r in root.findall("s:rect", NS)]
    assert widths[0] == pytest.approx(3 * widths[1], abs=0.2)  # coordinates keep one decimal
    assert "<b>" not in svg
    assert any(t.startswith("Lesson <b>&</b> x") and t.endswith("…") for t in texts(root))


def test_negative_bars_are_refused() -> None:
    with pytest.raises(ValueError):
        bar_chart_svg(labels=["a"], values=[-1])


# --- lines ---------------------------------------------------------------------------------------
def test_one_polyline_and_one_point_per_value() -> None:
    svg = line_chart_svg(
        x_labels=["11-02", "11-09", "11-16", "11-23"],
        series=[("Lv1", [0, 1, 3, 3]), ("Lv2", [0, 0, 1, 2])],
        title="도달",
    )

    root = parse(svg)
    lines = root.findall(".//s:polyline", NS)
    points = root.findall(".//s:circle", NS)
    assert len(lines) == 2 and len(points) == 8
    ys = [float(p.get("cy")) for p in points[:4]]
    assert ys[0] > ys[1] > ys[2] == ys[3]  # higher values are drawn higher up
    assert "Lv2 · 11-23: 2" in ["".join(p.itertext()) for p in points]


def test_a_series_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(ValueError):
        line_chart_svg(x_labels=["a", "b"], series=[("s", [1])])


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (7, [0, 2, 4, 6, 8]),
        (0, [0, 1]),
        (100, [0, 20, 40, 60, 80, 100]),
        (1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    ],
)
def test_nice_ticks(maximum, ticks) -> None:
    assert nice_ticks(maximum) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [(1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (0, [0, 1])],
)
def test_count_ticks_are_whole_numbers(maximum, ticks) -> None:
    assert nice_ticks(maximum, integer=True) == ticks


def test_a_count_chart_labels_only_whole_numbers() -> None:
    svg = bar_chart_svg(labels=["Lv1", "Lv2"], values=[1, 0], integer=True)

    assert [t for t in texts(parse(svg)) if t not in ("Lv1", "Lv2")] == ["0", "1", "1", "0"]

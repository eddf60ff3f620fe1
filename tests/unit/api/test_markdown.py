"""api/markdown.py: Markdown to safe HTML with highlighted code and citation chips."""

from __future__ import annotations

import re

import pytest

from api.markdown import allowed_link, code_css, render_markdown


def test_paragraphs_lists_and_line_breaks() -> None:
    html = render_markdown("First line\nsecond line\n\n- one\n- **two**\n\n1. a\n2. b")
    assert "<p>First line<br>\nsecond line</p>" in html
    assert "<ul>\n<li>one</li>\n<li><strong>two</strong></li>\n</ul>" in html
    assert "<ol>" in html
    assert "<br>" not in render_markdown("First line\nsecond line", breaks=False)


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<div onclick=alert(1)>block html</div>",
        "text <b onmouseover=alert(1)>inline</b> html",
    ],
)
def test_raw_html_is_escaped(source: str) -> None:
    html = render_markdown(source)
    assert not re.search(r"<(script|img|div|b)[\s>]", html)
    assert "&lt;" in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:someone@example.com",
        "file:///etc/passwd",
    ],
)
def test_links_other_than_http_and_relative_stay_text(url: str) -> None:
    html = render_markdown(f"[click]({url}) and ![pic]({url})")
    assert "<a " not in html
    assert "click" in html


def test_http_and_relative_links_are_kept_external_ones_open_apart() -> None:
    html = render_markdown("[docs](https://docs.python.org/3/) and [lesson](/learn?x=1&y=2)")
    assert (
        '<a href="https://docs.python.org/3/" target="_blank" '
        'rel="noopener noreferrer nofollow">docs</a>'
    ) in html
    assert '<a href="/learn?x=1&amp;y=2">lesson</a>' in html


def test_images_become_links_and_are_never_loaded() -> None:
    html = render_markdown("![a diagram](https://example.com/d.png)")
    assert "<img" not in html
    assert '<a href="https://example.com/d.png"' in html and ">a diagram</a>" in html


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com", True),
        ("HTTP://EXAMPLE.COM", True),
        ("/chat?c=1", True),
        ("lessons/05-lists.md#adding", True),
        ("#top", True),
        ("?q=x", True),
        ("javascript:alert(1)", False),
        ("mailto:a@b.c", False),
        ("ftp://example.com", False),
        ("jav%09ascript:alert(1)", False),
    ],
)
def test_allowed_link(url: str, allowed: bool) -> None:
    assert allowed_link(url) is allowed


def test_citation_markers_become_chips_for_cited_numbers_only() -> None:
    html = render_markdown(
        "Use `append` [1]. See **also [2]** and [9].", citations=[1, 2], chip_label="Source {n}"
    )
    chips = re.findall(r'<button type="button" class="citation-chip"[^>]*>(\d+)</button>', html)
    assert chips == ["1", "2"]
    assert 'data-n="1" aria-label="Source 1"' in html
    assert "[9]" in html  # not a cited number: plain text


def test_citation_markers_inside_code_and_links_stay_text() -> None:
    source = (
        "Index with `items[1]` [1].\n\n"
        "```python\nfirst = items[1]\n```\n\n"
        "[see [1]](https://example.com)"
    )
    html = render_markdown(source, citations=[1])
    assert html.count("<button") == 1
    assert "<code>items[1]</code>" in html
    assert ">see [1]</a>" in html


def test_no_citations_no_chips() -> None:
    assert "citation-chip" not in render_markdown("An answer [1].")


def test_chip_label_is_escaped() -> None:
    html = render_markdown("x [1]", citations=[1], chip_label='"><script>{n}')
    assert "<script>" not in html
    assert 'aria-label="&quot;&gt;&lt;script&gt;1"' in html


def test_fenced_python_is_highlighted() -> None:
    html = render_markdown("```python\ndef add(a, b):\n    return a + b  # sum\n```")
    assert '<pre class="code" data-lang="python"><code class="language-python">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="c1"># sum</span>' in html


def test_code_without_a_known_language_is_escaped_plain() -> None:
    for source in ("```\nif a < b: print('<b>')\n```", "```nosuchlang\nif a < b: pass\n```"):
        html = render_markdown(source)
        assert "<span" not in html
        assert "a &lt; b" in html
    assert '<pre class="code"><code>x = 1</code></pre>' in render_markdown("    x = 1")


def test_code_language_cannot_break_out_of_its_attribute() -> None:
    html = render_markdown('```"><script>alert(1)</script>\nx\n```')
    assert "<script>" not in html
    assert 'data-lang="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_tables_scroll_inside_their_own_box() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |")
    assert html.startswith('<div class="table-scroll"><table>')
    assert "<td>1</td>" in html


def test_code_css_colours_tokens_only() -> None:
    css = code_css()
    assert "pre.code .k {" in css and "pre.code .c1 {" in css
    assert all(line.startswith("pre.code .") for line in css.splitlines())
    assert ".err " not in css and ".hll " not in css

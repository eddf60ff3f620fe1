"""Markdown to safe HTML for the web pages: tutor answers today; lessons, search results and
review hints can use the same function.

- CommonMark with tables and strikethrough (markdown-it-py). Raw HTML in the source is
  escaped, never passed through.
- Links only to ``http(s)`` URLs and relative paths; anything else (``javascript:``,
  ``data:``, ``mailto:``...) stays plain text. External links open in a new tab with
  ``rel="noopener noreferrer nofollow"``. Images become links to them (their alt text):
  an answer never loads a third-party picture into the trainee's browser.
- Code blocks are highlighted by Pygments into CSS classes (:func:`code_css` is the style
  sheet, served by the pages); a fence without a known language is escaped, unhighlighted.
- Citation markers ``[n]`` outside code and links become
  ``<button class="citation-chip" data-n="n">`` for the numbers in ``citations``; other
  numbers stay text. The page decides what a chip opens.

Nothing here knows about requests or languages: the caller passes the chip's label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

CODE_STYLE = "default"  # a Pygments style; light, to sit on app.css's light code blocks
CODE_CLASS = "code"  # the <pre> class the highlighting CSS is scoped to
_CITATION = re.compile(r"\[(\d{1,3})\]")
_LINK_HEAD = re.compile(r"[/?#]")


def render_markdown(
    text: str, *, citations: Iterable[int] = (), chip_label: str = "[{n}]", breaks: bool = True
) -> str:
    """``text`` (Markdown) as HTML that is safe to put into a page.

    ``citations``: the numbers that become citation chips; ``chip_label``: their accessible
    name, ``{n}`` filled in (e.g. ``"Source {n}"``); ``breaks``: a single newline is a line
    break (chat answers are written that way), else CommonMark's soft break.
    """
    md = MarkdownIt("commonmark", {"html": False, "breaks": breaks, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = allowed_link
    md.core.ruler.push("citation_chips", _chips_rule(frozenset(citations)))
    md.add_render_rule("citation", _render_chip(chip_label))
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_fence)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("table_open", lambda *_: '<div class="table-scroll"><table>\n')
    md.add_render_rule("table_close", lambda *_: "</table></div>\n")
    return md.render(text or "")


def allowed_link(url: str) -> bool:
    """``http(s)`` URLs and relative references (no scheme before the first ``/?#``)."""
    lowered = url.strip().lower()
    if lowered.startswith(("http://", "https://")):
        return True
    return ":" not in _LINK_HEAD.split(lowered, maxsplit=1)[0]


def highlight_code(code: str, lang: str) -> str:
    """``code`` as HTML spans with Pygments classes; plain escaped text for an unknown or
    missing language."""
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return escape(code, quote=False)
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


def code_css() -> str:
    """The highlighting style sheet for :func:`highlight_code`'s classes, scoped to
    ``pre.code`` (colours only: app.css lays the blocks out)."""
    css = HtmlFormatter(style=CODE_STYLE).get_style_defs(f"pre.{CODE_CLASS}")
    # Pygments adds rules for its own wrapper, line numbers and highlighted lines, and a red
    # box around what its lexer calls an error (an ellipsis in a snippet, say): token
    # colours only.
    skip = tuple(f"pre.{CODE_CLASS} .{name} " for name in ("hll", "err", "linenos"))
    keep = [
        line
        for line in css.splitlines()
        if line.startswith(f"pre.{CODE_CLASS} .") and not line.startswith(skip)
    ]
    return "\n".join(keep) + "\n"


# --- markdown-it rules --------------------------------------------------------------------
def _chips_rule(numbers: frozenset[int]):
    """A core rule: split text tokens (outside code and links) at ``[n]`` into chips."""

    def rule(state) -> None:
        if not numbers:
            return
        for block in state.tokens:
            if block.type != "inline" or not block.children:
                continue
            out: list[Token] = []
            in_link = 0
            for token in block.children:
                in_link += token.type == "link_open"
                in_link -= token.type == "link_close"
                if token.type != "text" or in_link or not _CITATION.search(token.content):
                    out.append(token)
                    continue
                out.extend(_split_citations(token, numbers))
            block.children = out

    return rule


def _split_citations(token: Token, numbers: frozenset[int]) -> list[Token]:
    parts: list[Token] = []
    last = 0
    for match in _CITATION.finditer(token.content):
        n = int(match.group(1))
        if n not in numbers:
            continue
        if match.start() > last:
            parts.append(_text(token.content[last : match.start()]))
        chip = Token("citation", "", 0)
        chip.meta = {"n": n}
        parts.append(chip)
        last = match.end()
    if last < len(token.content):
        parts.append(_text(token.content[last:]))
    return parts


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _render_chip(label: str):
    def render(self, tokens, idx, options, env) -> str:
        n = tokens[idx].meta["n"]
        name = escape(label.replace("{n}", str(n)))
        return (
            f'<button type="button" class="citation-chip" data-testid="citation-chip" '
            f'data-n="{n}" aria-label="{name}">{n}</button>'
        )

    return render


def _render_fence(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    lang = token.info.strip().split(maxsplit=1)[0].lower() if token.info.strip() else ""
    code = token.content.rstrip("\n")
    attrs = f' data-lang="{escape(lang)}"' if lang else ""
    lang_class = f' class="language-{escape(lang)}"' if lang else ""
    return (
        f'<pre class="{CODE_CLASS}"{attrs}><code{lang_class}>'
        f"{highlight_code(code, lang).rstrip(chr(10))}</code></pre>\n"
    )


def _external(href: str) -> str:
    """The attributes after ``href`` for a link: a new tab for another site."""
    if href.lower().startswith(("http://", "https://", "//")):
        return ' target="_blank" rel="noopener noreferrer nofollow"'
    return ""


def _render_link_open(self, tokens, idx, options, env) -> str:
    href = str(tokens[idx].attrGet("href") or "")
    return f'<a href="{escape(href)}"{_external(href)}>'


def _render_image(self, tokens, idx, options, env) -> str:
    """An image as a link to it, named by its alt text (never loaded into the page)."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}"{_external(src)}>{escape(alt, quote=False)}</a>'

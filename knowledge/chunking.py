"""Heading-aware chunking.

Markdown is cut into blocks (a paragraph, a list, a fenced code block, a table), each
tagged with the heading path above it and its line range. Blocks are then packed into
chunks of about ``chunk_size`` characters without crossing a heading unless the chunk so
far is too small to stand alone. A fenced code block is never split, even when it is
larger than ``chunk_size``. Python source is cut at top-level ``def``/``class``.

Line numbers are 1-based and point into the original file (``LoadedDocument.line_offset``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from knowledge.types import Chunk, LoadedDocument

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_PY_TOP = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")


@dataclass
class _Block:
    text: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    starts_section: bool = False


def _markdown_blocks(text: str) -> list[_Block]:
    """Split Markdown into blocks; fenced code stays whole; headings start sections."""
    blocks: list[_Block] = []
    path: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    fence: str | None = None
    new_section = True

    def flush(end: int) -> None:
        nonlocal current, new_section
        body = "\n".join(current).strip("\n")
        if body.strip():
            blocks.append(
                _Block(body, tuple(h for _, h in path), start + 1, end, starts_section=new_section)
            )
            new_section = False
        current = []

    for i, line in enumerate(text.split("\n")):
        if fence is not None:
            current.append(line)
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                if not line.strip()[len(closing.group(1)) :].strip():
                    fence = None
                    flush(i + 1)
            continue
        opening = _FENCE.match(line)
        if opening:
            flush(i)
            start = i
            fence = opening.group(1)
            current.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush(i)
            level = len(heading.group(1))
            path[:] = [(lv, h) for lv, h in path if lv < level]
            path.append((level, heading.group(2).strip()))
            new_section = True
            # The heading line joins the block below it, so a chunk shows its own heading.
            start = i
            current = [line]
            continue
        if not line.strip():
            if current and _HEADING.match(current[0]) and not any(x.strip() for x in current[1:]):
                # Keep the blank under a heading in its block: line numbers stay exact.
                current.append(line)
            elif current:
                flush(i)
            continue
        if not current:
            start = i
        current.append(line)
    flush(len(text.split("\n")))
    return blocks


def _python_blocks(text: str) -> list[_Block]:
    """Cut Python source at top-level def/class (with their decorators and comments)."""
    lines = text.split("\n")
    cuts = [0]
    for i, line in enumerate(lines):
        if _PY_TOP.match(line) and i > 0:
            j = i
            while j > 0 and (lines[j - 1].startswith("@") or lines[j - 1].startswith("#")):
                j -= 1
            if j > cuts[-1]:
                cuts.append(j)
    cuts.append(len(lines))
    blocks = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        while a < b and not lines[a].strip():
            a += 1
        while b > a and not lines[b - 1].strip():
            b -= 1
        body = "\n".join(lines[a:b])
        if not body.strip():
            continue
        name = next((m.group(1) for ln in lines[a:b] if (m := _PY_TOP.match(ln))), None)
        blocks.append(_Block(body, (name,) if name else (), a + 1, b, starts_section=True))
    return blocks


_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


def _split_oversized(blocks: list[_Block], chunk_size: int) -> list[_Block]:
    """Cut prose blocks far larger than a chunk at line, then sentence, boundaries.

    Fenced code is left whole: a chunk must never cut a code example in two.
    """
    out: list[_Block] = []
    for block in blocks:
        if len(block.text) <= chunk_size * 3 // 2 or _FENCE.match(block.text):
            out.append(block)
            continue
        pieces: list[tuple[str, int]] = []  # (text, line index within the block)
        for offset, line in enumerate(block.text.split("\n")):
            parts = _SENTENCE_END.split(line) if len(line) > chunk_size else [line]
            pieces.extend((part, offset) for part in parts)
        buf: list[str] = []
        first = last = 0
        for text, offset in pieces:
            if buf and sum(len(b) + 1 for b in buf) + len(text) > chunk_size:
                out.append(_part(block, buf, first, last))
                buf, first = [], offset
            buf.append(text)
            last = offset
        if buf:
            out.append(_part(block, buf, first, last))
    return out


def _part(block: _Block, lines: list[str], first: int, last: int) -> _Block:
    return _Block(
        "\n".join(lines),
        block.heading_path,
        block.line_start + first,
        block.line_start + last,
        starts_section=block.starts_section and first == 0,
    )


def _pack(blocks: list[_Block], chunk_size: int) -> list[_Block]:
    """Greedily pack blocks into chunks of about ``chunk_size`` characters."""
    min_size = chunk_size // 3
    packed: list[_Block] = []
    cur: _Block | None = None
    for block in blocks:
        if cur is None:
            cur = _Block(block.text, block.heading_path, block.line_start, block.line_end)
            continue
        too_big = len(cur.text) + len(block.text) + 2 > chunk_size
        section_break = block.starts_section and len(cur.text) >= min_size
        if too_big or section_break:
            packed.append(cur)
            cur = _Block(block.text, block.heading_path, block.line_start, block.line_end)
        else:
            headings_only = all(_HEADING.match(ln) for ln in cur.text.split("\n") if ln.strip())
            cur.text = f"{cur.text}\n\n{block.text}"
            cur.line_end = block.line_end
            if not cur.heading_path or headings_only:
                # A chunk that so far holds only headings is cited by the section it opens.
                cur.heading_path = block.heading_path
    if cur is not None:
        packed.append(cur)
    return packed


def chunk_document(doc: LoadedDocument, *, chunk_size: int) -> list[Chunk]:
    """Turn a loaded document into chunks carrying heading path, line range and metadata."""
    if doc.format == "python":
        blocks = _python_blocks(doc.text)
    else:
        blocks = _split_oversized(_markdown_blocks(doc.text), chunk_size)
    meta = doc.meta
    chunks = []
    for index, block in enumerate(_pack(blocks, chunk_size)):
        digest = hashlib.sha256(block.text.encode("utf-8")).hexdigest()[:10]
        chunks.append(
            Chunk(
                id=f"{doc.doc_id}#{index}-{digest}",
                doc_id=doc.doc_id,
                index=index,
                text=block.text,
                heading_path=block.heading_path,
                line_start=block.line_start + doc.line_offset,
                line_end=block.line_end + doc.line_offset,
                course=meta.course,
                title=meta.title,
                kind=meta.kind,
                lang=meta.lang,
                level=meta.level,
                lesson_id=meta.lesson_id,
                exercise=meta.exercise,
                skills=meta.skills,
            )
        )
    return chunks


def doc_id_of(chunk_id: str) -> str:
    """The document a chunk id belongs to (ids are ``<doc_id>#<index>-<digest>``)."""
    return chunk_id.rsplit("#", 1)[0]

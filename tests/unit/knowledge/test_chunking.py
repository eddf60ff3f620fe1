from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunking import chunk_document, doc_id_of
from knowledge.loaders import load_document
from knowledge.types import Chunk, DocumentMeta, LoadedDocument


def doc(text: str, *, fmt: str = "markdown", line_offset: int = 0) -> LoadedDocument:
    return LoadedDocument(
        doc_id="c/lessons/x.md",
        source_path="x.md",
        format=fmt,
        text=text,
        meta=DocumentMeta(title="T", course="c", kind="lesson", level=2, lang="en"),
        content_hash="0" * 64,
        size_bytes=len(text.encode()),
        line_offset=line_offset,
    )


def containing(chunks: list[Chunk], needle: str) -> Chunk:
    found = [c for c in chunks if needle in c.text]
    assert len(found) == 1, (needle, [c.text for c in chunks])
    return found[0]


def assert_ranges_point_into(chunks: list[Chunk], source: str) -> None:
    lines = source.split("\n")
    for c in chunks:
        span = lines[c.line_start - 1 : c.line_end]
        assert span[0] == c.text.split("\n")[0], c
        assert span[-1] == c.text.split("\n")[-1], c
        assert " ".join("\n".join(span).split()) == " ".join(c.text.split())


def test_fenced_code_larger_than_chunk_size_is_never_split() -> None:
    code = (
        "```python\n" + "\n".join(f"value_{i} = {i} * 2  # step {i}" for i in range(40)) + "\n```"
    )
    text = f"# Title\n\nIntro paragraph before the code.\n\n{code}\n\nA paragraph after the code.\n"
    assert len(code) > 4 * 200

    chunks = chunk_document(doc(text), chunk_size=200)

    assert containing(chunks, "value_0 =").text == code
    assert all(c.text.count("```") % 2 == 0 for c in chunks)
    assert_ranges_point_into(chunks, text)


def test_longer_fence_is_not_closed_by_a_shorter_one_inside() -> None:
    inner = "````markdown\nExample:\n\n```python\nprint('hi')\n```\n\nDone.\n````"
    text = f"# Fences\n\n{inner}\n\nAfter.\n"

    chunks = chunk_document(doc(text), chunk_size=20)

    assert containing(chunks, "print('hi')").text == inner


def test_heading_path_follows_nested_headings() -> None:
    para = "paragraph that is long enough to stand alone as its own chunk of text."
    text = (
        f"# Guide\n\nIntro {para}\n\n## Part A\n\nAlpha {para}\n\n### Detail A1\n\n"
        f"Detail {para}\n\n## Part B\n\nBeta {para}\n"
    )

    chunks = chunk_document(doc(text), chunk_size=120)

    assert containing(chunks, "Intro").heading_path == ("Guide",)
    assert containing(chunks, "Alpha").heading_path == ("Guide", "Part A")
    assert containing(chunks, "Detail").heading_path == ("Guide", "Part A", "Detail A1")
    assert containing(chunks, "Beta").heading_path == ("Guide", "Part B")
    assert containing(chunks, "Beta").text.startswith("## Part B")


def test_line_ranges_are_one_based_and_count_front_matter(tmp_path: Path) -> None:
    source = (
        "---\ntitle: Ranges\nlevel: 1\n---\n\n# Ranges\n\nFirst paragraph about ranges.\n\n"
        "## Code\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n"
        "## More\n\nrange(start, stop, step) counts by step.\nIt stops before stop.\n"
    )
    path = tmp_path / "ranges.md"
    path.write_text(source, encoding="utf-8")
    loaded = load_document(path, course_root=tmp_path, course="c", max_bytes=1 << 20)
    assert loaded.line_offset == 4

    chunks = chunk_document(loaded, chunk_size=60)

    assert len(chunks) >= 3
    assert chunks[0].line_start == 6  # "# Ranges" is line 6 of the file
    code = containing(chunks, "for i in range(3)")
    assert code.line_start <= 12 <= 15 <= code.line_end  # the fence is on lines 12-15
    assert_ranges_point_into(chunks, source)


def test_python_is_cut_at_top_level_def_and_class() -> None:
    source = (
        '"""Shapes."""\nimport math\n\nPI = math.pi\n\n\n'
        "def area(r):\n    return PI * r * r\n\n\n"
        "@dataclass\nclass Circle:\n    r: float\n\n"
        "    def area(self):\n        return area(self.r)\n\n\n"
        "# the rim\ndef perimeter(r):\n    return 2 * PI * r\n"
    )

    chunks = chunk_document(doc(source, fmt="python"), chunk_size=100)

    assert [c.text.split("\n")[0] for c in chunks] == [
        '"""Shapes."""',
        "def area(r):",
        "@dataclass",
        "# the rim",
    ]
    assert [c.heading_path for c in chunks] == [(), ("area",), ("Circle",), ("perimeter",)]
    assert "def area(self):" in chunks[2].text  # a method stays with its class
    lines = source.split("\n")
    for c in chunks:
        assert lines[c.line_start - 1] == c.text.split("\n")[0]
        assert "\n".join(lines[c.line_start - 1 : c.line_end]).strip("\n") == c.text


def test_python_line_ranges_end_at_the_last_line_of_code() -> None:
    """A citation ``file.py:7-8`` must not run on over the blank lines before the next def."""
    source = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n\n\ndef f():\n    pass\n"

    chunks = chunk_document(doc(source, fmt="python"), chunk_size=30)

    assert [(c.line_start, c.line_end) for c in chunks] == [(1, 1), (4, 5), (8, 9)]


def test_oversized_prose_line_is_split_at_sentences() -> None:
    sentences = [f"Sentence number {i} talks about lists and loops." for i in range(40)]
    text = "Intro.\n\n" + " ".join(sentences) + "\n"

    chunks = chunk_document(doc(text), chunk_size=200)

    body = [c for c in chunks if "Sentence number" in c.text]
    assert len(body) > 5
    assert all(len(c.text) <= 200 for c in chunks)
    joined = " ".join(" ".join(c.text.split()) for c in body)
    assert joined.endswith(" ".join(sentences))
    assert all(c.line_start == c.line_end == 3 for c in body[1:])


def test_oversized_multiline_paragraph_is_split_at_lines_with_true_ranges() -> None:
    """The usual Markdown layout: a heading, a blank line, then a long paragraph."""
    lines = [
        f"line {i:02d} of a very long paragraph about dictionaries and sets" for i in range(30)
    ]
    text = "# Para\n\n" + "\n".join(lines) + "\n"

    chunks = chunk_document(doc(text, line_offset=3), chunk_size=300)

    assert len(chunks) > 4
    assert all(len(c.text) <= 300 for c in chunks)
    shifted = "\n" * 3 + text  # the same text below 3 lines of front matter
    assert_ranges_point_into(chunks, shifted)
    body = [c for c in chunks if "line 00" not in c.text]
    starts = [c.line_start for c in body]
    assert starts == sorted(starts)


@pytest.mark.parametrize("text", ["", "\n\n", "  \n\t\n"])
def test_empty_document_gives_no_chunks(text: str) -> None:
    assert chunk_document(doc(text), chunk_size=200) == []


def test_chunks_carry_metadata_and_stable_ids() -> None:
    text = "# A\n\nOne paragraph.\n\n## B\n\nAnother paragraph.\n"

    first = chunk_document(doc(text), chunk_size=20)
    second = chunk_document(doc(text), chunk_size=20)

    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
    assert [c.index for c in first] == list(range(len(first)))
    for c in first:
        assert doc_id_of(c.id) == "c/lessons/x.md" == c.doc_id
        assert (c.course, c.kind, c.level, c.lang, c.title) == ("c", "lesson", 2, "en", "T")


def test_changed_text_changes_only_that_chunks_id() -> None:
    before = chunk_document(doc("# A\n\nOne paragraph.\n\n## B\n\nAnother.\n"), chunk_size=20)
    after = chunk_document(doc("# A\n\nOne paragraph.\n\n## B\n\nChanged.\n"), chunk_size=20)

    assert before[0].id == after[0].id
    assert before[-1].id != after[-1].id

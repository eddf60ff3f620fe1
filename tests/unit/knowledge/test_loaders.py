from __future__ import annotations

import hashlib
import io
import json
import os
import random
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from knowledge.errors import LoadError
from knowledge.loaders import detect_lang, iter_course_files, load_document
from knowledge.types import LoadedDocument

MB = 1024 * 1024
KOREAN = "리스트 컴프리헨션은 반복문을 한 줄로 쓰는 방법입니다. 각 원소에 식을 적용합니다."


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load(path: Path, root: Path, *, max_bytes: int = 20 * MB) -> LoadedDocument:
    return load_document(path, course_root=root, course="py", max_bytes=max_bytes)


def load_error(path: Path, root: Path, *, max_bytes: int = 20 * MB) -> str:
    with pytest.raises(LoadError) as info:
        load(path, root, max_bytes=max_bytes)
    return info.value.reason


def make_pdf(pages: list[list[str]], *, title: str | None = None) -> bytes:
    """A real PDF with one text line per string; an empty page list entry draws a box."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    if title:
        pdf.setTitle(title)
    for lines in pages:
        if not lines:
            pdf.rect(100, 100, 200, 200, fill=1)
        for number, line in enumerate(lines):
            pdf.drawString(72, 720 - 20 * number, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def encrypt_pdf(data: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# Markdown ------------------------------------------------------------------------------


def test_markdown_front_matter_becomes_meta_and_line_offset(tmp_path: Path) -> None:
    source = (
        "---\n"
        "title: List comprehensions\n"
        "module: 2-collections\n"
        "kind: lesson\n"
        "level: 2\n"
        "skills: [Lists, comprehensions]\n"
        "prerequisites: loops\n"
        "id: lc\n"
        "---\n"
        "# Comprehensions\n"
        "\n"
        "Squares: `[x * x for x in xs]`.\n"
    )
    path = write(tmp_path / "lessons" / "02-comprehensions.md", source)

    doc = load(path, tmp_path)

    assert doc.doc_id == "py/lessons/02-comprehensions.md"
    assert doc.format == "markdown"
    assert doc.text.startswith("# Comprehensions\n")
    assert doc.line_offset == 9
    original = source.split("\n")
    squares_line = doc.text.split("\n").index("Squares: `[x * x for x in xs]`.") + 1
    assert original[doc.line_offset + squares_line - 1] == "Squares: `[x * x for x in xs]`."
    meta = doc.meta
    assert meta.title == "List comprehensions"
    assert meta.course == "py"
    assert meta.module == "2-collections"
    assert meta.level == 2
    assert meta.skills == ("lists", "comprehensions")
    assert meta.prerequisites == ("loops",)
    assert meta.lesson_id == "lc"
    assert meta.lang == "en"
    assert doc.content_hash == hashlib.sha256(source.encode()).hexdigest()
    assert doc.size_bytes == len(source.encode())


def test_markdown_title_falls_back_to_first_h1_outside_code(tmp_path: Path) -> None:
    source = "```python\n# not a title\n```\n\nIntro\n\n# Loops and ranges\n\n## Details\n"
    path = write(tmp_path / "lessons" / "03-loops.md", source)

    doc = load(path, tmp_path)

    assert doc.meta.title == "Loops and ranges"
    assert doc.line_offset == 0
    assert doc.meta.lesson_id == "03-loops"
    assert doc.meta.kind == "lesson"


def test_title_falls_back_to_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path / "notes" / "intro_to-sets.md", "Sets hold unique values.\n")

    assert load(path, tmp_path).meta.title == "intro to sets"


def test_front_matter_course_overrides_argument(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\ncourse: other\n---\nText\n")

    assert load(path, tmp_path).meta.course == "other"


def test_invalid_yaml_front_matter_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nbody\n")

    assert load_error(path, tmp_path).startswith("invalid front matter: ")


def test_kind_not_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\nkind: homework\n---\nbody\n")

    reason = load_error(path, tmp_path)

    assert "homework" in reason and "lesson, exercise, solution" in reason


def test_level_7_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\nlevel: 7\n---\nbody\n")

    assert "level must be 1..4" in load_error(path, tmp_path)


# Language ------------------------------------------------------------------------------


def test_detect_lang() -> None:
    assert detect_lang(KOREAN) == "ko"
    assert detect_lang("Lists hold values in order.") == "en"
    assert detect_lang("") == "en"
    code_heavy = f"{KOREAN}\n\n```python\n" + "values = list(range(10))\n" * 30 + "```\n"
    assert detect_lang(code_heavy) == "ko"
    assert detect_lang("A long English paragraph about loops and lists, 리스트.") == "en"


def test_korean_text_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "lessons" / "01-lists.md", f"# 리스트\n\n{KOREAN}\n")

    doc = load(path, tmp_path)

    assert doc.meta.lang == "ko"
    assert doc.meta.title == "리스트"


def test_lessons_ko_folder_means_korean_and_shares_lesson_id(tmp_path: Path) -> None:
    english = write(tmp_path / "lessons" / "03-lists.md", "# Lists\n\nEnglish text.\n")
    korean = write(tmp_path / "lessons-ko" / "03-lists.md", "# Lists\n\nEnglish words only.\n")
    suffixed = write(tmp_path / "lessons" / "03-lists.ko.md", "# Lists\n\nEnglish words.\n")

    en_doc, ko_doc, suffix_doc = (load(p, tmp_path) for p in (english, korean, suffixed))

    assert (en_doc.meta.lang, ko_doc.meta.lang, suffix_doc.meta.lang) == ("en", "ko", "ko")
    assert {en_doc.meta.lesson_id, ko_doc.meta.lesson_id, suffix_doc.meta.lesson_id} == {"03-lists"}


def test_front_matter_lang_beats_path_rule(tmp_path: Path) -> None:
    path = write(tmp_path / "ko" / "a.md", "---\nlang: en\n---\nText\n")

    assert load(path, tmp_path).meta.lang == "en"


# Encodings and binary ------------------------------------------------------------------


def test_cp949_korean_text_file_is_decoded(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", f"{KOREAN}\r\n둘째 줄\r\n".encode("cp949"))

    doc = load(path, tmp_path)

    assert doc.format == "text"
    assert doc.text == f"{KOREAN}\n둘째 줄\n"
    assert doc.meta.lang == "ko"


def test_utf8_bom_is_removed(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "\ufeff---\ntitle: Bom\n---\nbody\n".encode())

    doc = load(path, tmp_path)

    assert doc.meta.title == "Bom"
    assert doc.text == "body\n"


def test_binary_content_with_md_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))

    assert load_error(path, tmp_path) == "not a text file (binary content with a text extension)"


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(4000).replace(b"\x00", b"\x01"),
        b"\x01\x02\x03\x04\xb0\xa1" * 500,  # valid cp949 ("가"), but mostly control bytes
        b"\x01\x02\x03\x04 abc" * 500,  # valid UTF-8, but mostly control bytes
    ],
)
def test_binary_without_nul_bytes_is_rejected(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "blob.txt", content)

    assert load_error(path, tmp_path) == "not a text file (binary content with a text extension)"


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", "\ufeff리스트 notes\r\n".encode("utf-16-le"))

    assert load(path, tmp_path).text == "리스트 notes\n"


# Python --------------------------------------------------------------------------------


def test_python_source_kept_verbatim(tmp_path: Path) -> None:
    source = '"""Square numbers."""\n# TODO: write it\n\ndef square(x):\n    return x * x\n'
    path = write(tmp_path / "exercises" / "ex-sq" / "starter.py", source)

    doc = load(path, tmp_path)

    assert doc.format == "python"
    assert doc.text == source
    assert doc.meta.title == "Square numbers."
    assert doc.meta.kind == "exercise"
    assert doc.meta.exercise == "ex-sq"


# Notebook ------------------------------------------------------------------------------


def notebook(cells: list[dict], language: str | None = None) -> str:
    metadata = {"kernelspec": {"language": language, "name": language}} if language else {}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


def test_notebook_cells_become_markdown_and_fenced_code(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "source": ["# Loops\n", "\n", "Repeat things."]},
        {
            "cell_type": "code",
            "source": "for i in range(3):\n    print(i)",
            "outputs": [{"output_type": "stream", "text": "0\n1\n2\n"}],
        },
        {"cell_type": "code", "source": [], "outputs": []},
    ]
    path = write(tmp_path / "loops.ipynb", notebook(cells))

    doc = load(path, tmp_path)

    assert doc.format == "notebook"
    assert doc.text == (
        "# Loops\n\nRepeat things.\n\n```python\nfor i in range(3):\n    print(i)\n```\n"
    )
    assert "0\n1\n2" not in doc.text
    assert doc.meta.title == "Loops"


def test_notebook_uses_kernel_language_and_front_matter(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "source": "---\ntitle: R basics\nlevel: 1\n---\nIntro"},
        {"cell_type": "code", "source": "x <- 1"},
    ]
    path = write(tmp_path / "r.ipynb", notebook(cells, language="R"))

    doc = load(path, tmp_path)

    assert doc.meta.title == "R basics"
    assert doc.meta.level == 1
    assert doc.text == "Intro\n\n```r\nx <- 1\n```\n"


def test_invalid_notebook_json(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.ipynb", '{"cells": [')

    assert load_error(path, tmp_path).startswith("invalid notebook: ")


def test_notebook_without_cells(tmp_path: Path) -> None:
    path = write(tmp_path / "odd.ipynb", '{"metadata": {}}')

    assert load_error(path, tmp_path) == "invalid notebook: no 'cells' list"


# HTML ----------------------------------------------------------------------------------


def test_html_becomes_markdown(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Strings page</title>
    <style>body { color: red }</style></head><body>
    <nav><a href="/">Home</a></nav>
    <header>Site header</header>
    <h1>Strings</h1>
    <p>Strings are <b>immutable</b>.</p>
    <h2>Methods</h2>
    <ul><li>upper</li><li>lower<ul><li>casefold</li></ul></li></ul>
    <pre><code class="language-python">s = "hi"
print(s.upper())</code></pre>
    <div>Plain div text</div>
    <script>alert("x")</script>
    <footer>Copyright</footer>
    </body></html>"""
    path = write(tmp_path / "strings.html", html)

    doc = load(path, tmp_path)

    assert doc.format == "html"
    assert doc.meta.title == "Strings page"
    assert doc.text == (
        "# Strings\n\n"
        "Strings are immutable.\n\n"
        "## Methods\n\n"
        "- upper\n- lower\n  - casefold\n\n"
        '```python\ns = "hi"\nprint(s.upper())\n```\n\n'
        "Plain div text\n"
    )
    for dropped in ("alert", "color: red", "Home", "Site header", "Copyright"):
        assert dropped not in doc.text


def test_html_title_from_first_h1_without_title_tag(tmp_path: Path) -> None:
    path = write(tmp_path / "page.htm", "<h1>Dicts</h1><p>Keys map to values.</p>")

    assert load(path, tmp_path).meta.title == "Dicts"


# PDF -----------------------------------------------------------------------------------


def test_two_page_pdf(tmp_path: Path) -> None:
    data = make_pdf(
        [["Variables   and    types", "A variable names a value."], ["Second page text"]]
    )
    path = write(tmp_path / "handout.pdf", data)

    doc = load(path, tmp_path)

    assert doc.format == "pdf"
    assert doc.meta.title == "Variables and types"
    assert doc.text == (
        "# Variables and types\n\n"
        "## Page 1\n\nVariables and types\nA variable names a value.\n\n"
        "## Page 2\n\nSecond page text\n"
    )
    assert doc.content_hash == hashlib.sha256(data).hexdigest()


def test_pdf_title_from_metadata_and_empty_pages_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "h.pdf", make_pdf([["Only text"], []], title="Course Handout"))

    doc = load(path, tmp_path)

    assert doc.meta.title == "Course Handout"
    assert "## Page 1" in doc.text and "## Page 2" not in doc.text


def test_encrypted_pdf_with_password(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf([["Secret text"]]), user_password="s3cret")
    path = write(tmp_path / "locked.pdf", data)

    assert load_error(path, tmp_path) == "encrypted PDF: remove the password and upload again"


def test_encrypted_pdf_with_empty_user_password_loads(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf([["Readable text"]]), user_password="")
    path = write(tmp_path / "owner-only.pdf", data)

    assert "Readable text" in load(path, tmp_path).text


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = write(tmp_path / "junk.pdf", random.Random(1).randbytes(2048))

    assert load_error(path, tmp_path).startswith("corrupt PDF: ")


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    path = write(tmp_path / "cut.pdf", make_pdf([["Some text"]])[:300])

    assert load_error(path, tmp_path).startswith("corrupt PDF: ")


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = write(tmp_path / "scan.pdf", make_pdf([[]]))

    assert load_error(path, tmp_path) == "PDF has no text layer (scanned images?); OCR it first"


# Bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  "])
def test_empty_and_whitespace_only_files(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "blank.md", content)

    assert load_error(path, tmp_path) == "empty file"


def test_file_over_max_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "big.md", "x" * (MB + MB // 2))

    reason = load_error(path, tmp_path, max_bytes=MB)

    assert reason == "file is 1.5 MB, over the 1 MB limit (KDT_MAX_FILE_MB)"


def test_size_is_checked_before_type(tmp_path: Path) -> None:
    path = write(tmp_path / "big.xyz", b"x" * 2000)

    assert load_error(path, tmp_path, max_bytes=1000).startswith("file is 2 KB, over")


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xyz", "hello")

    reason = load_error(path, tmp_path)

    assert reason.startswith("unsupported file type '.xyz' (supported: .md, ")
    assert ".pdf" in reason and ".ipynb" in reason


def test_missing_path(tmp_path: Path) -> None:
    reason = load_error(tmp_path / "nope.md", tmp_path)

    assert reason.startswith("cannot read file: ")
    assert "does not exist" in reason


def test_directory_passed_as_file(tmp_path: Path) -> None:
    folder = tmp_path / "lessons.md"
    folder.mkdir()

    assert load_error(folder, tmp_path) == "cannot read file: lessons.md is a directory"


def test_named_pipe_is_not_read(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.md"
    os.mkfifo(pipe)

    assert load_error(pipe, tmp_path) == "cannot read file: pipe.md is not a regular file"


# Path conventions ----------------------------------------------------------------------


def test_solution_in_exercise_folder(tmp_path: Path) -> None:
    path = write(tmp_path / "exercises" / "ex-list-squares" / "solution.md", "Use a loop.\n")

    meta = load(path, tmp_path).meta

    assert meta.kind == "solution"
    assert meta.exercise == "ex-list-squares"
    assert meta.lesson_id == "ex-list-squares"


def test_exercise_and_faq_kinds(tmp_path: Path) -> None:
    exercise = write(tmp_path / "exercises" / "ex-1" / "exercise.md", "Do it.\n")
    faq = write(tmp_path / "faq-setup.md", "Q: how?\n")

    assert load(exercise, tmp_path).meta.kind == "exercise"
    assert load(faq, tmp_path).meta.kind == "faq"


def test_path_outside_course_root_uses_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "elsewhere" / "extra.md", "Text\n")

    doc = load_document(path, course_root=tmp_path / "course", course="py", max_bytes=MB)

    assert doc.doc_id == "py/extra.md"


# Walking a course ----------------------------------------------------------------------


def test_iter_course_files(tmp_path: Path) -> None:
    for relative in [
        "lessons/01-intro.md",
        "lessons/02-lists.md",
        "lessons-ko/01-intro.md",
        "exercises/ex-1/exercise.md",
        "exercises/ex-1/starter.py",
        "exercises/ex-1/solution.py",
        "exercises/ex-1/test_solution.py",
        "exercises/ex-1/tests.json",
        "exercises/ex-1/conftest.py",
        "quiz.jsonl",
        "extra.jsonl",
        "course.yaml",
        "meta.json",
        "notes.xyz",
        "img/diagram.PNG",
        "img/logo.svg",
        "media/talk.mp4",
        ".git/config",
        ".hidden.md",
        "lessons/.draft.md",
        "__pycache__/x.pyc",
        "nb/.ipynb_checkpoints/a-checkpoint.ipynb",
        "nb/a.ipynb",
    ]:
        write(tmp_path / relative, "x")

    files, skipped = iter_course_files(tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "exercises/ex-1/exercise.md",
        "exercises/ex-1/solution.py",
        "exercises/ex-1/starter.py",
        "lessons-ko/01-intro.md",
        "lessons/01-intro.md",
        "lessons/02-lists.md",
        "nb/a.ipynb",
        "notes.xyz",
    ]
    assert [(p.relative_to(tmp_path).as_posix(), reason) for p, reason in skipped] == [
        ("course.yaml", "course asset, not a document"),
        ("exercises/ex-1/conftest.py", "course asset, not a document"),
        ("exercises/ex-1/test_solution.py", "course asset, not a document"),
        ("exercises/ex-1/tests.json", "course asset, not a document"),
        ("extra.jsonl", "course asset, not a document"),
        ("img/diagram.PNG", "image/media"),
        ("img/logo.svg", "image/media"),
        ("media/talk.mp4", "image/media"),
        ("meta.json", "course asset, not a document"),
        ("quiz.jsonl", "course asset, not a document"),
    ]


def test_iter_course_files_on_a_single_file(tmp_path: Path) -> None:
    path = write(tmp_path / "one.md", "x")

    assert iter_course_files(path) == ([path], [])


def test_iter_course_files_on_missing_root(tmp_path: Path) -> None:
    files, skipped = iter_course_files(tmp_path / "missing")

    assert files == []
    assert skipped == [(tmp_path / "missing", "cannot read folder: no such directory")]

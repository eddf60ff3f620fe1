"""A batch with bad files: each is reported with a reason, the rest ingests, nothing half-done."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from knowledge.errors import InvalidInputError
from knowledge.ingest import ingest_path

pytestmark = pytest.mark.integration

MAX_BYTES = 8 * 1024


def make_pdf(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number, line in enumerate(lines):
        pdf.drawString(72, 720 - 20 * number, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def encrypt(data: bytes, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(password, owner_password="owner-" + password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


GOOD = {
    "lessons/01-sets.md": (
        "---\ntitle: Sets\nlevel: 1\n---\n\n# Sets\n\nA set keeps unique values.\n"
    ),
    "lessons/02-tuples.md": "# Tuples\n\nA tuple is an immutable sequence of values.\n",
    "slides/handout.pdf": make_pdf(["Generators", "A generator yields values lazily."]),
}

# file name -> a substring its failure reason must contain
BAD: dict[str, tuple[bytes | str | None, str]] = {
    "bad/corrupt.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF", "corrupt PDF"),
    "bad/locked.pdf": (encrypt(make_pdf(["secret notes"]), "s3cret"), "encrypted PDF"),
    "bad/binary.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not a text file"),
    "bad/empty.md": (b"", "empty file"),
    "bad/blank.md": (" \n\t\n   \n", "empty file"),
    "bad/huge.md": ("# Huge\n\n" + "word " * (MAX_BYTES // 4), "over the"),
    "bad/front-matter.md": ("---\ntitle: [unclosed\n---\n# Body\n\nText\n", "invalid front matter"),
    "bad/notes.docx": (b"PK\x03\x04 not really a docx", "unsupported file type '.docx'"),
    "bad/dangling.md": (None, "does not exist"),  # a symlink to nowhere
    "bad/pipe.md": (None, "not a regular file"),  # a FIFO
}


@pytest.fixture
def batch(tmp_path: Path, write_course) -> Path:
    root = write_course(tmp_path / "mixed", GOOD)
    for rel, (content, _) in BAD.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("dangling.md"):
            path.symlink_to(root / "nowhere" / "gone.md")
        elif rel.endswith("pipe.md"):
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    assert (root / "bad" / "huge.md").stat().st_size > MAX_BYTES
    assert max((root / rel).stat().st_size for rel in GOOD) < MAX_BYTES
    return root


def test_each_bad_file_fails_with_a_reason_and_the_rest_ingests(
    batch, tmp_path, kb_config, make_kb
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))

    report = ingest_path(kb, batch, course="mixed", max_bytes=MAX_BYTES)

    reasons = {Path(p).relative_to(batch).as_posix(): r for p, r in report.failed}
    assert set(reasons) == set(BAD)
    for rel, (_, expected) in BAD.items():
        assert expected in reasons[rel], (rel, reasons[rel])
    good_ids = sorted(f"mixed/{rel}" for rel in GOOD)
    assert report.added == good_ids
    # Nothing of a bad file reached any index; every good file is fully indexed.
    assert [r.doc_id for r in kb.registry.list()] == good_ids
    assert {r.status for r in kb.registry.list()} == {"ready"}
    assert set(kb.vectors.ids().values()) == set(good_ids)
    assert set(kb.lexical.chunk_ids()) == set(kb.registry.chunk_ids())
    assert kb.check() == []
    hits = kb.search("generator yields values lazily", k=3)
    assert "mixed/slides/handout.pdf" in {h.chunk.doc_id for h in hits}


def test_reingest_of_a_batch_with_bad_files_retries_them_and_changes_nothing_else(
    batch, tmp_path, kb_config, make_kb
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))
    first = ingest_path(kb, batch, course="mixed", max_bytes=MAX_BYTES)
    generation = kb.registry.generation()

    second = ingest_path(kb, batch, course="mixed", max_bytes=MAX_BYTES, sync=True)

    assert sorted(p for p, _ in second.failed) == sorted(p for p, _ in first.failed)
    assert second.unchanged == first.added
    assert second.added == second.updated == second.removed == []
    assert kb.registry.generation() == generation
    assert kb.check() == []


@pytest.mark.parametrize("sync", [False, True], ids=["plain", "sync"])
def test_good_file_turned_corrupt_keeps_its_indexed_version(
    sync, tmp_path, write_course, kb_config, make_kb
) -> None:
    root = write_course(tmp_path / "course", GOOD)
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, root, course="mixed")
    doc_id = "mixed/lessons/02-tuples.md"
    before = kb.registry.get(doc_id)
    chunks_before = kb.registry.document_chunks(doc_id)
    vectors_before = {c for c, d in kb.vectors.ids().items() if d == doc_id}
    (root / "lessons" / "02-tuples.md").write_bytes(b"\x00\x01\x02 binary garbage \xff\xfe" * 20)

    report = ingest_path(kb, root, course="mixed", sync=sync)

    assert [(Path(p).name, r) for p, r in report.failed] == [
        ("02-tuples.md", "not a text file (binary content with a text extension)")
    ]
    assert report.removed == report.updated == []
    after = kb.registry.get(doc_id)
    assert (after.content_hash, after.status) == (before.content_hash, "ready")
    assert kb.registry.document_chunks(doc_id) == chunks_before
    assert {c for c, d in kb.vectors.ids().items() if d == doc_id} == vectors_before
    hits = kb.search("immutable sequence tuple", k=3)
    assert doc_id in {h.chunk.doc_id for h in hits}
    assert kb.check() == []


def test_nonexistent_path_is_invalid_input(tmp_path, kb_config, make_kb) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))

    with pytest.raises(InvalidInputError, match="no such file or folder"):
        ingest_path(kb, tmp_path / "no-such-course")
    assert kb.registry.list() == []


def test_invalid_course_yaml_is_invalid_input(tmp_path, write_course, kb_config, make_kb) -> None:
    root = write_course(tmp_path / "c", {"course.yaml": "id: [oops\n", "a.md": "# A\n\nText.\n"})
    kb = make_kb(kb_config(tmp_path / "data"))

    with pytest.raises(InvalidInputError, match="invalid course.yaml"):
        ingest_path(kb, root)
    assert kb.registry.list() == []


def test_previously_ingested_file_replaced_by_a_fifo_does_not_hang(
    tmp_path, write_course, kb_config, make_kb
) -> None:
    import threading

    root = write_course(tmp_path / "course", {"a.md": "# A\n\nAlpha text.\n"})
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, root, course="c")
    fifo = root / "a.md"
    fifo.unlink()
    os.mkfifo(fifo)
    rescued = threading.Event()

    def unblock_reader() -> None:
        # If ingest blocks opening the FIFO, open its write end so the read returns.
        if not done.wait(15):
            rescued.set()
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    done = threading.Event()
    watchdog = threading.Thread(target=unblock_reader, daemon=True)
    watchdog.start()
    try:
        report = ingest_path(kb, root, course="c")
    finally:
        done.set()
        watchdog.join()

    assert not rescued.is_set(), "ingest blocked reading a FIFO"
    assert [(Path(p).name, r) for p, r in report.failed] == [
        ("a.md", "cannot read file: a.md is not a regular file")
    ]
    assert kb.registry.get("c/a.md").status == "ready"
    assert kb.check() == []

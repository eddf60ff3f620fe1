"""Ingestion: a course folder (or a file) in, an ingest report out.

Incremental by content hash: a file whose bytes are unchanged (and whose document is
``ready``) is skipped without being parsed or embedded; a changed file replaces its old
chunks (see the write protocol in ``knowledge_base``); with ``sync``, documents whose
files are gone are removed (documents whose files live outside the folder, like console
uploads, are not the folder's and stay). Every bad file becomes a ``failed`` line with a
reason and the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.errors import InvalidInputError, LoadError
from knowledge.knowledge_base import KnowledgeBase
from knowledge.loaders import document_id, iter_course_files, load_document
from knowledge.types import LoadedDocument

Progress = Callable[[int, int, str], None]

# Documents are embedded in batches of about this much text: one long batch lets the model
# sort chunks by length (less padding) and run fewer, fuller steps than a batch per file,
# while a bounded batch keeps memory flat and an interruption costs at most one batch.
EMBED_BATCH_CHARS = 1_000_000


@dataclass
class IngestReport:
    course: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "course": self.course,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "repaired": self.repaired,
            "seconds": round(self.seconds, 3),
        }


def course_id_for(root: Path, explicit: str | None) -> str:
    """``--course``, else ``id`` in the folder's course.yaml, else the folder name."""
    if explicit:
        return explicit
    folder = root if root.is_dir() else root.parent
    manifest = folder / "course.yaml"
    if manifest.is_file():
        try:
            data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{manifest}: invalid course.yaml: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"].strip():
            return data["id"].strip()
    return folder.resolve().name


def _hash_file(path: Path) -> str | None:
    try:
        if not path.is_file():  # opening a FIFO would block; load_document reports it
            return None
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def _lives_elsewhere(source: str, folder: Path) -> bool:
    """A document whose file exists outside the folder being synced (an upload from the
    console, an FAQ answer) is not the folder's to remove."""
    try:
        Path(source).resolve().relative_to(folder.resolve())
        return False
    except ValueError:
        return Path(source).is_file()


def ingest_path(
    kb: KnowledgeBase,
    path: Path,
    *,
    course: str | None = None,
    sync: bool = False,
    max_bytes: int = 20 * 1024 * 1024,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a course folder or one file into ``kb``; never raises for a bad file."""
    import time

    started = time.perf_counter()
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"no such file or folder: {path}")
    course_id = course_id_for(path, course)
    root = path if path.is_dir() else path.parent
    files, skipped = iter_course_files(path)
    report = IngestReport(course=course_id)
    report.skipped = [(str(p), reason) for p, reason in skipped]
    # Scope by doc id prefix, not by the course column: front matter may set another course.
    known = kb.registry.hashes(prefix=f"{course_id}/")
    seen: set[str] = set()
    changed = False
    batch: list[tuple[LoadedDocument, str, bool]] = []  # (document, doc id, known before)

    def write_batch() -> None:
        for prepared, (_doc, doc_id, was_known) in zip(
            kb.prepare_many([doc for doc, _, _ in batch]), batch, strict=True
        ):
            kb.write(prepared)
            (report.updated if was_known else report.added).append(doc_id)
        batch.clear()

    for n, file in enumerate(files, start=1):
        if progress:
            progress(n, len(files), str(file))
        doc_id = document_id(file, course_root=root, course=course_id)
        seen.add(doc_id)
        previous = known.get(doc_id)
        unchanged = previous and previous[1] in ("ready", "hidden")
        if unchanged and previous[0] == _hash_file(file):
            report.unchanged.append(doc_id)
            continue
        try:
            doc = load_document(file, course_root=root, course=course_id, max_bytes=max_bytes)
        except LoadError as exc:
            report.failed.append((str(file), exc.reason))
            continue
        batch.append((doc, doc_id, bool(previous)))
        changed = True
        if sum(len(d.text) for d, _, _ in batch) >= EMBED_BATCH_CHARS:
            write_batch()
    if batch:
        write_batch()
    if sync and path.is_dir():
        for doc_id in sorted(set(known) - seen):
            if _lives_elsewhere(kb.registry.get(doc_id).source_path, path):
                continue
            kb.remove(doc_id)
            report.removed.append(doc_id)
            changed = True
    if changed:
        kb.refresh_lexical()
    # Finish anything an earlier, interrupted run left (pending documents, missing vectors,
    # e.g. after switching KDT_EMBEDDING), so an ingest always ends consistent.
    problems = kb.check()
    if problems:
        report.repaired = kb.repair(problems)
    report.seconds = time.perf_counter() - started
    return report

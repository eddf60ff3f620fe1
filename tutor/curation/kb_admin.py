"""Knowledge base management for instructors: uploads, listing, metadata edits, hiding,
deleting, restoring, re-syncing a course folder, consistency checks.

Who may do what is the access policy's ``kb`` rules (``tutor/access.py``): instructors act
on their own course only, admins on any; anyone else is refused. A document, job or version
of another course is reported as *not found*, so ids leak nothing. The consistency check
and its repair keep to one course's documents; problems of the whole index (stale BM25
index, vectors of no chunk) are reported to everyone and repaired by admins only
(``kb_index``).

Where files live (under the data dir):
- ``uploads/<course>/<name>``: uploaded files; their document id is
  ``<course>/uploads/<name>`` (never one of the course folder's ids).
- ``uploads/.incoming/<job>/<name>``: an upload being received and checked; it replaces the
  stored file only once it loaded, so a corrupt upload never costs the previous version.
- ``kb_restored/<version>/<name>``: the file of a restored version of a document that
  came from a course folder (the course folder itself is never written to).
- ``kb_versions/``: the bytes of every kept version (``tutor.curation.kb_history``).

Every change is written to the audit log, and the state a change replaces is kept as a
version first. Metadata edits and hiding are console *overrides* (``knowledge.registry``):
they are applied over the file's own front matter on every later ingest too. An edit names
the version of the document it was based on; if the document changed since, the edit is
refused with ``ConflictError`` and nothing changes.

Uploads are ingested by one background thread per process (jobs with progress in
``kb_jobs``): reading, then embedding chunk by chunk, then writing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from knowledge.errors import LoadError
from knowledge.frontmatter import parse_meta
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import KnowledgeBase
from knowledge.loaders import load_document
from knowledge.registry import HIDDEN, DocumentRecord
from knowledge.types import FORMATS, DocumentMeta
from tutor.access import Access
from tutor.accounts import User
from tutor.curation.course_authoring import authored_root
from tutor.curation.kb_history import Job, KbHistory, Version
from tutor.errors import ConflictError, InvalidInputError, NotFoundError

log = logging.getLogger("kdt.kb_admin")

_MB = 1024 * 1024
_NAME_MAX_BYTES = 200
_COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
EDITABLE = ("title", "module", "kind", "level", "lang", "skills", "prerequisites", "hidden")
_META_FIELDS = tuple(f.name for f in dataclasses.fields(DocumentMeta))


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file right away (the ingest itself is ``job_id``)."""

    name: str
    status: str  # "queued" | "rejected" | "duplicate"
    reason: str | None = None
    job_id: str | None = None
    doc_id: str | None = None
    duplicate_of: str | None = None


@dataclass(frozen=True)
class DocumentView:
    record: DocumentRecord
    version: str  # send it back with an edit: a stale one is a conflict
    overrides: dict[str, Any]
    source: str  # "upload" | "folder" | "console" (FAQ answers, restored files)

    @property
    def hidden(self) -> bool:
        return self.record.status == HIDDEN


def safe_upload_name(name: str) -> str:
    """The client's file name if it is a plain, supported file name; else InvalidInputError.

    Never trusted as a path: separators, ``..``, NUL and control characters are refused
    (not cleaned up), so ``../../etc/passwd.md`` is an error, not ``passwd.md``.
    """
    if not name or not name.strip():
        raise InvalidInputError("the file has no name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInputError("the file name holds control characters (e.g. NUL)")
    if "/" in name or "\\" in name or name.strip() in (".", ".."):
        raise InvalidInputError(
            f"the file name {name!r} is a path; only a plain file name is accepted"
        )
    clean = unicodedata.normalize("NFC", name.strip())
    if clean.startswith("."):
        raise InvalidInputError(f"hidden file names are not accepted ({clean!r})")
    if len(clean.encode("utf-8")) > _NAME_MAX_BYTES:
        raise InvalidInputError(f"the file name is longer than {_NAME_MAX_BYTES} bytes")
    ext = Path(clean).suffix.lower()
    if ext not in FORMATS:
        shown = f"'{ext}'" if ext else "(no extension)"
        raise InvalidInputError(
            f"unsupported file type {shown}; supported: {', '.join(sorted(FORMATS))}"
        )
    return clean


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(_MB), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


class KnowledgeAdminService:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        history: KbHistory,
        data_dir: Path,
        max_upload_bytes: int,
        max_file_bytes: int,
    ) -> None:
        self.kb = kb
        self.history = history
        self.data_dir = data_dir
        self.uploads_dir = data_dir / "uploads"
        self.max_upload_bytes = max_upload_bytes
        # An accepted upload must also load: the loader's own limit is at least as large.
        self.max_load_bytes = max(max_file_bytes, max_upload_bytes)
        self._lock = threading.RLock()  # one change at a time in this process
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-ingest")
        self._futures: dict[str, Future] = {}
        self.history.fail_stale_jobs()

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until a job of this process ends (tests, scripts); return its final state."""
        future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)
        return self.history.job(job_id)

    # --- who may act where (tutor/access.py) -------------------------------------------
    def checked_course(self, actor: User, requested: str | None, *, action: str = "read") -> str:
        """The course ``actor`` works on (an instructor's own, the one an admin names), with
        its id checked."""
        course = Access(actor).course_for(requested, resource="kb", action=action)
        if not _COURSE_ID.match(course):
            raise InvalidInputError(f"invalid course id {course!r}")
        return course

    def _document(self, actor: User, doc_id: str, *, action: str = "read") -> DocumentRecord:
        access = Access(actor)
        access.require_role(action, "kb")  # 403 before anything is looked up
        record = self.kb.registry.get(doc_id)
        if not access.may(action, "kb", record.course):
            raise NotFoundError(f"no document {doc_id!r} in the knowledge base")
        return record

    def _view(self, record: DocumentRecord) -> DocumentView:
        fields, revision = self.kb.registry.overrides(record.doc_id)
        return DocumentView(record, self._token(record, revision), fields, self._source(record))

    @staticmethod
    def _token(record: DocumentRecord, revision: int) -> str:
        return f"{revision}-{record.content_hash[:12]}"

    def _source(self, record: DocumentRecord) -> str:
        path = Path(record.source_path)
        if _is_under(path, self.uploads_dir):
            return "upload"
        return "console" if _is_under(path, self.data_dir) else "folder"

    def _audit(self, actor: User, course: str, action: str, doc_id=None, **details) -> None:
        self.history.record(
            actor=actor.username,
            role=actor.role,
            course=course,
            action=action,
            doc_id=doc_id,
            details=details,
        )

    # --- reading ------------------------------------------------------------------------
    def documents(
        self,
        actor: User,
        *,
        course: str | None,
        module: str | None = None,
        kind: str | None = None,
        level: int | None = None,
        lang: str | None = None,
        q: str | None = None,
    ) -> list[DocumentView]:
        """The course's documents, filtered; ``q`` matches title, id, module and skills, and
        also finds documents among the search's top 20 for ``q`` whose text holds one of its
        words (BM25 matched; hidden documents are found by title only)."""
        course = self.checked_course(actor, course)
        records = self.kb.registry.list(course=course)
        if module:
            records = [r for r in records if (r.module or "") == module]
        if kind:
            records = [r for r in records if r.kind == kind]
        if level is not None:
            records = [r for r in records if r.level == level]
        if lang:
            records = [r for r in records if r.lang == lang]
        if q and q.strip():
            needle = q.strip().lower()
            from knowledge.types import SearchFilter

            hits = self.kb.search(
                q, k=20, where=SearchFilter(course=course, include_solutions=True)
            )
            by_text = {h.chunk.doc_id for h in hits if h.signals.get("lexical", 0.0) > 0}
            records = [
                r
                for r in records
                if r.doc_id in by_text
                or needle in r.title.lower()
                or needle in r.doc_id.lower()
                or needle in (r.module or "").lower()
                or any(needle in s for s in r.skills)
            ]
        return [self._view(r) for r in records]

    def document(self, actor: User, doc_id: str) -> DocumentView:
        return self._view(self._document(actor, doc_id))

    def chunks(self, actor: User, doc_id: str):
        """The document's chunks as the tutor quotes them (hidden ones included)."""
        self._document(actor, doc_id)
        return self.kb.registry.document_chunks(doc_id)

    def versions(
        self, actor: User, *, course: str | None, doc_id: str | None = None
    ) -> list[Version]:
        """Kept versions of the course's documents (of one, also a deleted one), newest
        first."""
        course = self.checked_course(actor, course)
        return self.history.versions(course=course, doc_id=doc_id)

    def audit(self, actor: User, *, course: str | None, doc_id: str | None = None, limit=200):
        course = self.checked_course(actor, course)
        return self.history.audit(course=course, doc_id=doc_id, limit=limit)

    def job(self, actor: User, job_id: str) -> Job:
        access = Access(actor)
        access.require_role("read", "kb")
        job = self.history.job(job_id)
        if not access.may("read", "kb", job.course):
            raise NotFoundError(f"no job {job_id!r}")
        return job

    def jobs(self, actor: User, *, course: str | None) -> list[Job]:
        return self.history.jobs(course=self.checked_course(actor, course))

    # --- uploads ------------------------------------------------------------------------
    def upload(
        self, actor: User, *, course: str | None, name: str, stream: BinaryIO
    ) -> UploadResult:
        """Receive one file and queue its ingest; bad files are rejected with a reason and
        nothing is stored. A file whose bytes the course already holds is a duplicate."""
        course = self.checked_course(actor, course, action="change")
        try:
            clean = safe_upload_name(name)
        except InvalidInputError as exc:
            return self._reject(actor, course, name, str(exc))
        incoming = self.uploads_dir / ".incoming" / uuid.uuid4().hex / clean
        incoming.parent.mkdir(parents=True, exist_ok=True)
        try:
            digest, size = self._receive(stream, incoming)
        except InvalidInputError as exc:
            shutil.rmtree(incoming.parent, ignore_errors=True)
            return self._reject(actor, course, clean, str(exc))
        doc_id = f"{course}/uploads/{clean}"
        with self._lock:
            known = {r.content_hash: r.doc_id for r in self.kb.registry.list(course=course)}
            queued = self.history.active_hashes(course=course)
            duplicate_of = known.get(digest) or (
                f"{course}/uploads/{queued[digest]}" if digest in queued else None
            )
            if duplicate_of:
                shutil.rmtree(incoming.parent, ignore_errors=True)
                self._audit(actor, course, "upload_duplicate", duplicate_of, name=clean)
                return UploadResult(
                    clean,
                    "duplicate",
                    reason=f"the course already holds this file as {duplicate_of}",
                    doc_id=duplicate_of,
                    duplicate_of=duplicate_of,
                )
            job = self.history.create_job(
                kind="upload", course=course, actor=actor.username, name=clean, content_hash=digest
            )
        self._futures[job.id] = self._executor.submit(
            self._run_upload, job.id, actor=actor, course=course, incoming=incoming, size=size
        )
        return UploadResult(clean, "queued", job_id=job.id, doc_id=doc_id)

    def _reject(self, actor: User, course: str, name: str, reason: str) -> UploadResult:
        self._audit(actor, course, "upload_rejected", None, name=name[:255], reason=reason)
        return UploadResult(name[:255], "rejected", reason=reason)

    def _receive(self, stream: BinaryIO, dest: Path) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        limit = self.max_upload_bytes
        with dest.open("wb") as out:
            while block := stream.read(_MB):
                size += len(block)
                if size > limit:
                    raise InvalidInputError(
                        f"the file is over the {limit / _MB:g} MB upload limit (KDT_UPLOAD_MAX_MB)"
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise InvalidInputError("empty file")
        return digest.hexdigest(), size

    def _run_upload(self, job_id: str, *, actor: User, course: str, incoming: Path, size: int):
        started = time.perf_counter()
        name = incoming.name
        doc_id = f"{course}/uploads/{name}"
        final = self.uploads_dir / course / name
        try:
            self.history.update_job(job_id, status="running", phase="reading")
            doc = load_document(
                incoming, course_root=incoming.parent, course=course, max_bytes=self.max_load_bytes
            )
            if doc.meta.course != course:
                raise LoadError(
                    f"its front matter says course: {doc.meta.course}; upload it to that course"
                )
            doc = dataclasses.replace(doc, doc_id=doc_id, source_path=str(final))
            self.history.update_job(job_id, phase="embedding")
            prepared = self.kb.prepare_many([doc], progress=self._progress(job_id))[0]
            self.history.update_job(job_id, phase="writing")
            with self._lock:
                replaced = self._snapshot_if_exists(doc_id, actor=actor, reason="replaced")
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(incoming, final)
                self.kb.write(prepared)
                self.kb.refresh_lexical()
                fields, revision = self.kb.registry.overrides(doc_id)
                self.kb.registry.set_overrides(doc_id, fields, revision=revision)  # new version
                record = self.kb.registry.get(doc_id)
                self._audit(
                    actor,
                    course,
                    "replace" if replaced else "upload",
                    doc_id,
                    name=name,
                    size_bytes=size,
                    content_hash=record.content_hash,
                    chunks=record.chunk_count,
                    previous_version=replaced.id if replaced else None,
                )
            report = {
                "doc_id": doc_id,
                "title": record.title,
                "kind": record.kind,
                "lang": record.lang,
                "format": record.format,
                "chunks": record.chunk_count,
                "status": record.status,
                "replaced": bool(replaced),
                "previous_version": replaced.id if replaced else None,
                "seconds": round(time.perf_counter() - started, 3),
            }
            self.history.update_job(job_id, status="done", phase="done", report=report)
        except LoadError as exc:
            self._audit(actor, course, "upload_failed", doc_id, name=name, reason=exc.reason)
            self.history.update_job(job_id, status="failed", error=exc.reason)
        except Exception as exc:  # the job must end, and say why, whatever happened
            log.exception("upload job %s failed", job_id)
            self.history.update_job(job_id, status="failed", error=f"internal error: {exc}")
        finally:
            shutil.rmtree(incoming.parent, ignore_errors=True)

    def _progress(self, job_id: str) -> Callable[[int, int], None]:
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if done in (0, total) or now - last[0] >= 0.3:  # at most ~3 writes a second
                last[0] = now
                self.history.update_job(job_id, done=done, total=total)

        return report

    # --- versions -----------------------------------------------------------------------
    def _snapshot_if_exists(self, doc_id: str, *, actor: User, reason: str) -> Version | None:
        try:
            record = self.kb.registry.get(doc_id)
        except NotFoundError:
            return None
        return self._snapshot(record, actor=actor, reason=reason)

    def _snapshot(
        self, record: DocumentRecord, *, actor: User, reason: str, fields: dict | None = None
    ) -> Version:
        """Keep the document as it is now (metadata, overrides, file bytes) as a version;
        ``fields``: its overrides as they were, when they were just changed."""
        if fields is None:
            fields, _ = self.kb.registry.overrides(record.doc_id)
        try:
            content = Path(record.source_path).read_bytes()
        except OSError:
            content = b""  # the file is gone: the version keeps the metadata only
        return self.history.save_version(
            doc_id=record.doc_id,
            course=record.course,
            actor=actor.username,
            reason=reason,
            file_name=Path(record.source_path).name,
            content=content,
            content_hash=hashlib.sha256(content).hexdigest() if content else "",
            meta=record.as_json(),
            overrides=fields,
        )

    def restore(self, actor: User, version_id: str) -> DocumentView:
        """Make a kept version the current document again (the current state is kept as a
        version first, so a restore can itself be undone)."""
        access = Access(actor)
        access.require_role("change", "kb")
        version = self.history.version(version_id)
        if not access.may("change", "kb", version.course):
            raise NotFoundError(f"no version {version_id!r}")
        content = self.history.version_bytes(version_id) if version.size_bytes else b""
        if not content:
            raise InvalidInputError("no file was kept with this version; it cannot be restored")
        with self._lock:
            current = self._snapshot_if_exists(version.doc_id, actor=actor, reason="restored_over")
            source = Path(version.meta["source_path"])
            if _sha256(source) == version.content_hash:
                path = source  # the file on disk is already this version's
            elif _is_under(source, self.uploads_dir):
                path = source
            else:
                path = self.data_dir / "kb_restored" / version.id / version.file_name
            if path != source or _sha256(path) != version.content_hash:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                tmp.write_bytes(content)
                os.replace(tmp, path)
            try:
                doc = load_document(
                    path, course_root=path.parent, course=version.course,
                    max_bytes=self.max_load_bytes,
                )  # fmt: skip
            except LoadError as exc:
                raise InvalidInputError(f"the kept file no longer loads: {exc.reason}") from exc
            meta = {k: version.meta[k] for k in _META_FIELDS if k in version.meta}
            meta["skills"] = tuple(meta.get("skills", ()))
            meta["prerequisites"] = tuple(meta.get("prerequisites", ()))
            doc = dataclasses.replace(
                doc, doc_id=version.doc_id, source_path=str(path), meta=DocumentMeta(**meta)
            )
            _, revision = self.kb.registry.overrides(version.doc_id)
            self.kb.registry.set_overrides(version.doc_id, version.overrides, revision=revision)
            self.kb.write(self.kb.prepare(doc))
            self.kb.refresh_lexical()
            self._audit(
                actor,
                version.course,
                "restore",
                version.doc_id,
                version=version.id,
                version_reason=version.reason,
                previous_version=current.id if current else None,
            )
            return self._view(self.kb.registry.get(version.doc_id))

    # --- edits --------------------------------------------------------------------------
    def edit(
        self, actor: User, doc_id: str, *, version: str, changes: dict[str, Any]
    ) -> DocumentView:
        """Change metadata (``EDITABLE``) and re-index. ``version`` is the one the editor
        saw; if the document changed since, ``ConflictError`` and nothing changes."""
        clean = self._validate(changes)
        with self._lock:
            record = self._document(actor, doc_id, action="change")
            fields, revision = self.kb.registry.overrides(doc_id)
            if version != self._token(record, revision):
                raise ConflictError(
                    f"{doc_id} changed since you loaded it (someone else edited or replaced "
                    "it); reload it and apply your change again"
                )
            before = record.as_json()
            new_fields = {**fields, **clean}
            # The compare-and-set: another worker's edit in between makes this one fail.
            self.kb.registry.set_overrides(doc_id, new_fields, revision=revision)
            kept = self._snapshot(record, actor=actor, reason="edited", fields=fields)
            self.kb.reindex(doc_id)
            after = self.kb.registry.get(doc_id)
            diff = {
                key: [before.get(key) if key != "hidden" else record.status == HIDDEN, value]
                for key, value in clean.items()
            }
            action = "edit"
            if set(clean) == {"hidden"}:
                action = "hide" if clean["hidden"] else "unhide"
            self._audit(
                actor, record.course, action, doc_id, changes=diff, previous_version=kept.id
            )
            return self._view(after)

    @staticmethod
    def _validate(changes: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InvalidInputError(
                f"cannot edit {', '.join(unknown)}; editable: {', '.join(EDITABLE)}"
            )
        if not changes:
            raise InvalidInputError("nothing to change")
        clean: dict[str, Any] = {}
        raw = dict(changes)
        if "hidden" in raw:
            if not isinstance(raw["hidden"], bool):
                raise InvalidInputError("hidden must be true or false")
            clean["hidden"] = raw.pop("hidden")
        for key in ("level", "module"):  # may be cleared with null
            if key in raw and raw[key] in (None, ""):
                clean[key] = None
                raw.pop(key)
        for key in ("skills", "prerequisites"):  # an empty list clears them
            if key in raw and raw[key] in ([], ""):
                clean[key] = []
                raw.pop(key)
        for key in ("title", "kind", "lang"):
            if key in raw and raw[key] in (None, ""):
                raise InvalidInputError(f"{key} cannot be empty")
        try:
            parsed = parse_meta(raw, defaults={})
        except LoadError as exc:
            raise InvalidInputError(exc.reason) from exc
        for key, value in parsed.items():
            clean[key] = list(value) if isinstance(value, tuple) else value
        return clean

    def delete(self, actor: User, doc_id: str, *, version: str | None = None) -> dict[str, Any]:
        """Remove a document from the knowledge base (kept as a version, restorable).

        Past answers that cited it keep their quoted passages (they are stored with the
        message). An uploaded file is deleted too; a course folder's file stays where it
        is, so re-syncing the folder brings the document back (hide it to keep it out)."""
        with self._lock:
            record = self._document(actor, doc_id, action="change")
            _, revision = self.kb.registry.overrides(doc_id)
            if version is not None and version != self._token(record, revision):
                raise ConflictError(f"{doc_id} changed since you loaded it; reload and retry")
            kept = self._snapshot(record, actor=actor, reason="deleted")
            self.kb.remove(doc_id)
            self.kb.refresh_lexical()
            source = self._source(record)
            if source != "folder":
                Path(record.source_path).unlink(missing_ok=True)
            self._audit(
                actor, record.course, "delete", doc_id, version=kept.id, title=record.title,
                source=source,
            )  # fmt: skip
            return {
                "doc_id": doc_id,
                "version": kept.id,
                "file_remains": source == "folder",
                "source_path": record.source_path if source == "folder" else None,
            }

    # --- course folder, consistency -----------------------------------------------------
    def course_folder(self, course: str) -> Path:
        """The folder the course was ingested from, read off its documents' paths."""
        roots: Counter[Path] = Counter()
        prefix = f"{course}/"
        for r in self.kb.registry.list():
            source = Path(r.source_path)
            if not r.doc_id.startswith(prefix) or _is_under(source, self.data_dir):
                continue
            relative = r.doc_id[len(prefix) :]
            posix = source.as_posix()
            if posix.endswith("/" + relative):
                roots[Path(posix[: -len(relative) - 1])] += 1
        if not roots:
            raise InvalidInputError(
                f"course {course} has no folder to re-sync; ingest it once with "
                f"`kdt-tutor ingest FOLDER --course {course}`"
            )
        folder = roots.most_common(1)[0][0]
        if not folder.is_dir():
            raise InvalidInputError(f"the course folder {folder} is gone")
        return folder

    def resync(self, actor: User, *, course: str | None) -> Job:
        """Re-ingest the course folder (changed files replaced, new ones added, documents
        whose files are gone removed), as a job with progress per file."""
        course = self.checked_course(actor, course, action="change")
        folder = self.course_folder(course)
        job = self.history.create_job(
            kind="resync", course=course, actor=actor.username, name=str(folder)
        )
        self._futures[job.id] = self._executor.submit(
            self._run_resync, job.id, actor=actor, course=course, folder=folder
        )
        return job

    def _run_resync(self, job_id: str, *, actor: User, course: str, folder: Path) -> None:
        try:
            self.history.update_job(job_id, status="running", phase="reading")

            def progress(done: int, total: int, _label: str) -> None:
                self.history.update_job(job_id, done=done, total=total)

            with self._lock:
                report = ingest_path(
                    self.kb, folder, course=course, max_bytes=self.max_load_bytes,
                    progress=progress,
                )  # fmt: skip
                # Exercises and quiz items written in the console replace the folder's
                # versions of the same ids: apply them again after the folder.
                authored = authored_root(self.data_dir) / course
                if authored.is_dir():
                    again = ingest_path(
                        self.kb, authored, course=course, max_bytes=self.max_load_bytes
                    )
                    report.updated.extend(again.added + again.updated)
                    report.failed.extend(again.failed)
                for r in self.kb.registry.list():
                    source = Path(r.source_path)
                    gone = r.doc_id.startswith(f"{course}/") and not source.exists()
                    if gone and _is_under(source, folder):
                        self._snapshot(r, actor=actor, reason="removed_by_resync")
                        self.kb.remove(r.doc_id)
                        report.removed.append(r.doc_id)
                if report.removed:
                    self.kb.refresh_lexical()
                body = report.as_dict()
                self._audit(
                    actor, course, "resync", None, folder=str(folder),
                    added=report.added, updated=report.updated, removed=report.removed,
                    failed=body["failed"],
                )  # fmt: skip
            self.history.update_job(job_id, status="done", phase="done", report=body)
        except Exception as exc:
            log.exception("resync job %s failed", job_id)
            self.history.update_job(job_id, status="failed", error=str(exc))

    def check(self, actor: User, *, course: str | None, repair: bool = False) -> dict[str, Any]:
        """``kb check`` (and ``--repair``) for one course: the registry, vector and BM25
        indexes agree on its documents. Problems of the whole index (they name no document)
        are reported too, and repaired only for callers who may repair the whole index
        (admins: ``kb_index``); others' course documents are never looked at."""
        action = "change" if repair else "read"
        course = self.checked_course(actor, course, action=action)
        whole_index = Access(actor).may("change", "kb_index", course)
        with self._lock:
            problems = self.kb.check(course=course)
            fixable = [p for p in problems if p.doc_ids or whole_index]
            repaired: list[str] = []
            if repair and fixable:
                repaired = self.kb.repair(fixable)
                self._audit(actor, course, "repair", None, repaired=repaired)
            remaining = self.kb.check(course=course) if repaired else problems
            records = self.kb.registry.list(course=course)
        return {
            "course": course,
            "consistent": not remaining,
            "documents": len(records),
            "chunks": sum(r.chunk_count for r in records),
            "problems": [
                {"kind": p.kind, "detail": p.detail, "doc_ids": p.doc_ids} for p in remaining
            ],
            "found": [{"kind": p.kind, "detail": p.detail} for p in problems],
            "repaired": repaired,
        }

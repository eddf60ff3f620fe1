"""Knowledge base management for instructors: uploads, listing, metadata edits, hiding,
deleting, restoring, re-syncing a course folder, consistency checks.

``KnowledgeAdminService`` is the one entry point (the API and the CLI use it): it reads the
knowledge base itself and hands each change to the module that makes it:

- ``kb_context``: what they all share (access checks, document views, audit, kept versions,
  the process's lock and ingest thread);
- ``kb_uploads``: receiving a file and ingesting it as a job;
- ``kb_edits``: metadata edits, hiding, deleting, restoring a kept version;
- ``kb_sync``: re-syncing the course folder (a job), the consistency check and its repair.

Who may do what is the access policy's ``kb`` rules (``tutor/accounts/access.py``): instructors act
on their own course only, admins on any; anyone else is refused. A document, job or version
of another course is reported as *not found*, so ids leak nothing. The consistency check
and its repair keep to one course's documents; problems of the whole index (stale BM25
index, vectors of no chunk) are reported to everyone and repaired by admins only
(``kb_index``).

Where files live (under the data dir):
- ``uploads/<course>/<name>``: uploaded files; their document id is
  ``<course>/uploads/<name>`` (never one of the course folder's ids).
- ``uploads/.incoming/<worker>/<upload>/<name>``: an upload being received and checked; it
  replaces the stored file only once it loaded, so a corrupt upload never costs the
  previous version. A worker's folder goes when its process is found dead.
- ``kb_restored/<version>/<name>``: the file of a restored version of a document that
  came from a course folder (the course folder itself is never written to).
- ``kb_versions/``: the bytes of every kept version (``tutor.curation.kb_history``).

Every change is written to the audit log, and the state a change replaces is kept as a
version first. Metadata edits and hiding are console *overrides* (``knowledge.registry``):
they are applied over the file's own front matter on every later ingest too. An edit names
the version of the document it was based on; if the document changed since, the edit is
refused with ``ConflictError`` and nothing changes.

Uploads are ingested by one background thread per process (jobs with progress in
``kb_jobs``): reading, then embedding chunk by chunk, then writing. Each job names the
process that runs it (``kb_workers``): when that process dies (kill -9, a crash, power
loss), its jobs are failed with the reason at the next start of any worker on the same
machine, or within a minute by a live worker elsewhere, and the same file can be uploaded
again at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import SearchFilter
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.kb_context import DocumentView, KbContext
from tutor.curation.kb_edits import DocumentEdits
from tutor.curation.kb_history import Job, KbHistory, Version
from tutor.curation.kb_sync import KbSync
from tutor.curation.kb_uploads import KbUploads, UploadResult
from tutor.errors import NotFoundError


class KnowledgeAdminService:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        history: KbHistory,
        data_dir: Path,
        max_upload_bytes: int,
        max_file_bytes: int,
        test_pause_s: float = 0.0,
    ) -> None:
        self.kb = kb
        self.history = history
        self.data_dir = data_dir
        self.max_upload_bytes = max_upload_bytes
        # An accepted upload must also load: the loader's own limit is at least as large.
        self.max_load_bytes = max(max_file_bytes, max_upload_bytes)
        # Registers this process as a worker (kb_workers) and fails the jobs of dead ones.
        self._ctx = KbContext(
            kb=kb, history=history, data_dir=data_dir, max_load_bytes=self.max_load_bytes,
            test_pause_s=test_pause_s,
        )  # fmt: skip
        self.uploads_dir = self._ctx.uploads_dir
        self._uploads = KbUploads(self._ctx, max_upload_bytes=max_upload_bytes)
        self._edits = DocumentEdits(self._ctx)
        self._sync = KbSync(self._ctx)

    def close(self) -> None:
        self._ctx.close()

    def recover(self) -> list[Job]:
        """Fail the jobs left queued or running by a process that died (killed, crashed),
        with the reason, and remove their staging files (``KbContext.recover``). Runs at
        start, on every heartbeat and before each upload's duplicate check."""
        return self._ctx.recover()

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until a job of this process ends (tests, scripts); return its final state."""
        return self._ctx.wait(job_id, timeout)

    def checked_course(self, actor: User, requested: str | None, *, action: str = "read") -> str:
        """The course ``actor`` works on (an instructor's own, the one an admin names), with
        its id checked."""
        return self._ctx.checked_course(actor, requested, action=action)

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
        return [self._ctx.view(r) for r in records]

    def document(self, actor: User, doc_id: str) -> DocumentView:
        return self._ctx.view(self._ctx.document(actor, doc_id))

    def chunks(self, actor: User, doc_id: str):
        """The document's chunks as the tutor quotes them (hidden ones included)."""
        self._ctx.document(actor, doc_id)
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

    # --- changes (each in its own module) -------------------------------------------------
    def upload(
        self, actor: User, *, course: str | None, name: str, stream: BinaryIO
    ) -> UploadResult:
        """Receive one file and queue its ingest (``kb_uploads``)."""
        return self._uploads.upload(actor, course=course, name=name, stream=stream)

    def edit(
        self, actor: User, doc_id: str, *, version: str, changes: dict[str, Any]
    ) -> DocumentView:
        """Change metadata and re-index, unless the document changed since ``version``
        (``kb_edits``)."""
        return self._edits.edit(actor, doc_id, version=version, changes=changes)

    def delete(self, actor: User, doc_id: str, *, version: str | None = None) -> dict[str, Any]:
        """Remove a document (kept as a version, restorable; ``kb_edits``)."""
        return self._edits.delete(actor, doc_id, version=version)

    def restore(self, actor: User, version_id: str) -> DocumentView:
        """Make a kept version the current document again (``kb_edits``)."""
        return self._edits.restore(actor, version_id)

    def course_folder(self, course: str) -> Path:
        """The folder the course was ingested from (``kb_sync``)."""
        return self._sync.course_folder(course)

    def resync(self, actor: User, *, course: str | None) -> Job:
        """Re-ingest the course folder as a job (``kb_sync``)."""
        return self._sync.resync(actor, course=course)

    def check(self, actor: User, *, course: str | None, repair: bool = False) -> dict[str, Any]:
        """The course's consistency check, and its repair (``kb_sync``)."""
        return self._sync.check(actor, course=course, repair=repair)

"""A course's folder and the consistency of its index: re-sync and check (and repair).

Re-syncing ingests the folder the course was ingested from again, as a job on the ingest
thread with progress per file: changed files are replaced, new ones added, documents whose
files are gone removed (each kept as a version first), and the exercises and quiz items
written in the console are applied again over the folder's.

The check compares the registry, the vector index and the BM25 index on one course's
documents. Problems of the whole index (a stale BM25 index, vectors of no chunk) name no
document: they are reported to everyone and repaired only for admins (``kb_index`` in
``tutor/accounts/access.py``).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from knowledge.ingest import ingest_path
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.authored_folder import authored_root
from tutor.curation.kb_context import KbContext, is_under
from tutor.curation.kb_history import Job
from tutor.errors import InvalidInputError

log = logging.getLogger("kdt.kb_admin")


class KbSync:
    def __init__(self, ctx: KbContext) -> None:
        self.ctx = ctx

    def course_folder(self, course: str) -> Path:
        """The folder the course was ingested from, read off its documents' paths."""
        roots: Counter[Path] = Counter()
        prefix = f"{course}/"
        for r in self.ctx.kb.registry.list():
            source = Path(r.source_path)
            if not r.doc_id.startswith(prefix) or is_under(source, self.ctx.data_dir):
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
        ctx = self.ctx
        course = ctx.checked_course(actor, course, action="change")
        folder = self.course_folder(course)
        job = ctx.history.create_job(
            kind="resync", course=course, actor=actor.username, name=str(folder),
            owner=ctx.workers.owner,
        )  # fmt: skip
        ctx.submit(job.id, self._run, actor=actor, course=course, folder=folder)
        return job

    def _run(self, job_id: str, *, actor: User, course: str, folder: Path) -> None:
        ctx = self.ctx
        try:
            ctx.history.update_job(job_id, status="running", phase="reading")
            ctx.pause_for_tests()

            def progress(done: int, total: int, _label: str) -> None:
                ctx.history.update_job(job_id, done=done, total=total)

            with ctx.lock:
                report = ingest_path(
                    ctx.kb, folder, course=course, max_bytes=ctx.max_load_bytes,
                    progress=progress,
                )  # fmt: skip
                # Exercises and quiz items written in the console replace the folder's
                # versions of the same ids: apply them again after the folder.
                authored = authored_root(ctx.data_dir) / course
                if authored.is_dir():
                    again = ingest_path(
                        ctx.kb, authored, course=course, max_bytes=ctx.max_load_bytes
                    )
                    report.updated.extend(again.added + again.updated)
                    report.failed.extend(again.failed)
                for r in ctx.kb.registry.list():
                    source = Path(r.source_path)
                    gone = r.doc_id.startswith(f"{course}/") and not source.exists()
                    if gone and is_under(source, folder):
                        ctx.snapshot(r, actor=actor, reason="removed_by_resync")
                        ctx.kb.remove(r.doc_id)
                        report.removed.append(r.doc_id)
                if report.removed:
                    ctx.kb.refresh_lexical()
                body = report.as_dict()
                ctx.audit(
                    actor, course, "resync", None, folder=str(folder),
                    added=report.added, updated=report.updated, removed=report.removed,
                    failed=body["failed"],
                )  # fmt: skip
            ctx.history.update_job(job_id, status="done", phase="done", report=body)
        except Exception as exc:
            log.exception("resync job %s failed", job_id)
            ctx.history.update_job(job_id, status="failed", error=str(exc))

    def check(self, actor: User, *, course: str | None, repair: bool = False) -> dict[str, Any]:
        """``kb check`` (and ``--repair``) for one course: the registry, vector and BM25
        indexes agree on its documents. Problems of the whole index (they name no document)
        are reported too, and repaired only for callers who may repair the whole index
        (admins: ``kb_index``); others' course documents are never looked at."""
        ctx = self.ctx
        action = "change" if repair else "read"
        course = ctx.checked_course(actor, course, action=action)
        whole_index = Access(actor).may("change", "kb_index", course)
        with ctx.lock:
            problems = ctx.kb.check(course=course)
            fixable = [p for p in problems if p.doc_ids or whole_index]
            repaired: list[str] = []
            if repair and fixable:
                repaired = ctx.kb.repair(fixable)
                ctx.audit(actor, course, "repair", None, repaired=repaired)
            remaining = ctx.kb.check(course=course) if repaired else problems
            records = ctx.kb.registry.list(course=course)
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

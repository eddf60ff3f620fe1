"""Uploads to the knowledge base: one file received, checked and queued as an ingest job.

A file is received under ``uploads/.incoming/<worker>/<upload>/<name>`` and replaces the
stored file (``uploads/<course>/<name>``, document id ``<course>/uploads/<name>``) only once
it loaded, so a corrupt upload never costs the previous version; the version it replaces is
kept. Bad names and files over the limit are rejected with a reason and nothing is stored;
a file whose bytes the course already holds (a ready or hidden document) or is ingesting (a
job of a live worker) is a duplicate: a job that died with its process or a document left
mid-write never counts. The job, on the ingest thread (``KbContext.submit``), reads, then
embeds chunk by chunk, then writes, with its progress in ``kb_jobs``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from knowledge.errors import LoadError
from knowledge.loaders import load_document
from knowledge.registry import HIDDEN
from knowledge.types import FORMATS
from tutor.accounts.users import User
from tutor.curation.kb_context import MB, KbContext
from tutor.errors import InvalidInputError

log = logging.getLogger("kdt.kb_admin")

_NAME_MAX_BYTES = 200


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file right away (the ingest itself is ``job_id``)."""

    name: str
    status: str  # "queued" | "rejected" | "duplicate"
    reason: str | None = None
    job_id: str | None = None
    doc_id: str | None = None
    duplicate_of: str | None = None


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


class KbUploads:
    def __init__(self, ctx: KbContext, *, max_upload_bytes: int) -> None:
        self.ctx = ctx
        self.max_upload_bytes = max_upload_bytes

    def upload(
        self, actor: User, *, course: str | None, name: str, stream: BinaryIO
    ) -> UploadResult:
        """Receive one file and queue its ingest; bad files are rejected with a reason and
        nothing is stored. A file whose bytes the course already holds is a duplicate."""
        ctx = self.ctx
        course = ctx.checked_course(actor, course, action="change")
        try:
            clean = safe_upload_name(name)
        except InvalidInputError as exc:
            return self._reject(actor, course, name, str(exc))
        incoming = ctx.staging_dir / uuid.uuid4().hex / clean
        incoming.parent.mkdir(parents=True, exist_ok=True)
        try:
            digest, size = self._receive(stream, incoming)
        except InvalidInputError as exc:
            shutil.rmtree(incoming.parent, ignore_errors=True)
            return self._reject(actor, course, clean, str(exc))
        doc_id = f"{course}/uploads/{clean}"
        with ctx.lock:
            ctx.recover()  # a job whose process died must not make this a duplicate
            known = {
                r.content_hash: r.doc_id
                for r in ctx.kb.registry.list(course=course)
                if r.status in ("ready", HIDDEN)  # not one left mid-write
            }
            queued = ctx.history.active_hashes(course=course)
            duplicate_of = known.get(digest) or (
                f"{course}/uploads/{queued[digest]}" if digest in queued else None
            )
            if duplicate_of:
                shutil.rmtree(incoming.parent, ignore_errors=True)
                ctx.audit(actor, course, "upload_duplicate", duplicate_of, name=clean)
                return UploadResult(
                    clean,
                    "duplicate",
                    reason=f"the course already holds this file as {duplicate_of}",
                    doc_id=duplicate_of,
                    duplicate_of=duplicate_of,
                )
            job = ctx.history.create_job(
                kind="upload", course=course, actor=actor.username, name=clean,
                content_hash=digest, owner=ctx.workers.owner,
            )  # fmt: skip
        ctx.submit(job.id, self._run, actor=actor, course=course, incoming=incoming, size=size)
        return UploadResult(clean, "queued", job_id=job.id, doc_id=doc_id)

    def _reject(self, actor: User, course: str, name: str, reason: str) -> UploadResult:
        self.ctx.audit(actor, course, "upload_rejected", None, name=name[:255], reason=reason)
        return UploadResult(name[:255], "rejected", reason=reason)

    def _receive(self, stream: BinaryIO, dest: Path) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        limit = self.max_upload_bytes
        with dest.open("wb") as out:
            while block := stream.read(MB):
                size += len(block)
                if size > limit:
                    raise InvalidInputError(
                        f"the file is over the {limit / MB:g} MB upload limit (KDT_UPLOAD_MAX_MB)"
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise InvalidInputError("empty file")
        return digest.hexdigest(), size

    def _run(self, job_id: str, *, actor: User, course: str, incoming: Path, size: int) -> None:
        ctx = self.ctx
        started = time.perf_counter()
        name = incoming.name
        doc_id = f"{course}/uploads/{name}"
        final = ctx.uploads_dir / course / name
        try:
            ctx.history.update_job(job_id, status="running", phase="reading")
            doc = load_document(
                incoming, course_root=incoming.parent, course=course, max_bytes=ctx.max_load_bytes
            )
            if doc.meta.course != course:
                raise LoadError(
                    f"its front matter says course: {doc.meta.course}; upload it to that course"
                )
            doc = dataclasses.replace(doc, doc_id=doc_id, source_path=str(final))
            ctx.history.update_job(job_id, phase="embedding")
            ctx.pause_for_tests()
            prepared = ctx.kb.prepare_many([doc], progress=self._progress(job_id))[0]
            ctx.history.update_job(job_id, phase="writing")
            with ctx.lock:
                replaced = ctx.snapshot_if_exists(doc_id, actor=actor, reason="replaced")
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(incoming, final)
                ctx.kb.write(prepared)
                ctx.kb.refresh_lexical()
                fields, revision = ctx.kb.registry.overrides(doc_id)
                ctx.kb.registry.set_overrides(doc_id, fields, revision=revision)  # new version
                record = ctx.kb.registry.get(doc_id)
                ctx.audit(
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
            ctx.history.update_job(job_id, status="done", phase="done", report=report)
        except LoadError as exc:
            ctx.audit(actor, course, "upload_failed", doc_id, name=name, reason=exc.reason)
            ctx.history.update_job(job_id, status="failed", error=exc.reason)
        except Exception as exc:  # the job must end, and say why, whatever happened
            log.exception("upload job %s failed", job_id)
            ctx.history.update_job(job_id, status="failed", error=f"internal error: {exc}")
        finally:
            shutil.rmtree(incoming.parent, ignore_errors=True)

    def _progress(self, job_id: str) -> Callable[[int, int], None]:
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if done in (0, total) or now - last[0] >= 0.3:  # at most ~3 writes a second
                last[0] = now
                self.ctx.history.update_job(job_id, done=done, total=total)

        return report

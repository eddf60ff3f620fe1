"""What every knowledge base console operation shares (``tutor.curation.kb_admin``).

``KbContext`` holds the knowledge base, its history and the data folders, and answers the
questions each operation asks first or last:

- who may act where: the course an actor works on, a document looked up only when the actor
  may see its course (else *not found*, so ids leak nothing);
- how a document is shown: its view with the version token an edit sends back;
- what is remembered: the audit entry of a change and the version kept before it;
- one change at a time in this process (``lock``) and one ingest thread (``submit``) that
  runs upload and re-sync jobs;
- which jobs died with their process (``recover``): at start, on every heartbeat and
  before an upload's duplicate check, the queued and running jobs of dead workers
  (``kb_workers``) are failed with the reason, and their staging files removed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.knowledge_base import KnowledgeBase
from knowledge.registry import HIDDEN, DocumentRecord
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.kb_history import Job, KbHistory, Version
from tutor.curation.kb_workers import KbWorkers
from tutor.errors import InvalidInputError, NotFoundError

log = logging.getLogger("kdt.kb_admin")

MB = 1024 * 1024
_COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class DocumentView:
    record: DocumentRecord
    version: str  # send it back with an edit: a stale one is a conflict
    overrides: dict[str, Any]
    source: str  # "upload" | "folder" | "console" (FAQ answers, restored files)

    @property
    def hidden(self) -> bool:
        return self.record.status == HIDDEN


def is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(MB), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


class KbContext:
    """``test_pause_s`` (tests only, ``KDT_TEST_JOB_PAUSE_S``): each job waits this long
    once it started, so a test can kill the process while it runs."""

    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        history: KbHistory,
        data_dir: Path,
        max_load_bytes: int,
        test_pause_s: float = 0.0,
    ) -> None:
        self.kb = kb
        self.history = history
        self.data_dir = data_dir
        self.uploads_dir = data_dir / "uploads"
        self.max_load_bytes = max_load_bytes
        self.test_pause_s = test_pause_s
        self.lock = threading.RLock()  # one change at a time in this process
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-ingest")
        self._futures: dict[str, Future] = {}
        self.workers = KbWorkers(history.engine)
        self.recover()
        self.workers.start_heartbeat(then=self.recover)

    @property
    def staging_root(self) -> Path:
        """``uploads/.incoming``: one folder per worker (its owner token)."""
        return self.uploads_dir / ".incoming"

    @property
    def staging_dir(self) -> Path:
        """Where this process receives uploads (``<staging_root>/<owner>/<upload>/<name>``)."""
        return self.staging_root / self.workers.owner

    # --- jobs whose process died ------------------------------------------------------------
    def recover(self) -> list[Job]:
        """Fail the queued and running jobs of dead workers with the reason, remove their
        staging files and forget them (``tutor.curation.kb_workers`` says who is dead).
        Returns the jobs failed."""
        # List the staging folders before asking who lives: a worker registers before it
        # makes its folder, so a folder seen here belongs to a row read below.
        try:
            staged = [p for p in self.staging_root.iterdir() if p.is_dir()]
        except OSError:
            staged = []
        owners = self.history.active_owners() | {p.name for p in staged}
        dead = self.workers.dead(owners)
        failed = self.history.fail_interrupted(dead)
        for folder in staged:
            if folder.name in dead:
                shutil.rmtree(folder, ignore_errors=True)
        self.workers.forget(dead)
        for job in failed:
            log.warning(
                "kb job %s (%s %s, course %s) interrupted: its process stopped; marked failed",
                job.id, job.kind, job.name, job.course,
            )  # fmt: skip
        return failed

    def pause_for_tests(self) -> None:
        if self.test_pause_s > 0:
            time.sleep(self.test_pause_s)

    # --- the ingest thread ----------------------------------------------------------------
    def submit(self, job_id: str, run: Callable[..., None], /, **kwargs: Any) -> None:
        """Run ``run(job_id, **kwargs)`` on the ingest thread."""
        self._futures[job_id] = self._executor.submit(run, job_id, **kwargs)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)
        return self.history.job(job_id)

    def close(self) -> None:
        """Let the running jobs end, then stop the heartbeat and leave ``kb_workers``."""
        self._executor.shutdown(wait=True)
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        self.workers.close()

    # --- who may act where (tutor/accounts/access.py) -------------------------------------------
    def checked_course(self, actor: User, requested: str | None, *, action: str = "read") -> str:
        """The course ``actor`` works on (an instructor's own, the one an admin names), with
        its id checked."""
        course = Access(actor).course_for(requested, resource="kb", action=action)
        if not _COURSE_ID.match(course):
            raise InvalidInputError(f"invalid course id {course!r}")
        return course

    def document(self, actor: User, doc_id: str, *, action: str = "read") -> DocumentRecord:
        access = Access(actor)
        access.require_role(action, "kb")  # 403 before anything is looked up
        record = self.kb.registry.get(doc_id)
        if not access.may(action, "kb", record.course):
            raise NotFoundError(f"no document {doc_id!r} in the knowledge base")
        return record

    # --- how a document is shown ----------------------------------------------------------
    def view(self, record: DocumentRecord) -> DocumentView:
        fields, revision = self.kb.registry.overrides(record.doc_id)
        return DocumentView(record, self.token(record, revision), fields, self.source(record))

    @staticmethod
    def token(record: DocumentRecord, revision: int) -> str:
        return f"{revision}-{record.content_hash[:12]}"

    def source(self, record: DocumentRecord) -> str:
        path = Path(record.source_path)
        if is_under(path, self.uploads_dir):
            return "upload"
        return "console" if is_under(path, self.data_dir) else "folder"

    # --- what is remembered ---------------------------------------------------------------
    def audit(self, actor: User, course: str, action: str, doc_id=None, **details) -> None:
        self.history.record(
            actor=actor.username,
            role=actor.role,
            course=course,
            action=action,
            doc_id=doc_id,
            details=details,
        )

    def snapshot_if_exists(self, doc_id: str, *, actor: User, reason: str) -> Version | None:
        try:
            record = self.kb.registry.get(doc_id)
        except NotFoundError:
            return None
        return self.snapshot(record, actor=actor, reason=reason)

    def snapshot(
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

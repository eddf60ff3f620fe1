"""What the knowledge base console remembers: the audit log, document versions, ingest jobs.

Tables (in the tutor database, next to ``tutor.store``'s):
- ``kb_audit``: one row per change an instructor or admin made (who, when, what, on which
  document, details as JSON). Rows are only ever added.
- ``kb_versions``: the state of a document just before a change replaced it (upload of a
  new file under the same name, metadata edit, hide, delete, restore): its metadata, its
  console overrides and the file's bytes (kept on disk under ``versions_dir``, named by the
  version id), so any of them can be restored.
- ``kb_jobs``: upload and re-sync jobs with their progress (phase, done of total) and the
  final report, so every API worker can answer "how far is it" for a job another worker
  runs. Each names the worker that runs it (``owner``, ``tutor.curation.kb_workers``):
  the jobs of a worker found dead are failed with the reason (``fail_interrupted``).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    inspect,
    select,
    update,
)

from tutor.errors import NotFoundError
from tutor.store import as_utc, create_schema, metadata

kb_audit = Table(
    "kb_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(40), nullable=False),
    Column("role", String(16), nullable=False),
    Column("course", String(128), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("doc_id", String(512), index=True),
    Column("details", Text, nullable=False),
)

kb_versions = Table(
    "kb_versions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("doc_id", String(512), nullable=False, index=True),
    Column("course", String(128), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(40), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("meta", Text, nullable=False),  # the registry record as JSON
    Column("overrides", Text, nullable=False),  # the console overrides as JSON
)

kb_jobs = Table(
    "kb_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # "upload" | "resync"
    Column("course", String(128), nullable=False, index=True),
    Column("actor", String(40), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_hash", String(64)),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("phase", String(16), nullable=False),  # queued | reading | embedding | writing | done
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("report", Text),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("owner", String(32), index=True),  # kb_workers.owner; NULL in older rows
)

ACTIVE = ("queued", "running")
# Rows written before jobs named their owner: failed when not heard of for this long.
LEGACY_STALE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str
    course: str
    action: str
    doc_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Version:
    id: str
    doc_id: str
    course: str
    created_at: datetime
    actor: str
    reason: str
    file_name: str
    content_hash: str
    size_bytes: int
    meta: dict[str, Any]
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    course: str
    actor: str
    name: str
    content_hash: str | None
    status: str
    phase: str
    done: int
    total: int
    report: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    owner: str | None = None  # the worker (kb_workers) that runs it


class KbHistory:
    """The three tables above; ``versions_dir`` holds the versions' bytes."""

    def __init__(self, engine: Engine, *, versions_dir: Path) -> None:
        self.engine = engine
        self.versions_dir = versions_dir
        create_schema(engine)

    # --- audit --------------------------------------------------------------------------
    def record(
        self,
        *,
        actor: str,
        role: str,
        course: str,
        action: str,
        doc_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(kb_audit).values(
                    at=datetime.now(UTC),
                    actor=actor,
                    role=role,
                    course=course,
                    action=action,
                    doc_id=doc_id,
                    details=json.dumps(details or {}, ensure_ascii=False, default=str),
                )
            )

    def audit(
        self, *, course: str, doc_id: str | None = None, limit: int = 200
    ) -> list[AuditEntry]:
        query = select(kb_audit).where(kb_audit.c.course == course)
        if doc_id is not None:
            query = query.where(kb_audit.c.doc_id == doc_id)
        query = query.order_by(kb_audit.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [
                AuditEntry(
                    r.id,
                    as_utc(r.at),
                    r.actor,
                    r.role,
                    r.course,
                    r.action,
                    r.doc_id,
                    json.loads(r.details),
                )  # fmt: skip
                for r in conn.execute(query)
            ]

    # --- versions -----------------------------------------------------------------------
    def save_version(
        self,
        *,
        doc_id: str,
        course: str,
        actor: str,
        reason: str,
        file_name: str,
        content: bytes,
        content_hash: str,
        meta: dict[str, Any],
        overrides: dict[str, Any],
    ) -> Version:
        version_id = uuid.uuid4().hex
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        path = self._blob(version_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # the bytes exist before the row that points at them
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(kb_versions).values(
                    id=version_id,
                    doc_id=doc_id,
                    course=course,
                    created_at=now,
                    actor=actor,
                    reason=reason,
                    file_name=file_name,
                    content_hash=content_hash,
                    size_bytes=len(content),
                    meta=json.dumps(meta, ensure_ascii=False, default=str),
                    overrides=json.dumps(overrides, ensure_ascii=False),
                )
            )
        return Version(
            version_id, doc_id, course, now, actor, reason, file_name, content_hash,
            len(content), meta, overrides,
        )  # fmt: skip

    def versions(self, *, course: str, doc_id: str | None = None) -> list[Version]:
        query = select(kb_versions).where(kb_versions.c.course == course)
        if doc_id is not None:
            query = query.where(kb_versions.c.doc_id == doc_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(kb_versions.c.created_at.desc()))
            return [self._version(r) for r in rows]

    def version(self, version_id: str) -> Version:
        with self.engine.connect() as conn:
            row = conn.execute(select(kb_versions).where(kb_versions.c.id == version_id)).first()
        if row is None:
            raise NotFoundError(f"no version {version_id!r}")
        return self._version(row)

    def version_bytes(self, version_id: str) -> bytes:
        try:
            return self._blob(version_id).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"the stored file of version {version_id!r} is missing") from exc

    def _blob(self, version_id: str) -> Path:
        return self.versions_dir / f"{version_id}.bin"

    @staticmethod
    def _version(r) -> Version:
        return Version(
            r.id, r.doc_id, r.course, as_utc(r.created_at), r.actor, r.reason, r.file_name,
            r.content_hash, r.size_bytes, json.loads(r.meta), json.loads(r.overrides),
        )  # fmt: skip

    # --- jobs ---------------------------------------------------------------------------
    def create_job(
        self,
        *,
        kind: str,
        course: str,
        actor: str,
        name: str,
        owner: str,
        content_hash: str | None = None,
    ) -> Job:
        now = datetime.now(UTC)
        job_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(kb_jobs).values(
                    id=job_id, kind=kind, course=course, actor=actor, name=name,
                    content_hash=content_hash, status="queued", phase="queued", done=0,
                    total=0, created_at=now, updated_at=now, owner=owner,
                )
            )  # fmt: skip
        return self.job(job_id)

    def update_job(self, job_id: str, **values: Any) -> None:
        if "report" in values and values["report"] is not None:
            values["report"] = json.dumps(values["report"], ensure_ascii=False, default=str)
        with self.engine.begin() as conn:
            conn.execute(
                update(kb_jobs)
                .where(kb_jobs.c.id == job_id)
                .values(updated_at=datetime.now(UTC), **values)
            )

    def job(self, job_id: str) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(kb_jobs).where(kb_jobs.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return self._job(row)

    def jobs(self, *, course: str, limit: int = 50) -> list[Job]:
        query = (
            select(kb_jobs)
            .where(kb_jobs.c.course == course)
            .order_by(kb_jobs.c.created_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [self._job(r) for r in conn.execute(query)]

    def active_hashes(self, *, course: str) -> dict[str, str]:
        """content hash -> job name of the course's upload jobs still queued or running."""
        query = select(kb_jobs.c.content_hash, kb_jobs.c.name).where(
            kb_jobs.c.course == course, kb_jobs.c.status.in_(ACTIVE), kb_jobs.c.kind == "upload"
        )
        with self.engine.connect() as conn:
            return {r.content_hash: r.name for r in conn.execute(query) if r.content_hash}

    def active_owners(self) -> set[str]:
        """The workers that hold queued or running jobs."""
        query = select(kb_jobs.c.owner).where(
            kb_jobs.c.status.in_(ACTIVE), kb_jobs.c.owner.is_not(None)
        )
        with self.engine.connect() as conn:
            return {r.owner for r in conn.execute(query.distinct())}

    def fail_interrupted(self, dead_owners: set[str]) -> list[Job]:
        """Fail the queued and running jobs of workers that died (and rows older than job
        owners, when not heard of for ``LEGACY_STALE_AFTER``), each with the reason and
        what to do; returns them as they were."""
        legacy = and_(
            kb_jobs.c.owner.is_(None),
            kb_jobs.c.updated_at < datetime.now(UTC) - LEGACY_STALE_AFTER,
        )
        ours = kb_jobs.c.owner.in_(dead_owners) if dead_owners else legacy
        query = select(kb_jobs).where(kb_jobs.c.status.in_(ACTIVE), ours | legacy)
        failed = []
        with self.engine.begin() as conn:
            for row in conn.execute(query).all():
                again = "upload the file again" if row.kind == "upload" else "re-sync again"
                error = (
                    f"interrupted: the server running this job stopped while it was "
                    f"{row.status} ({row.phase}); {again}"
                )
                done = conn.execute(
                    update(kb_jobs)
                    .where(kb_jobs.c.id == row.id, kb_jobs.c.status.in_(ACTIVE))
                    .values(status="failed", error=error, updated_at=datetime.now(UTC))
                )
                if done.rowcount:
                    failed.append(self._job(row))
        return failed

    @staticmethod
    def _job(r) -> Job:
        return Job(
            r.id, r.kind, r.course, r.actor, r.name, r.content_hash, r.status, r.phase, r.done,
            r.total, json.loads(r.report) if r.report else None, r.error,
            as_utc(r.created_at), as_utc(r.updated_at), r.owner,
        )  # fmt: skip


def kb_job_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """Console ingest jobs queued and running, over every worker (for ``/metrics``); zero
    while the table does not exist yet."""
    counts = {("kb", state): 0 for state in ACTIVE}
    if not inspect(engine).has_table(kb_jobs.name):
        return counts
    query = (
        select(kb_jobs.c.status, func.count())
        .where(kb_jobs.c.status.in_(ACTIVE))
        .group_by(kb_jobs.c.status)
    )
    with engine.connect() as conn:
        for status, n in conn.execute(query):
            counts[("kb", status)] = n
    return counts

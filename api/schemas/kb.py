"""Knowledge base management over HTTP (``/api/kb``): document edits, and the documents,
uploads, jobs, versions and audit entries the console's KB page (console_kb.js) reads. Times
are ISO 8601 strings as stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr


class DocumentEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: StrictStr | None = Field(default=None, max_length=64)
    title: StrictStr | None = Field(default=None, max_length=300)
    module: StrictStr | None = Field(default=None, max_length=200)
    kind: StrictStr | None = Field(default=None, max_length=16)
    level: int | None = None
    lang: StrictStr | None = Field(default=None, max_length=8)
    skills: list[StrictStr] | None = Field(default=None, max_length=50)
    prerequisites: list[StrictStr] | None = Field(default=None, max_length=50)
    hidden: StrictBool | None = None


class VersionBody(BaseModel):
    version: StrictStr | None = Field(default=None, max_length=64)


class DocumentPublic(BaseModel):
    """A document's registry record, its version token and how it is shown."""

    doc_id: str
    course: str
    title: str
    kind: str
    level: int | None
    lang: str
    module: str | None
    skills: list[str]
    prerequisites: list[str]
    exercise: str | None
    lesson_id: str
    format: str
    source_path: str
    content_hash: str
    size_bytes: int
    chunk_count: int
    status: str
    created_at: str | None
    updated_at: str | None
    version: str = Field(description="send it back with an edit: a stale one is a 409")
    hidden: bool
    overrides: dict[str, Any] = Field(description="metadata set in the console")
    source: str = Field(description='"upload" | "folder" | "console"')


class DocumentsPublic(BaseModel):
    course: str
    documents: list[DocumentPublic]
    modules: list[str] = Field(description="every module of the course (for the filter)")


class ChunkPublic(BaseModel):
    id: str
    index: int
    heading_path: list[str]
    line_start: int
    line_end: int
    text: str
    context_header: str


class DocumentChunksPublic(BaseModel):
    document: DocumentPublic
    chunks: list[ChunkPublic]


class DocumentDeletedPublic(BaseModel):
    doc_id: str
    version: str = Field(description="the kept version (restorable)")
    file_remains: bool = Field(description="a course folder's file: re-syncing brings it back")
    source_path: str | None


class UploadResultPublic(BaseModel):
    name: str
    status: str = Field(description='"queued" | "rejected" | "duplicate"')
    reason: str | None
    job_id: str | None
    doc_id: str | None
    duplicate_of: str | None


class UploadsPublic(BaseModel):
    course: str
    results: list[UploadResultPublic]


class JobPublic(BaseModel):
    """An upload or re-sync running in the background; poll until ``status`` is final."""

    id: str
    kind: str
    course: str
    actor: str
    name: str
    status: str
    phase: str
    done: int
    total: int
    report: dict[str, Any] | None
    error: str | None
    created_at: str
    updated_at: str


class JobsPublic(BaseModel):
    jobs: list[JobPublic]


class VersionPublic(BaseModel):
    id: str
    doc_id: str
    course: str
    created_at: str
    actor: str
    reason: str
    file_name: str
    size_bytes: int
    content_hash: str
    title: str | None
    kind: str | None
    level: int | None
    lang: str | None
    hidden: bool


class VersionsPublic(BaseModel):
    versions: list[VersionPublic]


class AuditEntryPublic(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    course: str
    action: str
    doc_id: str | None
    details: dict[str, Any]


class AuditPublic(BaseModel):
    entries: list[AuditEntryPublic]


class FoundProblemPublic(BaseModel):
    kind: str
    detail: str


class ProblemPublic(FoundProblemPublic):
    doc_ids: list[str] = Field(description="the documents it concerns (none: the whole index)")


class CheckReportPublic(BaseModel):
    """``kb check`` of one course: do the registry, vectors and BM25 agree?"""

    course: str
    consistent: bool
    documents: int
    chunks: int
    problems: list[ProblemPublic] = Field(description="what remains")
    found: list[FoundProblemPublic] = Field(description="what the check found (before a repair)")
    repaired: list[str]

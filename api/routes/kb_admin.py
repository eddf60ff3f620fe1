"""Knowledge base management over HTTP (instructors: their course; admins: any, ``?course=``).

Trainees get 403; a document, version or job of another course is 404 (the access
policy's ``kb`` rules, ``tutor/accounts/access.py``, applied by
``tutor/curation/kb_admin.py``). Check and repair keep to the course: problems of the whole
index are reported, repaired by admins.

- ``POST /api/kb/uploads`` multipart, one or many ``files``: per file ``{"name", "status":
  "queued" | "rejected" | "duplicate", "reason", "job_id", "doc_id", "duplicate_of"}``.
  A queued file is ingested in the background: poll ``GET /api/kb/jobs/{id}`` for
  ``{"status", "phase", "done", "total", "report", "error"}``.
- ``GET /api/kb/documents`` (``module``, ``kind``, ``level``, ``lang``, ``q``), ``GET
  /api/kb/documents/{doc_id}``, ``.../chunks``.
- ``PATCH /api/kb/documents/{doc_id}`` ``{"version", <fields>}`` (or ``If-Match``): edit
  metadata and re-index; a stale version is 409. ``POST .../hide``, ``.../unhide``,
  ``.../solution`` are the same with one field. ``DELETE`` (``If-Match`` optional).
- ``GET /api/kb/versions`` (``doc_id``), ``POST /api/kb/versions/{id}/restore``.
- ``GET /api/kb/audit``, ``POST /api/kb/resync`` (a job), ``GET /api/kb/check``,
  ``POST /api/kb/repair``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.formparsers import MultiPartException

from api.auth import CsrfAuthDep, CurrentUserDep
from api.deps import KbAdminServiceDep, SettingsDep
from api.request_limits import form_limits
from api.schemas.common import ERROR_RESPONSES
from api.schemas.kb import (
    AuditPublic,
    CheckReportPublic,
    DocumentChunksPublic,
    DocumentDeletedPublic,
    DocumentEdit,
    DocumentPublic,
    DocumentsPublic,
    JobPublic,
    JobsPublic,
    UploadsPublic,
    VersionBody,
    VersionsPublic,
)
from tutor.curation.kb_context import DocumentView
from tutor.curation.kb_history import AuditEntry, Job, Version
from tutor.curation.kb_uploads import UploadResult
from tutor.errors import InvalidInputError

router = APIRouter(prefix="/api/kb", tags=["knowledge base"], responses=ERROR_RESPONSES)

CourseQuery = Annotated[str | None, Query(max_length=128)]


class DocumentIdConvertor(PathConvertor):
    """``{doc_id:document}`` in the routes of a whole document: an id (a path: it ends with a
    file name, ``py/lessons/lists.md``) that does not end with one of the documents' actions.
    So ``PATCH /documents/x/hide`` is a 405 (hide is POST only), not an edit of a document
    called ``x/hide``."""

    regex = r".+(?<!/chunks)(?<!/hide)(?<!/unhide)(?<!/solution)"


register_url_convertor("document", DocumentIdConvertor())  # before the routes below use it


def _version(body_version: str | None, if_match: str | None, *, required: bool) -> str | None:
    version = body_version or (if_match.strip().strip('"') if if_match else None)
    if required and not version:
        raise InvalidInputError(
            "send the version you edited (the document's 'version', as body field or If-Match)"
        )
    return version


def document_json(view: DocumentView) -> dict[str, Any]:
    return {
        **view.record.as_json(),
        "version": view.version,
        "hidden": view.hidden,
        "overrides": view.overrides,
        "source": view.source,
    }


def upload_json(r: UploadResult) -> dict[str, Any]:
    return {
        "name": r.name,
        "status": r.status,
        "reason": r.reason,
        "job_id": r.job_id,
        "doc_id": r.doc_id,
        "duplicate_of": r.duplicate_of,
    }


def job_json(j: Job) -> dict[str, Any]:
    return {
        "id": j.id,
        "kind": j.kind,
        "course": j.course,
        "actor": j.actor,
        "name": j.name,
        "status": j.status,
        "phase": j.phase,
        "done": j.done,
        "total": j.total,
        "report": j.report,
        "error": j.error,
        "created_at": j.created_at.isoformat(),
        "updated_at": j.updated_at.isoformat(),
    }


def version_json(v: Version) -> dict[str, Any]:
    return {
        "id": v.id,
        "doc_id": v.doc_id,
        "course": v.course,
        "created_at": v.created_at.isoformat(),
        "actor": v.actor,
        "reason": v.reason,
        "file_name": v.file_name,
        "size_bytes": v.size_bytes,
        "content_hash": v.content_hash,
        "title": v.meta.get("title"),
        "kind": v.meta.get("kind"),
        "level": v.meta.get("level"),
        "lang": v.meta.get("lang"),
        "hidden": bool(v.overrides.get("hidden")),
    }


def audit_json(a: AuditEntry) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": a.at.isoformat(),
        "actor": a.actor,
        "role": a.role,
        "course": a.course,
        "action": a.action,
        "doc_id": a.doc_id,
        "details": a.details,
    }


@router.post(
    "/uploads",
    response_model=UploadsPublic,
    summary="Upload one or many files (multipart field 'files')",
)
async def upload(
    request: Request,
    auth: CsrfAuthDep,
    service: KbAdminServiceDep,
    settings: SettingsDep,
    course: CourseQuery = None,
) -> dict[str, Any]:
    # The body's size was checked before routing (api/request_limits.py: KDT_UPLOAD_MAX_FILES
    # files of KDT_UPLOAD_MAX_MB); the form's file count is checked as it is parsed.
    course = service.checked_course(auth.user, course, action="change")  # before the body
    try:
        form = await request.form(**form_limits(settings))  # as the CSRF check parsed it
    except MultiPartException as exc:
        raise InvalidInputError(f"invalid upload: {exc.message}") from exc
    files = [f for f in form.getlist("files") if isinstance(f, StarletteUploadFile)]
    if not files:
        raise InvalidInputError("no file: send them as the multipart field 'files'")

    def receive() -> list[UploadResult]:
        return [
            service.upload(auth.user, course=course, name=f.filename or "", stream=f.file)
            for f in files
        ]

    results = await run_in_threadpool(receive)
    return {"course": course, "results": [upload_json(r) for r in results]}


@router.get(
    "/jobs", response_model=JobsPublic, summary="Recent upload and re-sync jobs of the course"
)
def list_jobs(
    user: CurrentUserDep, service: KbAdminServiceDep, course: CourseQuery = None
) -> dict[str, Any]:
    return {"jobs": [job_json(j) for j in service.jobs(user, course=course)]}


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="Progress and report of one job")
def get_job(job_id: str, user: CurrentUserDep, service: KbAdminServiceDep) -> dict[str, Any]:
    return job_json(service.job(user, job_id))


@router.get(
    "/documents",
    response_model=DocumentsPublic,
    summary="The course's documents, filtered and searched",
)
def list_documents(
    user: CurrentUserDep,
    service: KbAdminServiceDep,
    course: CourseQuery = None,
    module: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    level: Annotated[int | None, Query(ge=1, le=4)] = None,
    lang: Annotated[str | None, Query(pattern="^(en|ko)$")] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    course = service.checked_course(user, course)
    views = service.documents(
        user, course=course, module=module or None, kind=kind or None, level=level,
        lang=lang or None, q=q,
    )  # fmt: skip
    every = service.documents(user, course=course) if (module or kind or level or q) else views
    return {
        "course": course,
        "documents": [document_json(v) for v in views],
        "modules": sorted({v.record.module for v in every if v.record.module}),
    }


@router.get(
    "/documents/{doc_id:path}/chunks",
    response_model=DocumentChunksPublic,
    summary="A document's chunks as the tutor sees them",
)
def document_chunks(doc_id: str, user: CurrentUserDep, service: KbAdminServiceDep):
    view = service.document(user, doc_id)
    return {
        "document": document_json(view),
        "chunks": [
            {
                "id": c.id,
                "index": c.index,
                "heading_path": list(c.heading_path),
                "line_start": c.line_start,
                "line_end": c.line_end,
                "text": c.text,
                "context_header": c.context_header,
            }
            for c in service.chunks(user, doc_id)
        ],
    }


def _edit(service, auth, doc_id: str, version: str | None, changes: dict) -> dict[str, Any]:
    return document_json(service.edit(auth.user, doc_id, version=version, changes=changes))


def edited_version(body: VersionBody, if_match: Annotated[str | None, Header()] = None) -> str:
    """The version a hide, unhide or solution mark was made against: the body's ``version``,
    else If-Match (422 without either)."""
    return _version(body.version, if_match, required=True)


# After CsrfAuthDep in the routes' parameters, so a caller who may not write gets 401/403,
# not a 422 about the version.
EditedVersionDep = Annotated[str, Depends(edited_version)]


@router.post(
    "/documents/{doc_id:path}/hide",
    response_model=DocumentPublic,
    summary="Hide a document from trainees",
)
def hide(
    doc_id: str, auth: CsrfAuthDep, service: KbAdminServiceDep, version: EditedVersionDep
):
    return _edit(service, auth, doc_id, version, {"hidden": True})


@router.post(
    "/documents/{doc_id:path}/unhide",
    response_model=DocumentPublic,
    summary="Show a hidden document again",
)
def unhide(
    doc_id: str, auth: CsrfAuthDep, service: KbAdminServiceDep, version: EditedVersionDep
):
    return _edit(service, auth, doc_id, version, {"hidden": False})


@router.post(
    "/documents/{doc_id:path}/solution",
    response_model=DocumentPublic,
    summary="Mark a document as solution material",
)
def mark_solution(
    doc_id: str, auth: CsrfAuthDep, service: KbAdminServiceDep, version: EditedVersionDep
):
    return _edit(service, auth, doc_id, version, {"kind": "solution"})


@router.get(
    "/documents/{doc_id:document}",
    response_model=DocumentPublic,
    summary="One document with its version token",
)
def get_document(doc_id: str, user: CurrentUserDep, service: KbAdminServiceDep):
    return document_json(service.document(user, doc_id))


@router.patch(
    "/documents/{doc_id:document}",
    response_model=DocumentPublic,
    summary="Edit metadata and re-index",
)
def edit_document(
    doc_id: str,
    body: DocumentEdit,
    auth: CsrfAuthDep,
    service: KbAdminServiceDep,
    if_match: Annotated[str | None, Header()] = None,
):
    version = _version(body.version, if_match, required=True)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    return _edit(service, auth, doc_id, version, changes)


@router.delete(
    "/documents/{doc_id:document}",
    response_model=DocumentDeletedPublic,
    summary="Delete a document (kept as a version)",
)
def delete_document(
    doc_id: str,
    auth: CsrfAuthDep,
    service: KbAdminServiceDep,
    version: Annotated[str | None, Query(max_length=64)] = None,
    if_match: Annotated[str | None, Header()] = None,
):
    return service.delete(auth.user, doc_id, version=_version(version, if_match, required=False))


@router.get(
    "/versions", response_model=VersionsPublic, summary="Kept versions of the course's documents"
)
def list_versions(
    user: CurrentUserDep,
    service: KbAdminServiceDep,
    course: CourseQuery = None,
    doc_id: Annotated[str | None, Query(max_length=512)] = None,
):
    return {
        "versions": [version_json(v) for v in service.versions(user, course=course, doc_id=doc_id)]
    }


@router.post(
    "/versions/{version_id}/restore",
    response_model=DocumentPublic,
    summary="Make a kept version current again",
)
def restore_version(version_id: str, auth: CsrfAuthDep, service: KbAdminServiceDep):
    return document_json(service.restore(auth.user, version_id))


@router.get("/audit", response_model=AuditPublic, summary="Who changed what, newest first")
def audit(
    user: CurrentUserDep,
    service: KbAdminServiceDep,
    course: CourseQuery = None,
    doc_id: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    entries = service.audit(user, course=course, doc_id=doc_id, limit=limit)
    return {"entries": [audit_json(a) for a in entries]}


@router.post(
    "/resync",
    response_model=JobPublic,
    summary="Re-sync the course folder (a job)",
    status_code=202,
)
def resync(auth: CsrfAuthDep, service: KbAdminServiceDep, course: CourseQuery = None):
    return job_json(service.resync(auth.user, course=course))


@router.get(
    "/check", response_model=CheckReportPublic, summary="kb check: registry, vectors and BM25 agree"
)
def check(user: CurrentUserDep, service: KbAdminServiceDep, course: CourseQuery = None):
    return service.check(user, course=course)


@router.post("/repair", response_model=CheckReportPublic, summary="kb check --repair")
def repair(auth: CsrfAuthDep, service: KbAdminServiceDep, course: CourseQuery = None):
    return service.check(auth.user, course=course, repair=True)

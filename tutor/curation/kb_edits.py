"""Changes to one document of the knowledge base: metadata edits, hiding, deleting, and
restoring a kept version.

Metadata edits and hiding are console *overrides* (``knowledge.registry``): they are applied
over the file's own front matter on every later ingest too. An edit names the version of
the document it was based on; if the document changed since, the edit is refused with
``ConflictError`` and nothing changes. Each change keeps the state it replaces as a version
first (``tutor.curation.kb_history``), so it can be undone by a restore, which is itself
kept and undoable. A restored file that came from a course folder is written under
``kb_restored/<version>/<name>`` (the course folder itself is never written to).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

from knowledge.errors import LoadError
from knowledge.frontmatter import parse_meta
from knowledge.loaders import load_document
from knowledge.registry import HIDDEN
from knowledge.types import DocumentMeta
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.curation.kb_context import DocumentView, KbContext, file_sha256, is_under
from tutor.errors import ConflictError, InvalidInputError, NotFoundError

EDITABLE = ("title", "module", "kind", "level", "lang", "skills", "prerequisites", "hidden")
_META_FIELDS = tuple(f.name for f in dataclasses.fields(DocumentMeta))


def validated_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The metadata changes of an edit, checked and normalised; ``InvalidInputError`` else."""
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


class DocumentEdits:
    def __init__(self, ctx: KbContext) -> None:
        self.ctx = ctx

    def edit(
        self, actor: User, doc_id: str, *, version: str, changes: dict[str, Any]
    ) -> DocumentView:
        """Change metadata (``EDITABLE``) and re-index. ``version`` is the one the editor
        saw; if the document changed since, ``ConflictError`` and nothing changes."""
        ctx = self.ctx
        clean = validated_changes(changes)
        with ctx.lock:
            record = ctx.document(actor, doc_id, action="change")
            fields, revision = ctx.kb.registry.overrides(doc_id)
            if version != ctx.token(record, revision):
                raise ConflictError(
                    f"{doc_id} changed since you loaded it (someone else edited or replaced "
                    "it); reload it and apply your change again"
                )
            before = record.as_json()
            new_fields = {**fields, **clean}
            # The compare-and-set: another worker's edit in between makes this one fail.
            ctx.kb.registry.set_overrides(doc_id, new_fields, revision=revision)
            kept = ctx.snapshot(record, actor=actor, reason="edited", fields=fields)
            ctx.kb.reindex(doc_id)
            after = ctx.kb.registry.get(doc_id)
            diff = {
                key: [before.get(key) if key != "hidden" else record.status == HIDDEN, value]
                for key, value in clean.items()
            }
            action = "edit"
            if set(clean) == {"hidden"}:
                action = "hide" if clean["hidden"] else "unhide"
            ctx.audit(actor, record.course, action, doc_id, changes=diff, previous_version=kept.id)
            return ctx.view(after)

    def delete(self, actor: User, doc_id: str, *, version: str | None = None) -> dict[str, Any]:
        """Remove a document from the knowledge base (kept as a version, restorable).

        Past answers that cited it keep their quoted passages (they are stored with the
        message). An uploaded file is deleted too; a course folder's file stays where it
        is, so re-syncing the folder brings the document back (hide it to keep it out)."""
        ctx = self.ctx
        with ctx.lock:
            record = ctx.document(actor, doc_id, action="change")
            _, revision = ctx.kb.registry.overrides(doc_id)
            if version is not None and version != ctx.token(record, revision):
                raise ConflictError(f"{doc_id} changed since you loaded it; reload and retry")
            kept = ctx.snapshot(record, actor=actor, reason="deleted")
            ctx.kb.remove(doc_id)
            ctx.kb.refresh_lexical()
            source = ctx.source(record)
            if source != "folder":
                Path(record.source_path).unlink(missing_ok=True)
            ctx.audit(
                actor, record.course, "delete", doc_id, version=kept.id, title=record.title,
                source=source,
            )  # fmt: skip
            return {
                "doc_id": doc_id,
                "version": kept.id,
                "file_remains": source == "folder",
                "source_path": record.source_path if source == "folder" else None,
            }

    def restore(self, actor: User, version_id: str) -> DocumentView:
        """Make a kept version the current document again (the current state is kept as a
        version first, so a restore can itself be undone)."""
        ctx = self.ctx
        access = Access(actor)
        access.require_role("change", "kb")
        version = ctx.history.version(version_id)
        if not access.may("change", "kb", version.course):
            raise NotFoundError(f"no version {version_id!r}")
        content = ctx.history.version_bytes(version_id) if version.size_bytes else b""
        if not content:
            raise InvalidInputError("no file was kept with this version; it cannot be restored")
        with ctx.lock:
            current = ctx.snapshot_if_exists(version.doc_id, actor=actor, reason="restored_over")
            source = Path(version.meta["source_path"])
            if file_sha256(source) == version.content_hash:
                path = source  # the file on disk is already this version's
            elif is_under(source, ctx.uploads_dir):
                path = source
            else:
                path = ctx.data_dir / "kb_restored" / version.id / version.file_name
            if path != source or file_sha256(path) != version.content_hash:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                tmp.write_bytes(content)
                os.replace(tmp, path)
            try:
                doc = load_document(
                    path, course_root=path.parent, course=version.course,
                    max_bytes=ctx.max_load_bytes,
                )  # fmt: skip
            except LoadError as exc:
                raise InvalidInputError(f"the kept file no longer loads: {exc.reason}") from exc
            meta = {k: version.meta[k] for k in _META_FIELDS if k in version.meta}
            meta["skills"] = tuple(meta.get("skills", ()))
            meta["prerequisites"] = tuple(meta.get("prerequisites", ()))
            doc = dataclasses.replace(
                doc, doc_id=version.doc_id, source_path=str(path), meta=DocumentMeta(**meta)
            )
            _, revision = ctx.kb.registry.overrides(version.doc_id)
            ctx.kb.registry.set_overrides(version.doc_id, version.overrides, revision=revision)
            ctx.kb.write(ctx.kb.prepare(doc))
            ctx.kb.refresh_lexical()
            ctx.audit(
                actor,
                version.course,
                "restore",
                version.doc_id,
                version=version.id,
                version_reason=version.reason,
                previous_version=current.id if current else None,
            )
            return ctx.view(ctx.kb.registry.get(version.doc_id))

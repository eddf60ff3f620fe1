"""The knowledge layer's console overrides: compare-and-set revisions, hidden documents
through check/repair, overrides applied on every write."""

from __future__ import annotations

import pytest

from knowledge.errors import ConflictError
from knowledge.ingest import ingest_path
from knowledge.types import SearchFilter

pytestmark = pytest.mark.integration

LESSON = "# Generators\n\nA generator yields values lazily with the yield keyword.\n"


@pytest.fixture
def kb(tmp_path, kb_config, make_kb):
    folder = tmp_path / "gen"
    folder.mkdir()
    (folder / "generators.md").write_text(LESSON, encoding="utf-8")
    kb = make_kb(kb_config(tmp_path / "var"))
    assert not ingest_path(kb, folder, course="gen").failed
    return kb


def hits(kb, query: str) -> list[str]:
    return [h.chunk.doc_id for h in kb.search(query, k=3, where=SearchFilter(course="gen"))]


def test_overrides_are_compare_and_set(kb) -> None:
    registry = kb.registry
    assert registry.overrides("gen/generators.md") == ({}, 0)
    assert registry.set_overrides("gen/generators.md", {"level": 2}, revision=0) == 1
    with pytest.raises(ConflictError):
        registry.set_overrides("gen/generators.md", {"level": 3}, revision=0)
    assert registry.set_overrides("gen/generators.md", {"level": 4}, revision=1) == 2
    with pytest.raises(ConflictError):
        registry.set_overrides("gen/generators.md", {"level": 1}, revision=1)
    assert registry.overrides("gen/generators.md") == ({"level": 4}, 2)
    with pytest.raises(ValueError, match="not an override field"):
        registry.set_overrides("gen/generators.md", {"course": "x"}, revision=2)


def test_reindex_applies_overrides_and_remove_forgets_them(kb) -> None:
    kb.registry.set_overrides("gen/generators.md", {"kind": "reference", "level": 3}, revision=0)
    kb.reindex("gen/generators.md")
    record = kb.registry.get("gen/generators.md")
    assert (record.kind, record.level, record.status) == ("reference", 3, "ready")
    assert {c.kind for c in kb.registry.document_chunks("gen/generators.md")} == {"reference"}
    kb.remove("gen/generators.md")
    assert kb.registry.overrides("gen/generators.md") == ({}, 0)


def test_a_hidden_document_left_pending_is_repaired_as_hidden(kb) -> None:
    assert hits(kb, "yield values lazily") == ["gen/generators.md"]
    kb.registry.set_overrides("gen/generators.md", {"hidden": True}, revision=0)
    kb.registry.mark(["gen/generators.md"], "pending")  # as if a re-index was interrupted
    problems = kb.check()
    assert "pending" in [p.kind for p in problems]
    kb.repair(problems)
    assert kb.registry.get("gen/generators.md").status == "hidden"
    assert kb.check() == []
    assert hits(kb, "yield values lazily") == []
    kb.vectors.add(  # a stray vector of a hidden document is found and deleted
        kb.registry.document_chunks("gen/generators.md"),
        kb.embed_chunks(kb.registry.document_chunks("gen/generators.md")),
    )
    problems = kb.check()
    assert [p.kind for p in problems] == ["orphan_vectors"]
    kb.repair(problems)
    assert kb.check() == [] and hits(kb, "yield values lazily") == []


def test_sync_keeps_documents_whose_files_live_outside_the_folder(tmp_path, kb) -> None:
    uploads = tmp_path / "var" / "uploads" / "gen"
    uploads.mkdir(parents=True)
    (uploads / "extra.md").write_text("# Extra\n\nAn uploaded extra lesson.\n", "utf-8")
    assert ingest_path(kb, uploads / "extra.md", course="gen").added == ["gen/extra.md"]
    (tmp_path / "gen" / "generators.md").unlink()
    report = ingest_path(kb, tmp_path / "gen", course="gen", sync=True)
    assert report.removed == ["gen/generators.md"]  # gone from the folder
    assert [r.doc_id for r in kb.registry.list(course="gen")] == ["gen/extra.md"]
    (uploads / "extra.md").unlink()  # once its own file is gone, a sync removes it too
    report = ingest_path(kb, tmp_path / "gen", course="gen", sync=True)
    assert report.removed == ["gen/extra.md"]

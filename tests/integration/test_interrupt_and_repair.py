"""An interrupted ingest leaves marks that ``kb check`` finds and ``--repair`` finishes.

These tests put the knowledge base into exactly the state a crash leaves (a staged document
without vectors, orphan vectors, a lost BM25 cache), in process; ``test_crash_recovery.py``
really kills ``kdt-tutor ingest`` and ``kdt-tutor serve``.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from knowledge.ingest import ingest_path
from knowledge.loaders import load_document
from knowledge.types import Chunk

pytestmark = pytest.mark.integration

NEW_LESSON = """\
---
title: Sets
level: 2
---

# Sets

A set stores unique values; adding a platypus twice keeps one platypus.

## Set operations

Union, intersection and difference combine two sets into a new set.
"""


def kinds(problems) -> dict[str, list[str]]:
    return {p.kind: p.doc_ids for p in problems}


@pytest.fixture
def kb_with_course(tmp_path, tiny_course, kb_config, make_kb):
    config = kb_config(tmp_path / "data")
    kb = make_kb(config)
    ingest_path(kb, tiny_course)
    assert kb.check() == []
    return kb, config, tiny_course


# --- crash mid-write, in process -----------------------------------------------------------------
@pytest.mark.parametrize("crash_after", ["stage", "vectors"])
def test_document_left_mid_write_is_finished_by_repair(crash_after, kb_with_course, make_kb):
    kb, config, course = kb_with_course
    path = course / "lessons" / "04-sets.md"
    path.write_text(NEW_LESSON, encoding="utf-8")
    doc = load_document(path, course_root=course, course="tiny", max_bytes=1 << 20)
    prepared = kb.prepare(doc)
    # What a kill between the steps of KnowledgeBase.write leaves behind:
    kb.registry.stage(
        prepared.doc,
        prepared.chunks,
        prepared.tokens,
        sentence_vectors=prepared.sentence_vectors,
    )
    if crash_after == "vectors":
        kb.vectors.add(prepared.chunks, prepared.vectors)

    problems = kinds(kb.check())

    assert problems["pending"] == [doc.doc_id]
    if crash_after == "stage":
        assert problems["missing_vectors"] == [doc.doc_id]
    else:
        assert "missing_vectors" not in problems
    if crash_after == "stage":  # no vector and no BM25 entry yet: invisible to readers
        seen = {h.chunk.doc_id: h.ranks for h in kb.search("platypus unique values", k=10)}
        assert doc.doc_id not in seen, seen

    done = kb.repair(kb.check())

    assert any(doc.doc_id in line for line in done), done
    assert kb.check() == []
    assert make_kb(config).check() == []  # a new process sees the same, consistent state
    assert kb.registry.get(doc.doc_id).status == "ready"
    hits = kb.search("platypus unique values", k=5)
    assert doc.doc_id in {h.chunk.doc_id for h in hits}


def test_update_left_mid_write_drops_old_vectors_and_indexes_new_ones(kb_with_course):
    kb, _, course = kb_with_course
    doc_id = "tiny/lessons/03-dicts.md"
    old_ids = set(kb.registry.chunk_ids(doc_id))
    path = course / "lessons" / "03-dicts.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA wombat keeps keys unique.\n")
    prepared = kb.prepare(load_document(path, course_root=course, course="tiny", max_bytes=1 << 20))
    kb.registry.stage(
        prepared.doc,
        prepared.chunks,
        prepared.tokens,
        sentence_vectors=prepared.sentence_vectors,
    )
    stale = old_ids - {c.id for c in prepared.chunks}
    assert stale

    problems = kinds(kb.check())

    assert problems["pending"] == [doc_id]
    assert problems["missing_vectors"] == [doc_id]
    assert "orphan_vectors" in problems
    # Mid-write, readers get only chunks the registry holds: never the replaced ones.
    hits = kb.search("dictionary keys values get method", k=20)
    assert hits
    assert not stale & {h.chunk.id for h in hits}
    assert {h.chunk.id for h in hits} <= set(kb.registry.chunk_ids())

    kb.repair(kb.check())

    assert kb.check() == []
    assert not stale & set(kb.vectors.ids())
    assert set(kb.registry.chunk_ids(doc_id)) == {c.id for c in prepared.chunks}
    assert doc_id in {h.chunk.doc_id for h in kb.search("wombat keeps keys unique", k=5)}


def test_orphan_vectors_are_deleted(kb_with_course):
    kb, _, _ = kb_with_course
    ghost = Chunk(
        id="tiny/ghost.md#0-deadbeef00",
        doc_id="tiny/ghost.md",
        index=0,
        text="A ghost passage nobody registered.",
        heading_path=("Ghost",),
        line_start=1,
        line_end=1,
        course="tiny",
        title="Ghost",
        kind="lesson",
        lang="en",
    )
    kb.vectors.add([ghost], kb.embed_chunks([ghost]))

    assert "orphan_vectors" in kinds(kb.check())

    done = kb.repair(kb.check())

    assert "deleted 1 orphan vector(s)" in done
    assert ghost.id not in kb.vectors.ids()
    assert kb.check() == []


def test_lost_bm25_index_is_rebuilt(kb_with_course, make_kb):
    kb, config, _ = kb_with_course
    lexical_ids = set(kb.lexical.chunk_ids())
    shutil.rmtree(config.kb_dir / "bm25")

    assert "lexical_stale" in kinds(kb.check())

    kb.repair(kb.check())

    assert kb.check() == []
    fresh = make_kb(config)
    assert fresh.lexical.load()
    assert set(fresh.lexical.chunk_ids()) == lexical_ids
    hits = fresh.search("while loop condition", k=5)
    assert any("lexical" in h.ranks for h in hits)


def test_document_that_lost_chunks_is_removed_for_reingest(kb_with_course):
    kb, _, course = kb_with_course
    doc_id = "tiny/lessons/01-lists.md"
    victim = sorted(kb.registry.chunk_ids(doc_id))[0]
    with kb.registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM kb_chunks WHERE chunk_id = :c"), {"c": victim})

    assert kinds(kb.check())["chunk_count"] == [doc_id]

    done = kb.repair(kb.check())

    assert any(line.startswith(f"removed {doc_id}") for line in done)
    assert kb.check() == []
    assert doc_id not in set(kb.vectors.ids().values())

    report = ingest_path(kb, course)

    assert report.added == [doc_id]
    assert kb.check() == []

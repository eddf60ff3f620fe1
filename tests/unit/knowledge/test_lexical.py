"""The mixed Korean/English/code tokenizer and the BM25 index.

Expectations are written in terms of the tokenizer's own output for single words, so they
hold whatever stemmer is configured (``tok("regression")`` is the form of that word).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.lexical import LexicalIndex, Tokenizer, is_hangul
from knowledge.types import Chunk, SearchFilter


def one(tokenizer: Tokenizer, word: str) -> str:
    tokens = tokenizer.tokenize(word)
    assert len(tokens) == 1, (word, tokens)
    return tokens[0]


# --- tokenizer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("phrase", ["변수를", "변수는", "변수가", "변수에"])
def test_korean_particles_are_dropped(tokenizer: Tokenizer, phrase: str) -> None:
    assert tokenizer.tokenize(phrase) == ["변수"]


def test_korean_sentence_keeps_content_words_only(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("변수를 정렬하는 방법은 무엇입니까?")

    assert "변수" in tokens
    assert "정렬" in tokens
    assert not {"를", "는", "은", "?"} & set(tokens)


@pytest.mark.parametrize(
    ("phrase", "tokens"),
    [
        ("리스트를", ["list"]),
        ("리스트가 늘어나요", ["늘어나", "list"]),
        ("넘파이 배열", ["배열", "numpy"]),  # Kiwi alone cuts 넘파이 into 넘 + 파이
        ("판다스 데이터프레임", ["pandas", "dataframe"]),
        ("플레이리스트", ["플레이", "리스트"]),  # inside a longer word it is not the loanword
    ],
)
def test_transliterations_are_read_as_their_english_word(tokenizer, phrase, tokens) -> None:
    assert tokenizer.tokenize(phrase) == tokens


def test_english_is_lowercased(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("Python LISTS Sorting") == tokenizer.tokenize("python lists sorting")
    assert all(t == t.lower() for t in tokenizer.tokenize("Python LISTS Sorting"))


def test_snake_case_identifier_gives_whole_and_parts(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("train_test_split")

    parts = [one(tokenizer, w) for w in ("train", "test", "split")]
    assert len(tokens) == 4
    assert tokens[1:] == parts
    assert "_" in tokens[0] and tokens[0] not in parts


def test_camel_case_identifier_gives_whole_and_parts(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("LinearRegression")

    assert tokens == [
        one(tokenizer, "linearregression"),
        one(tokenizer, "linear"),
        one(tokenizer, "regression"),
    ]


def test_stop_words_are_dropped(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("the and of to is") == []
    assert tokenizer.tokenize("What is the length of the list?") == tokenizer.tokenize(
        "length list"
    )


def test_mixed_korean_and_code(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("train_test_split 함수로 데이터를 나눕니다")

    assert tokens[:4] == tokenizer.tokenize("train_test_split")
    assert "데이터" in tokens
    assert "를" not in tokens


# --- the BM25 index ----------------------------------------------------------------------------
def chunk(cid: str, text: str, **meta) -> Chunk:
    fields = {"course": "py", "kind": "lesson", "lang": "en", "level": 1} | meta
    return Chunk(
        id=f"{fields['course']}/{cid}.md#0-{cid}",
        doc_id=f"{fields['course']}/{cid}.md",
        index=0,
        text=text,
        heading_path=(),
        line_start=1,
        line_end=1,
        title=cid,
        **fields,
    )


@pytest.fixture
def entries(tokenizer: Tokenizer) -> list[tuple[Chunk, list[str]]]:
    chunks = [
        chunk("lists", "A list keeps values in order; append adds a value to the list."),
        chunk("loops", "A for loop repeats its body for each item.", level=2),
        chunk("sol", "Solution: append each square to the list.", kind="solution"),
        chunk("pandas", "A DataFrame column is like a list of values.", course="ds"),
        chunk("ko", "목록은 값을 순서대로 저장합니다.", lang="ko", level=None),
    ]
    return [(c, tokenizer.tokenize(c.text)) for c in chunks]


def test_build_save_load_round_trip(tmp_path: Path, entries, tokenizer: Tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=7)
    query = tokenizer.tokenize("append to a list")

    loaded = LexicalIndex(tmp_path / "bm25")

    assert loaded.generation == -1
    assert loaded.load() is True
    assert loaded.generation == 7
    assert loaded.chunk_ids() == [c.id for c, _ in entries]
    assert loaded.search(query, k=3) == index.search(query, k=3)


def test_search_ranks_matching_chunks_with_positive_scores(entries, tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)

    hits = index.search(tokenizer.tokenize("append values in order"), k=10)

    assert hits[0][0] == "py/lists.md#0-lists"
    assert all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert "py/loops.md#0-loops" not in dict(hits)  # shares no term with the query


def test_filter_mask_excludes_solutions_and_other_courses(entries, tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)
    query = tokenizer.tokenize("append list values")

    everything = dict(index.search(query, k=10))
    default = dict(index.search(query, k=10, where=SearchFilter()))
    course = dict(index.search(query, k=10, where=SearchFilter(course="ds")))
    with_solutions = dict(index.search(query, k=10, where=SearchFilter(include_solutions=True)))

    assert "py/sol.md#0-sol" in everything
    assert "py/sol.md#0-sol" not in default
    assert "py/sol.md#0-sol" in with_solutions
    assert list(course) == ["ds/pandas.md#0-pandas"]


def test_filter_on_documents_keeps_only_theirs(entries, tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)
    query = tokenizer.tokenize("append list values")

    two = index.search(query, k=10, where=SearchFilter(doc_ids=frozenset({"py/lists.md", "x"})))
    none = index.search(query, k=10, where=SearchFilter(doc_ids=frozenset()))

    assert [cid for cid, _ in two] == ["py/lists.md#0-lists"]
    assert none == []


def test_filter_on_lang_and_level_keeps_unlevelled(entries, tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)

    korean = index.search(tokenizer.tokenize("목록을"), k=10, where=SearchFilter(lang="ko"))
    level_two = index.search(
        tokenizer.tokenize("loop list 목록"), k=10, where=SearchFilter(level_min=2, level_max=2)
    )

    assert [cid for cid, _ in korean] == ["py/ko.md#0-ko"]
    assert {cid for cid, _ in level_two} == {"py/loops.md#0-loops", "py/ko.md#0-ko"}


@pytest.mark.parametrize(
    "where",
    [
        None,
        SearchFilter(),
        SearchFilter(include_solutions=True),
        SearchFilter(course="ds"),
        SearchFilter(lang="ko"),
        SearchFilter(level_min=2, level_max=2),
        SearchFilter(doc_ids=frozenset({"py/lists.md", "py/sol.md", "ds/pandas.md"})),
        SearchFilter(doc_ids=frozenset()),
    ],
)
def test_accepts_agrees_with_the_filter_chunk_by_chunk(entries, tmp_path, where) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)
    ids = [c.id for c, _ in entries]

    flags = index.accepts(ids, where)

    assert flags == [where is None or where.accepts(c) for c, _ in entries]
    reloaded = LexicalIndex(tmp_path / "bm25")
    assert reloaded.load() and reloaded.accepts(ids[::-1], where) == flags[::-1]


def test_accepts_rejects_chunks_the_index_does_not_hold(entries, tmp_path) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    assert index.accepts(["py/lists.md#0-lists"]) == [False]  # nothing built yet
    index.build(entries, generation=1)

    flags = index.accepts(["py/gone.md#0-gone", "py/lists.md#0-lists"], SearchFilter())

    assert flags == [False, True]


def test_empty_index_and_empty_query_return_nothing(tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    assert index.search(tokenizer.tokenize("list"), k=5) == []  # never built

    index.build([], generation=3)

    assert index.search(tokenizer.tokenize("list"), k=5) == []
    reloaded = LexicalIndex(tmp_path / "bm25")
    assert reloaded.load() and reloaded.generation == 3 and reloaded.chunk_ids() == []


def test_query_without_tokens_returns_nothing(entries, tmp_path) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)

    assert index.search([], k=5) == []
    assert index.search(["list"], k=0) == []


def test_load_without_a_saved_index_is_false(tmp_path) -> None:
    assert LexicalIndex(tmp_path / "missing").load() is False


def test_rebuild_replaces_the_saved_index(entries, tmp_path) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)
    index.build(entries[:2], generation=2)

    reloaded = LexicalIndex(tmp_path / "bm25")

    assert reloaded.load()
    assert reloaded.generation == 2
    assert reloaded.chunk_ids() == [c.id for c, _ in entries[:2]]
    assert not (tmp_path / "bm25.tmp").exists() and not (tmp_path / "bm25.old").exists()


# --- document frequencies (term coverage) ---------------------------------------------------
def test_document_frequencies_count_chunks_holding_each_token(entries, tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)
    lst, value, kubernetes = (one(tokenizer, w) for w in ("list", "values", "kubernetes"))

    counts, total = index.document_frequencies([lst, value, kubernetes, "목록"])

    assert total == 5
    assert counts == {lst: 3, value: 2, kubernetes: 0, "목록": 1}


def test_document_frequencies_respect_the_filter(entries, tmp_path, tokenizer) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    index.build(entries, generation=1)
    lst, value = one(tokenizer, "list"), one(tokenizer, "values")

    default, default_total = index.document_frequencies([lst], where=SearchFilter())
    py, py_total = index.document_frequencies([lst, value], where=SearchFilter(course="py"))
    ds, ds_total = index.document_frequencies([lst], where=SearchFilter(course="ds"))

    assert (default, default_total) == ({lst: 2}, 4)  # the solution chunk is left out
    assert (py, py_total) == ({lst: 1, value: 1}, 3)
    assert (ds, ds_total) == ({lst: 1}, 1)


def test_document_frequencies_survive_a_reload(entries, tmp_path, tokenizer) -> None:
    LexicalIndex(tmp_path / "bm25").build(entries, generation=1)
    reloaded = LexicalIndex(tmp_path / "bm25")
    assert reloaded.load()

    counts, total = reloaded.document_frequencies([one(tokenizer, "list")])

    assert (counts, total) == ({one(tokenizer, "list"): 3}, 5)


def test_document_frequencies_of_an_empty_index_are_zero(tmp_path) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    assert index.document_frequencies(["list"]) == ({"list": 0}, 0)

    index.build([], generation=1)

    assert index.document_frequencies(["list"], where=SearchFilter()) == ({"list": 0}, 0)


def test_languages_count_the_chunks_the_filter_accepts(entries, tmp_path) -> None:
    index = LexicalIndex(tmp_path / "bm25")
    assert index.languages() == {}

    index.build(entries, generation=1)

    assert index.languages() == {"en": 4, "ko": 1}
    assert index.languages(where=SearchFilter(course="ds")) == {"en": 1}
    assert index.languages(where=SearchFilter(lang="ko")) == {"ko": 1}


@pytest.mark.parametrize(("token", "korean"), [("리스트", True), ("list", False), ("x1", False)])
def test_is_hangul(token: str, korean: bool) -> None:
    assert is_hangul(token) is korean

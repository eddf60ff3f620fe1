"""Retrieval metrics: rank metrics on de-duplicated sources, precision/recall on chunks."""

from __future__ import annotations

import json
import math

import pytest

from eval.metrics.catalog import METRICS
from eval.metrics.retrieval import (
    context_precision,
    context_recall,
    dedupe,
    hit_at_k,
    ndcg_at_k,
    reciprocal_rank,
    retrieval_scores,
)


def test_context_precision_is_the_mean_precision_at_each_gold_position():
    # gold at ranks 1 and 3: (1/1 + 2/3) / 2
    assert context_precision(["a", "x", "a", "y", "z"], {"a"}) == pytest.approx(5 / 6)
    # gold at rank 2 only: precision@2 = 1/2
    assert context_precision(["x", "a"], {"a"}) == pytest.approx(0.5)
    assert context_precision(["a", "a", "a"], {"a"}) == pytest.approx(1.0)


def test_context_precision_counts_only_the_first_k_chunks():
    ranked = ["x", "x", "x", "x", "x", "a"]
    assert context_precision(ranked, {"a"}) == 0.0
    assert context_precision(ranked, {"a"}, k=6) == pytest.approx(1 / 6)


def test_context_precision_and_recall_without_gold_are_nan():
    assert math.isnan(context_precision(["a"], set()))
    assert math.isnan(context_recall(["a"], set()))


def test_context_recall_is_the_share_of_gold_ids_retrieved():
    assert context_recall(["a", "x", "a"], {"a", "b"}) == pytest.approx(0.5)
    assert context_recall(["b", "a"], {"a", "b"}) == 1.0
    assert context_recall([], {"a"}) == 0.0


def test_retrieval_scores_dedupe_sources_for_rank_metrics():
    scores = retrieval_scores(["x", "x", "a", "y", "a"], {"a"})
    # sources: x, a, y -> the gold source is at rank 2
    assert scores["hit@1"].value == 0.0
    assert scores["hit@5"].value == 1.0
    assert scores["mrr@10"].value == pytest.approx(0.5)
    assert scores["ndcg@10"].value == pytest.approx(1 / math.log2(3))
    # chunks: gold at positions 3 and 5 -> (1/3 + 2/5) / 2
    assert scores["context_precision"].value == pytest.approx((1 / 3 + 2 / 5) / 2)
    assert scores["context_recall"].value == 1.0
    assert "rank 2" in scores["hit@1"].reason
    assert scores["hit@1"].details["sources"] == ["x", "a", "y"]
    assert scores["context_precision"].details["gold_positions"] == [3, 5]
    json.dumps({k: s.to_json() for k, s in scores.items()})


def test_retrieval_scores_report_a_miss():
    scores = retrieval_scores(["x", "y"], {"a", "b"})
    assert {k: s.value for k, s in scores.items()} == {
        "hit@1": 0.0,
        "hit@5": 0.0,
        "mrr@10": 0.0,
        "ndcg@10": 0.0,
        "context_precision": 0.0,
        "context_recall": 0.0,
    }
    assert "no gold source" in scores["mrr@10"].reason
    assert scores["context_recall"].details["missing"] == ["a", "b"]


def test_retrieval_scores_do_not_apply_without_gold():
    scores = retrieval_scores(["a", "b"], set())
    assert all(s.value is None for s in scores.values())


def test_retrieval_scores_use_the_catalog_item_keys():
    catalog = {m.item_key for m in METRICS if m.family == "retrieval"}
    assert set(retrieval_scores(["a"], {"a"})) == catalog


def test_existing_rank_functions_are_unchanged():
    ranked = dedupe(["b", "b", "a", "c"])
    assert ranked == ["b", "a", "c"]
    assert hit_at_k(ranked, {"a"}, 1) == 0.0
    assert reciprocal_rank(ranked, {"a"}) == 0.5
    assert math.isnan(ndcg_at_k(ranked, set()))

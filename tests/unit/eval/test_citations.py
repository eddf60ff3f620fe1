"""Citation accuracy: any cited source gold; first citation gold."""

from __future__ import annotations

from eval.metrics.citations import citation_accuracy, first_citation_correct


def test_any_gold_citation_counts():
    score = citation_accuracy(["02-loops", "01-lists", "01-lists"], {"01-lists"})
    assert score.value == 1.0
    assert score.reason == "cited 01-lists (gold)"
    assert score.details["cited"] == ["02-loops", "01-lists"]


def test_no_gold_citation():
    score = citation_accuracy(["02-loops"], {"01-lists"})
    assert score.value == 0.0
    assert score.reason == "cited 02-loops; gold is 01-lists"


def test_no_citation_is_a_failure():
    for metric in (citation_accuracy, first_citation_correct):
        score = metric([], {"01-lists"})
        assert score.value == 0.0
        assert score.reason == "no citation"


def test_not_applicable_without_gold():
    for metric in (citation_accuracy, first_citation_correct):
        assert metric(["01-lists"], set()).value is None


def test_first_citation_must_be_gold():
    gold = {"01-lists"}
    assert first_citation_correct(["01-lists", "02-loops"], gold).value == 1.0
    score = first_citation_correct(["02-loops", "01-lists"], gold)
    assert score.value == 0.0
    assert score.reason == "first citation 02-loops; gold is 01-lists"

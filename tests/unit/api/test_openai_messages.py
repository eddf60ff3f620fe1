"""Reading an OpenAI request's messages: the question, and the exchanges the tutor reads."""

from __future__ import annotations

import pytest

from api.errors import OpenAIRequestError
from api.routes.openai_compat import HISTORY_TEXT_CHARS, read_messages
from api.schemas.openai import ChatMessageIn
from tutor.chat.service import HISTORY_TURNS


def msgs(*pairs) -> list[ChatMessageIn]:
    return [ChatMessageIn(role=role, content=content) for role, content in pairs]


def test_question_and_history_pair_users_with_the_answers_after_them() -> None:
    read = read_messages(
        msgs(
            ("system", "Be brief."),
            ("assistant", "Hello! Ask me anything."),  # before any question: skipped
            ("user", "What is a tuple?"),
            ("assistant", "An unchangeable sequence [1]."),
            ("tool", "ignored"),
            ("assistant", "It uses parentheses."),
            ("user", "튜플은 왜 써요?"),
            ("user", "   "),  # a blank turn: skipped
            ("developer", "ignored"),
            ("user", [{"type": "text", "text": "Can I"}, {"type": "text", "text": "change it?"}]),
        )
    )
    assert read.question == "Can I\nchange it?" and read.question_index == 9
    assert [(e.question, e.answer, e.lang) for e in read.history] == [
        ("What is a tuple?", "An unchangeable sequence [1].\n\nIt uses parentheses.", "en"),
        ("튜플은 왜 써요?", "", "ko"),
    ]
    assert all(e.kind == "new" and e.query == "" for e in read.history)


def test_small_talk_turns_are_marked_so_the_topic_skips_them() -> None:
    read = read_messages(
        msgs(
            ("user", "What is a tuple?"),
            ("assistant", "An unchangeable sequence."),
            ("user", "thanks!"),
            ("assistant", "You're welcome."),
            ("user", "Can I change it?"),
        )
    )
    assert [e.kind for e in read.history] == ["new", "smalltalk"]


def test_history_is_the_last_turns_each_capped() -> None:
    pairs = []
    for i in range(250):
        pairs += [("user", f"question {i} " + "q" * 5000), ("assistant", "a" * 9000)]
    read = read_messages(msgs(*pairs, ("user", "Why?")))
    assert len(read.history) == HISTORY_TURNS
    assert read.history[-1].question.startswith("question 249")
    assert read.history[0].question.startswith(f"question {250 - HISTORY_TURNS}")
    assert all(len(e.question) == len(e.answer) == HISTORY_TEXT_CHARS for e in read.history)


@pytest.mark.parametrize(
    ("pairs", "param"),
    [
        ([("user", "")], "messages[0].content"),
        ([("user", None)], "messages[0].content"),
        ([("system", "hi")], "messages"),
        ([("user", "hi"), ("assistant", "hello")], "messages[1].role"),
        ([("robot", "hi"), ("user", "hi")], "messages[0].role"),
        ([("user", [{"type": "input_audio", "input_audio": {}}])], "messages[0].content[0]"),
        ([("user", [{"text": "no type"}])], "messages[0].content[0]"),
        ([("user", {"text": "a dict"})], "messages[0].content"),
        ([("user", "x" * 100_001)], "messages[0].content"),
    ],
)
def test_bad_messages_name_the_parameter(pairs, param: str) -> None:
    with pytest.raises(OpenAIRequestError) as caught:
        read_messages(msgs(*pairs))
    assert caught.value.param == param and caught.value.status == 400

"""Small talk is recognised only when the whole message is small talk, in both languages."""

from __future__ import annotations

import pytest

from prompts import render
from tutor.chat.answering import AnswerRequest, answer_text
from tutor.chat.smalltalk import SmalltalkReplies, smalltalk_kind, strip_courtesy


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("hi", "greeting"),
        ("Hello there!", "greeting"),
        ("안녕하세요", "greeting"),
        ("안녕하세요 선생님!!", "greeting"),
        ("thanks", "thanks"),
        ("Thank you so much :)", "thanks"),
        ("감사합니다", "thanks"),
        ("정말 고마워요", "thanks"),
        ("ok", "ack"),
        ("알겠어요", "ack"),
        ("ㅎㅎ", "ack"),
        ("👍", "ack"),
        ("bye!", "bye"),
        ("안녕히 계세요", "bye"),
        ("who are you?", "identity"),
        ("너는 누구야?", "identity"),
        ("what can you do?", "capabilities"),
        ("뭘 할 수 있어?", "capabilities"),
        ("help", "help"),
        ("도와줘", "help"),
        ("hi, who are you?", "identity"),  # what was asked beats the courtesy around it
        ("ok thanks", "thanks"),  # two phrases, no punctuation between them
        ("how are you?", "greeting"),
        ("잘 지냈어요?", "greeting"),
    ],
)
def test_whole_messages_of_small_talk_are_recognised(message: str, kind: str) -> None:
    assert smalltalk_kind(message) == kind


@pytest.mark.parametrize(
    "message",
    [
        "hi, what is a list?",
        "help me with lists",
        "도와줘 리스트 정렬이 안 돼요",
        "What is a list?",
        "왜요?",
        "예를 들어?",
        "?",
        "Thanks! And what about tuples?",
        "ok " + "x" * 300,
        "ok so what is a list",
    ],
)
def test_questions_are_not_small_talk(message: str) -> None:
    assert smalltalk_kind(message) is None


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("hi, what is a list?", "what is a list?"),
        ("Thanks! And what about tuples?", "And what about tuples?"),
        ("안녕하세요. 튜플이 뭐예요?", "튜플이 뭐예요?"),
        ("What is a list?", "What is a list?"),
        ("hello there :)", "hello there :)"),  # nothing left: kept as asked
    ],
)
def test_courtesy_in_front_of_a_question_is_stripped(message: str, question: str) -> None:
    assert strip_courtesy(message) == question


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_replies_are_short_in_the_trainees_language_and_cite_nothing(lang: str) -> None:
    question = "who are you?" if lang == "en" else "너는 누구야?"
    answer = answer_text(
        SmalltalkReplies().stream(AnswerRequest(question=question, passages=[], lang=lang))
    )
    assert answer.mode == "smalltalk" and answer.citations == ()
    hangul = any("\uac00" <= ch <= "\ud7a3" for ch in answer.text)
    assert hangul == (lang == "ko")
    assert len(answer.text) < 600
    # says what the tutor can do
    assert ("hints" in answer.text) if lang == "en" else ("힌트" in answer.text)


def test_every_kind_has_a_reply_in_both_languages() -> None:
    for kind in ("greeting", "thanks", "bye", "ack", "identity", "capabilities", "help"):
        en = render("tutor/smalltalk.text", kind=kind, lang="en")
        ko = render("tutor/smalltalk.text", kind=kind, lang="ko")
        assert en and ko and en != ko

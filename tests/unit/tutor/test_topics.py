"""The topic rules decide follow-up, new topic or small talk; retrieval is a scripted probe."""

from __future__ import annotations

import pytest

from knowledge.lexical import Tokenizer
from tutor.chat.topics import (
    EvidenceRule,
    Exchange,
    LengthRule,
    LLMTopicRule,
    Probe,
    as_turns,
    build_topic_rule,
)

LISTS = Exchange(
    "How do I add an item to a list?", lang="en", doc_id="05-lists", answer="Use append."
)
NOTHING = Probe(doc_id=None, confidence=0.0, covered=False, clear=False)


@pytest.fixture(scope="module")
def rule() -> EvidenceRule:
    return EvidenceRule(tokenizer=Tokenizer())


class ScriptedProbe:
    """Retrieval's verdicts by query; records what was searched."""

    def __init__(self, verdicts: dict[str, Probe] | None = None, default: Probe = NOTHING):
        self.verdicts = verdicts or {}
        self.default = default
        self.queries: list[str] = []

    def __call__(self, query: str) -> Probe:
        self.queries.append(query)
        return self.verdicts.get(query, self.default)


def clear(doc: str, confidence: float = 0.6) -> Probe:
    return Probe(doc_id=doc, confidence=confidence, covered=True, clear=True)


def test_the_first_question_is_a_new_topic(rule) -> None:
    decision = rule.decide("What is a tuple?", lang="en", history=(), probe=ScriptedProbe())
    assert (decision.kind, decision.query) == ("new", "What is a tuple?")


@pytest.mark.parametrize(
    "message", ["Why?", "왜요?", "예를 들어?", "Can you give an example?", "그거 다시 설명해줘"]
)
def test_a_message_without_topic_words_follows_the_topic(rule, message: str) -> None:
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=ScriptedProbe())
    assert decision.kind == "follow_up"
    assert decision.query == f"{LISTS.question} {message}"
    assert decision.stay_in == "05-lists"  # nothing of its own to search: stays in the lesson


@pytest.mark.parametrize(
    ("message", "lang"),
    [("What is a tuple?", "en"), ("How do I read a file?", "en"), ("튜플은 뭐예요?", "ko")],
)
def test_a_short_question_with_its_own_topic_is_a_new_topic(rule, message, lang) -> None:
    # Short (what the length rule joined), but its words find their own lesson.
    probe = ScriptedProbe(default=clear("07-tuples"))
    decision = rule.decide(message, lang=lang, history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("new", message)
    assert LengthRule().decide(message, lang=lang, history=(LISTS,), probe=probe).kind == (
        "follow_up"
    )


def test_a_reference_word_with_few_topic_words_follows(rule) -> None:
    # "sort" alone would find the sorting lesson; "it" is the list.
    probe = ScriptedProbe(default=clear("08-sorting"))
    decision = rule.decide("How do I sort it?", lang="en", history=(LISTS,), probe=probe)
    assert decision.kind == "follow_up"
    assert decision.query.startswith(LISTS.question)


def test_a_reference_word_in_a_self_sufficient_question_is_a_new_topic(rule) -> None:
    message = "Which of these loops stops when the condition becomes false?"
    probe = ScriptedProbe({message: clear("04-loops")})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("new", message)


def test_a_reference_word_on_the_same_document_follows(rule) -> None:
    message = "Does this also work for nested lists inside other lists?"
    probe = ScriptedProbe({message: clear("05-lists")})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert decision.kind == "follow_up"


@pytest.mark.parametrize(
    "message", ["What about dictionaries?", "And dictionaries?", "딕셔너리는요?"]
)
def test_what_about_x_keeps_the_frame_when_it_finds_x(rule, message: str) -> None:
    joined = f"{LISTS.question} {message}"
    probe = ScriptedProbe({message: clear("06-dicts"), joined: clear("06-dicts")})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("follow_up", joined)


def test_what_about_x_searches_x_alone_when_the_topic_pulls_back(rule) -> None:
    message = "What about dictionaries?"
    joined = f"{LISTS.question} {message}"
    probe = ScriptedProbe({message: clear("06-dicts"), joined: clear("05-lists")})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("follow_up", message)


def test_words_that_find_the_topics_lesson_follow_it(rule) -> None:
    # "add an item" alone might mean a dictionary; it lands on the list lesson, so it is one
    message = "How do I remove an item?"
    probe = ScriptedProbe({message: Probe("05-lists", 0.35, covered=True, clear=False)})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("follow_up", f"{LISTS.question} {message}")


def test_a_change_of_language_with_topic_words_is_a_new_topic(rule) -> None:
    message = "딕셔너리 사용법"
    probe = ScriptedProbe(default=Probe("06-dicts", 0.3, covered=True, clear=False))
    decision = rule.decide(message, lang="ko", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("new", message)


def test_words_that_find_nothing_alone_but_the_topic_with_it_follow(rule) -> None:
    message = "in reverse order"
    joined = f"{LISTS.question} {message}"
    probe = ScriptedProbe({joined: clear("05-lists")})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("follow_up", joined)


def test_small_talk_is_never_the_topic_a_follow_up_joins(rule) -> None:
    thanks = Exchange("thanks!", lang="en", kind="smalltalk", answer="You're welcome!")
    assert rule.decide("thanks!", lang="en", history=(LISTS,), probe=ScriptedProbe()).kind == (
        "smalltalk"
    )
    decision = rule.decide("Why?", lang="en", history=(LISTS, thanks), probe=ScriptedProbe())
    assert decision.query == f"{LISTS.question} Why?"
    first = rule.decide("Why?", lang="en", history=(thanks,), probe=ScriptedProbe())
    assert first.kind == "new"  # only small talk before: nothing to follow


def test_a_greeting_in_front_is_not_searched(rule) -> None:
    probe = ScriptedProbe(default=clear("07-tuples"))
    decision = rule.decide("Thanks! What is a tuple?", lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("new", "What is a tuple?")


def test_the_topic_is_the_query_the_last_turn_was_answered_from(rule) -> None:
    followed = Exchange("Why?", kind="follow_up", query=f"{LISTS.question} Why?", doc_id="05-lists")
    history = (LISTS, followed)
    decision = rule.decide("예를 들어?", lang="ko", history=history, probe=ScriptedProbe())
    assert decision.query == f"{LISTS.question} Why? 예를 들어?"


class Condenser:
    def __init__(self, reply):
        self.reply = reply
        self.calls: list[tuple[tuple[Exchange, ...], str]] = []

    def __call__(self, history, question, *, deadline=None):
        self.calls.append((tuple(history), question))
        return self.reply


def test_the_llm_rule_uses_the_models_standalone_question(rule) -> None:
    condense = Condenser("How do I sort a list?")
    llm = LLMTopicRule(condense=condense, fallback=rule)
    decision = llm.decide("How do I sort it?", lang="en", history=(LISTS,), probe=ScriptedProbe())
    assert (decision.kind, decision.query) == ("follow_up", "How do I sort a list?")
    assert condense.calls == [((LISTS,), "How do I sort it?")]
    same = LLMTopicRule(condense=Condenser("What is a tuple"), fallback=rule)
    kept = same.decide("What is a tuple?", lang="en", history=(LISTS,), probe=ScriptedProbe())
    assert (kept.kind, kept.query) == ("new", "What is a tuple?")


def test_the_llm_rule_decides_offline_when_the_model_fails(rule) -> None:
    llm = LLMTopicRule(condense=Condenser(None), fallback=rule)
    decision = llm.decide("Why?", lang="en", history=(LISTS,), probe=ScriptedProbe())
    assert (decision.kind, decision.query) == ("follow_up", f"{LISTS.question} Why?")
    assert decision.reason.startswith("model failed")
    offline = rule.decide("Why?", lang="en", history=(LISTS,), probe=ScriptedProbe())
    assert decision.stay_in == offline.stay_in == "05-lists"  # the same decision as offline


def test_the_llm_rule_never_asks_the_model_about_small_talk_or_a_first_question(rule) -> None:
    condense = Condenser("should not be used")
    llm = LLMTopicRule(condense=condense, fallback=rule)
    assert llm.decide("감사합니다", lang="ko", history=(LISTS,), probe=ScriptedProbe()).kind == (
        "smalltalk"
    )
    assert llm.decide("What is a list?", lang="en", history=(), probe=ScriptedProbe()).kind == "new"
    thanks = Exchange("thanks", kind="smalltalk", answer="You're welcome!")
    llm.decide("Why?", lang="en", history=(LISTS, thanks), probe=ScriptedProbe())
    assert condense.calls == [((LISTS,), "Why?")]  # small talk is not shown to the model


def test_turns_for_a_prompt_leave_small_talk_out() -> None:
    thanks = Exchange("thanks", kind="smalltalk", answer="You're welcome!")
    turns = as_turns((LISTS, thanks))
    assert [(t.role, t.content) for t in turns] == [
        ("user", LISTS.question),
        ("assistant", LISTS.answer),
    ]


def test_the_rule_follows_the_answerer() -> None:
    class Offline:
        pass

    class Model:
        def condense_question(self, history, question):
            return question

    tokenizer = Tokenizer()
    assert isinstance(build_topic_rule(Offline(), tokenizer), EvidenceRule)
    assert isinstance(build_topic_rule(Model(), tokenizer), LLMTopicRule)


def test_a_korean_question_without_a_noun_follows(rule) -> None:
    # "How do I make (it)?": a verb, no subject; its words alone would find any lesson
    probe = ScriptedProbe(default=clear("02-strings"))
    decision = rule.decide("어떻게 만들어요?", lang="ko", history=(LISTS,), probe=probe)
    assert decision.kind == "follow_up" and decision.reason == "no noun of its own"
    own = rule.decide("최댓값은 어떻게 구해요?", lang="ko", history=(LISTS,), probe=probe)
    assert own.kind == "new"


def test_a_pronoun_never_switches_the_topic(rule) -> None:
    message = "Why is it faster than a loop?"
    probe = ScriptedProbe({message: clear("04-loops", 0.7)})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert decision.kind == "follow_up"
    assert decision.query == f"{LISTS.question} {message}"


def test_an_off_course_question_after_a_course_question_is_not_joined(rule) -> None:
    message = "주식 투자 어떻게 해요?"
    joined = f"{LISTS.question} {message}"
    off_course = Probe(doc_id="05-lists", confidence=0.1, covered=False, clear=False, terms=0.0)
    probe = ScriptedProbe({message: off_course, joined: clear("05-lists")})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("new", message)


def test_what_about_x_that_finds_nothing_alone_is_searched_with_the_topic(rule) -> None:
    message = "튜플은요?"
    decision = rule.decide(message, lang="ko", history=(LISTS,), probe=ScriptedProbe())
    assert (decision.kind, decision.query) == ("follow_up", f"{LISTS.question} {message}")


def test_how_do_i_do_x_in_korean_is_a_question_not_what_about_x(rule) -> None:
    message = "모듈 import는 어떻게 해요?"
    probe = ScriptedProbe({message: clear("10-modules")})
    decision = rule.decide(message, lang="ko", history=(LISTS,), probe=probe)
    assert decision.kind == "new"


def test_a_reference_word_in_a_question_with_its_own_words_elsewhere_is_new(rule) -> None:
    # "why" opens it, but three topic words of its own find another lesson (loosely)
    message = "Why might a business want to use machine learning strategies?"
    probe = ScriptedProbe({message: Probe("01-intro", 0.33, covered=True, clear=False)})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert (decision.kind, decision.query) == ("new", message)
    # with only two topic words, a loose match is not enough to leave the topic
    short = "Why use strategies?"
    probe = ScriptedProbe({short: Probe("01-intro", 0.33, covered=True, clear=False)})
    assert rule.decide(short, lang="en", history=(LISTS,), probe=probe).kind == "follow_up"


def test_a_dummy_it_opening_a_statement_is_not_a_pronoun_of_the_topic(rule) -> None:
    message = "It is important to clean out unhelpful data before training a model"
    probe = ScriptedProbe({message: Probe("02-cleaning", 0.35, covered=True, clear=False)})
    decision = rule.decide(message, lang="en", history=(LISTS,), probe=probe)
    assert decision.kind == "new"

"""Following a conversation: is a message a follow-up, a new topic, or small talk?

The chat service asks a :class:`TopicRule` before it retrieves anything. The rule sees the
message, its language and the conversation's earlier turns (:class:`Exchange`: each with
the query it was answered from and the document its answer cited first) and returns a
:class:`TopicDecision`: the kind of turn and the query retrieval should search for.

- ``smalltalk``: greetings, thanks, "who are you" (``tutor/chat/smalltalk.py``). Nothing is
  retrieved, and later follow-ups skip these turns when they look for the topic.
- ``follow_up``: the message continues the last topic ("Why?", "예를 들어?", "How do I sort
  it?", "What about dictionaries?", "튜플은요?"); retrieval searches for it together with
  the topic.
- ``new``: anything else; retrieval searches for the message alone.

Rules:

- :class:`EvidenceRule` (offline, the default) decides from evidence, never from length:
  whether the message has content words of its own (tokenizer tokens that are not question
  or request words), reference words and ellipsis ("it", "that", "그거", "그럼", "이 코드"),
  the "what about X" / "X은요?" shape, a change of language, and retrieval itself: a
  message whose words, searched alone, clearly land on another lesson than the topic's
  is a new topic even when it says "this"; one whose words land on the topic's lesson
  ("How do I add an item?" after "What is a list?") or that finds nothing alone but the
  topic's lesson with the topic is a follow-up.
- :class:`LLMTopicRule`: the language model rewrites the message into a standalone
  question (``prompts/tutor/condense.*``); small talk is still recognised offline, and when
  the model fails the offline rule decides.
- :class:`LengthRule`: the rule before this module (a message of at most 30 characters or
  4 words joins the previous question). Kept as the conversation benchmark's baseline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from knowledge.lexical import Tokenizer, is_hangul
from tutor.chat.answering import Deadline, Turn
from tutor.chat.smalltalk import smalltalk_kind, strip_courtesy

TurnKind = Literal["new", "follow_up", "smalltalk"]


@dataclass(frozen=True)
class Exchange:
    """One earlier turn as the policy remembers it."""

    question: str
    lang: str = "en"
    kind: TurnKind = "new"
    query: str = ""  # the retrieval query it was answered from ("" = the question itself)
    doc_id: str | None = None  # the document its answer cited first
    answer: str = ""  # the answer's text (the LLM rule shows it to the model)

    @property
    def topic(self) -> str:
        return self.query or self.question


@dataclass(frozen=True)
class TopicDecision:
    kind: TurnKind
    query: str  # what retrieval searches for ("" for small talk)
    reason: str  # why, for logs, the eval report and tests
    # A follow-up with nothing of its own to search for ("Why?", "예를 들어?", "How do I avoid
    # it?") stays in the topic's lesson: passages from it go first.
    stay_in: str | None = None


@dataclass(frozen=True)
class Probe:
    """What retrieval says of one query: the best document, its dense similarity, and
    whether the course covers it (the chat's coverage rule)."""

    doc_id: str | None
    confidence: float
    covered: bool
    clear: bool  # confidence at or above the clear-match threshold
    terms: float = 1.0  # the share of the query's topic words the course uses (IDF-weighted)


Search = Callable[[str], Probe]


class TopicRule(Protocol):
    name: str

    def decide(
        self,
        message: str,
        *,
        lang: str,
        history: Sequence[Exchange],
        probe: Search,
        deadline: Deadline | None = None,
    ) -> TopicDecision:
        """Classify ``message`` given the earlier turns; ``probe`` runs a retrieval. A rule
        that asks a model must be done within ``deadline`` (the answer's)."""


def last_topic(history: Sequence[Exchange]) -> Exchange | None:
    """The latest turn that was about the course (small talk never is a topic)."""
    for exchange in reversed(history):
        if exchange.kind != "smalltalk":
            return exchange
    return None


def opening(
    message: str, history: Sequence[Exchange]
) -> tuple[TopicDecision | None, str, Exchange | None]:
    """What every rule decides first: small talk, or the first question of a conversation
    (a decision, settled); else None, the question without courtesy words, and the topic."""
    kind = smalltalk_kind(message)
    if kind:
        return TopicDecision("smalltalk", "", f"small talk ({kind})"), "", None
    question = strip_courtesy(message)
    topic = last_topic(history)
    if topic is None:
        return TopicDecision("new", question, "first question of the conversation"), question, None
    return None, question, topic


def joined(topic: Exchange, message: str) -> str:
    return f"{topic.topic} {message}"


# --- cues in the message ---------------------------------------------------------------------
# Tokenizer tokens that ask or request rather than name a topic: a message made only of
# these ("Can you give an example?", "왜요?", "그거 다시 설명해줘") has no topic of its own,
# and the chat's coverage rule leaves them out of term coverage (lessons seldom say 뭐).
QUESTION_WORDS = frozenset(
    """give example examples explain explanation explains mean means meaning meant tell show
    again please detail details detailed simpler simply simple easier easy another else ok okay
    really sure understand understood know like say said thing things work works
    happen happens happened difference different korean english instead still actually
    exactly basically briefly short shorter longer long step steps write written way ways
    help need want case cases code line lines part stuff kind""".split()  # noqa: SIM905
) | frozenset(
    """왜 뭐 무엇 무슨 어떻게 어떤 예 들 예시 예제 설명 다시 자세히 더 좀 쉽 말
    하 있 되 알 모르 이해 주 보 그거 이거 저거 그것 이것 저것 그 이 저 거 것
    한국어 영어 차이 경우 코드 뜻 의미 부분 좋 아니 맞 그렇 이렇 어떻 궁금 질문
    답 번 요 네 응 예요 또 다른 쉽게 간단 간단히 혹시 정도 때 무엇인가 누구 너
    나 저희 우리 제 내 해 줘 알려 알리 가르치 보여주 보이 필요 원하 싶 모르겠
    사용법 방법 법 쓰는법""".split()  # noqa: SIM905
)
_EN_REFERENCE = re.compile(
    r"\b(?:it|its|it's|that|this|these|those|they|them|their|theirs|same|above|previous"
    r"|former|latter|earlier|the example|the code|the last one|that one|this one)\b",
    re.IGNORECASE,
)
_EN_OPENER = re.compile(
    r"^\s*(?:and|but|also|so|then|or|what if|why not|why|how come|really|e\.g\.?|for example"
    r"|for instance|in that case|in this case)\b",
    re.IGNORECASE,
)
_KO_REFERENCE = re.compile(
    r"(?:^|\s)(?:그거|그것|그걸|그게|그건|이거|이것|이걸|이게|이건|저거|저것|저게|거기|여기|위에|아까|방금"
    r"|앞에서|위의|방금의|그런|이런|저런|그렇게|이렇게)"
    r"|(?:^|\s)(?:그|이|저)\s+\S"  # a determiner: "그 함수", "이 코드"
)
# Pronouns that stand for something said before: a message with one never switches topic
# on its other words ("Why is it faster than a loop?" is about the topic, not loops).
# Not at the very start: "It is important to ..." opens a statement with a dummy "it".
_PRONOUN = re.compile(
    r"(?<!^)\b(?:it|its|them|they|their)\b|(?:^|\s)(?:그거|그것|그걸|그게|그건|이거|이것|이걸|이게|이건)",
    re.IGNORECASE,
)
_KO_OPENER = re.compile(
    r"^\s*(?:그럼|그러면|그래서|그런데|근데|그리고|또|그럼요|왜|예를 들어|예를 들면|예컨대)"
)
# "what about X", "and X?", "X too?", "X은요?", "그럼 X는?", "X는 어때요?". "and can I change
# it?" is a question of its own, not "and X?": X may not open like a clause.
_NOT_A_CLAUSE = (
    r"(?!(?:can|could|do|does|did|is|are|was|were|how|what|why|when|where|which|who|should"
    r"|will|would|may|might|must|i|you|we|it|this|that|there)\b)"
)
_EN_SUBSTITUTE = (
    re.compile(
        r"^\s*(?:(?:and|but|so|then|ok(?:ay)?)\s*,?\s*)?(?:what|how)\s+about\s+(?P<x>.+?)\s*[?.!]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(rf"^\s*(?:and|or)\s+{_NOT_A_CLAUSE}(?P<x>[^?.!]{{1,60}}?)\s*\?+\s*$", re.I),
    re.compile(r"^\s*(?P<x>[^?.!]{1,60}?)\s+(?:too|as well)\s*[?.!]*\s*$", re.IGNORECASE),
    re.compile(r"^\s*(?:same|the same)\s+(?:for|with)\s+(?P<x>.+?)\s*[?.!]*\s*$", re.IGNORECASE),
)
_KO_SUBSTITUTE = (
    # "튜플은요?", "그럼 세트는?", "for문도요?": a short noun phrase and a topic particle only
    re.compile(
        r"^\s*(?:(?:그럼|그러면|그리고|또|근데|그런데)\s*,?\s*)?(?P<x>[^\s?？.!]{1,20}(?:\s[^\s?？.!]{1,20})?)"
        r"(?:은|는|도)요?\s*[?？.!]*\s*$"
    ),
    # "튜플은 어때요?", "그럼 세트는 어떤가요?" ("X는 어떻게 해요?" asks how to do X: a question)
    re.compile(
        r"^\s*(?:(?:그럼|그러면|그리고|또)\s*,?\s*)?(?P<x>[^\s?？.!]{1,20}(?:\s[^\s?？.!]{1,20})?)"
        r"(?:은|는|도)\s*(?:어때(?:요)?|어떤가요)\s*[?？.!]*\s*$"
    ),
)


@dataclass(frozen=True)
class Cues:
    """What the message itself says about its place in the conversation."""

    content: tuple[str, ...]  # tokens that name a topic
    reference: str  # the first reference word or opener found ("" if none)
    substitute: str  # X of "what about X" / "X은요?" ("" if not that shape)
    pronoun: bool = False  # "it", "them", "그거": stands for something said before
    nounless: bool = False  # a Korean question with verbs but no noun ("어떻게 만들어요?")


def cues(message: str, tokenizer: Tokenizer) -> Cues:
    tokens = tokenizer.tokenize(message)
    content = tuple(t for t in tokens if t.lower() not in QUESTION_WORDS)
    reference = ""
    for pattern in (_EN_OPENER, _KO_OPENER, _EN_REFERENCE, _KO_REFERENCE):
        match = pattern.search(message)
        if match:
            reference = match.group(0).strip()
            break
    substitute = ""
    for pattern in (*_EN_SUBSTITUTE, *_KO_SUBSTITUTE):
        match = pattern.match(message)
        if match:
            x = match.group("x").strip()
            if any(t.lower() not in QUESTION_WORDS for t in tokenizer.tokenize(x)):
                substitute = x
                break
    nounless = False
    if content and all(is_hangul(t) for t in content):
        nouns = [n for n in tokenizer.korean_nouns(message) if n.lower() not in QUESTION_WORDS]
        nounless = not nouns
    return Cues(
        content=content,
        reference=reference,
        substitute=substitute,
        pronoun=bool(_PRONOUN.search(message)),
        nounless=nounless,
    )


# --- the rules ---------------------------------------------------------------------------------
class EvidenceRule:
    """The offline rule (see the module docstring). ``min_new_terms``: a message with a
    reference word (not a pronoun) is still a new topic when it has at least this many
    content words and, searched alone, clearly matches another lesson than the topic's.
    ``min_course_words``: a message that finds nothing alone joins the topic only when at
    least this share of its words (IDF-weighted) are course words: "주식 투자 어떻게 해요?"
    after a question about functions is off the course, not about functions."""

    name = "evidence"

    def __init__(
        self, *, tokenizer: Tokenizer, min_new_terms: int = 2, min_course_words: float = 0.5
    ) -> None:
        self._tokenizer = tokenizer
        self.min_new_terms = min_new_terms
        self.min_course_words = min_course_words

    def decide(
        self,
        message: str,
        *,
        lang: str,
        history: Sequence[Exchange],
        probe: Search,
        deadline: Deadline | None = None,
    ) -> TopicDecision:
        settled, question, topic = opening(message, history)
        if settled is not None:
            return settled
        found = cues(question, self._tokenizer)
        if not found.content or found.nounless:
            why = "no topic words of its own" if not found.content else "no noun of its own"
            return TopicDecision("follow_up", joined(topic, question), why, topic.doc_id)
        alone = probe(question)
        if found.substitute:
            if not alone.covered:
                return TopicDecision(
                    "follow_up",
                    joined(topic, question),
                    f"asks the same of {found.substitute!r}; alone it finds nothing",
                )
            both = probe(joined(topic, question))
            if alone.doc_id is not None and both.doc_id == alone.doc_id:
                return TopicDecision(
                    "follow_up",
                    joined(topic, question),
                    f"asks the same of {found.substitute!r}; with the topic it finds the same",
                )
            return TopicDecision(
                "follow_up",
                question,
                f"asks the same of {found.substitute!r}; searched alone (the topic pulls back)",
            )
        if (
            alone.covered
            and not alone.clear
            and alone.doc_id is not None
            and alone.doc_id == topic.doc_id
        ):
            why = "its own words loosely find the topic's lesson"
            return TopicDecision("follow_up", joined(topic, question), why)
        elsewhere = alone.covered and alone.doc_id is not None and alone.doc_id != topic.doc_id
        if found.reference or found.pronoun:
            word = found.reference or "a pronoun"
            # A reference word ("this", "why", "and") in a question with words enough of its
            # own that find another lesson opens a new topic: clearly found, or found with
            # three topic words or more. A pronoun inside the question never does.
            enough = len(found.content) >= self.min_new_terms and (
                alone.clear or len(found.content) > self.min_new_terms
            )
            if elsewhere and enough and not found.pronoun:
                return TopicDecision(
                    "new",
                    question,
                    f"reference {word!r}, but its own words find another lesson "
                    f"({alone.confidence:.2f})",
                )
            stay = topic.doc_id if found.pronoun else None
            return TopicDecision(
                "follow_up", joined(topic, question), f"reference {word!r}", stay
            )
        if lang != topic.lang:
            return TopicDecision("new", question, f"language changed ({topic.lang} -> {lang})")
        if not alone.covered and alone.terms >= self.min_course_words:
            both = probe(joined(topic, question))
            if both.covered and both.doc_id == topic.doc_id:
                return TopicDecision(
                    "follow_up",
                    joined(topic, question),
                    "finds nothing alone, the topic's lesson with the topic",
                )
        return TopicDecision("new", question, "its own topic words")


class LengthRule:
    """The rule before evidence (baseline): a message of at most 30 characters or 4 words,
    or one opening with "and", "그럼" and the like, joins the previous question."""

    name = "length"
    _OPENER = re.compile(
        r"^\s*(그럼|그러면|그리고|그건|그거|그래서|and|what about|how about|then|also)\b",
        re.IGNORECASE,
    )

    def decide(
        self,
        message: str,
        *,
        lang: str,
        history: Sequence[Exchange],
        probe: Search,
        deadline: Deadline | None = None,
    ) -> TopicDecision:
        question = message.strip()
        if not history:
            return TopicDecision("new", question, "first question of the conversation")
        short = len(question) <= 30 or len(question.split()) <= 4
        if short or self._OPENER.match(question):
            return TopicDecision(
                "follow_up", f"{history[-1].question} {question}", "short or opener"
            )
        return TopicDecision("new", question, "long")


class Condense(Protocol):
    def __call__(
        self, history: Sequence[Exchange], question: str, *, deadline: Deadline | None
    ) -> str | None:
        """The standalone question, or None when the model failed or was late."""


class LLMTopicRule:
    """The model writes the standalone question; small talk and the first question are
    decided offline, and ``fallback`` decides whenever the model fails (``condense``
    returns ``None``)."""

    name = "llm"

    def __init__(self, *, condense: Condense, fallback: TopicRule) -> None:
        self._condense = condense
        self._fallback = fallback

    def decide(
        self,
        message: str,
        *,
        lang: str,
        history: Sequence[Exchange],
        probe: Search,
        deadline: Deadline | None = None,
    ) -> TopicDecision:
        settled, question, topic = opening(message, history)
        if settled is not None:
            return settled
        turns = [e for e in history if e.kind != "smalltalk"]
        standalone = self._condense(turns, question, deadline=deadline)
        if standalone is None:
            decision = self._fallback.decide(message, lang=lang, history=history, probe=probe)
            return replace(decision, reason=f"model failed; {decision.reason}")
        if _same_text(standalone, question):
            return TopicDecision("new", question, "the model kept it as asked")
        return TopicDecision("follow_up", standalone, "rewritten by the model")


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[\W_]+", " ", s.lower()).strip()

    return norm(a) == norm(b)


def as_turns(history: Sequence[Exchange]) -> tuple[Turn, ...]:
    """The exchanges as chat turns (for a model's prompt); small talk and questions left
    unanswered (the trainee stopped the answer) are left out."""
    turns: list[Turn] = []
    for exchange in history:
        if exchange.kind == "smalltalk" or not exchange.answer:
            continue
        turns.append(Turn("user", exchange.question))
        if exchange.answer:
            turns.append(Turn("assistant", exchange.answer))
    return tuple(turns)


def build_topic_rule(answerer: object, tokenizer: Tokenizer) -> TopicRule:
    """The offline rule, or, when the answerer can condense questions (the LLM answerer),
    the model's rule with the offline one as its fallback."""
    offline = EvidenceRule(tokenizer=tokenizer)
    condense = getattr(answerer, "condense_question", None)
    if condense is None:
        return offline
    def condense_turns(
        history: Sequence[Exchange], question: str, *, deadline: Deadline | None
    ) -> str | None:
        return condense(as_turns(history), question, deadline=deadline)

    return LLMTopicRule(condense=condense_turns, fallback=offline)

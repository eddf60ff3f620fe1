"""Small talk and questions about the tutor itself: recognised, answered briefly, never a topic.

Greetings, thanks, goodbyes, acknowledgements ("ok", "알겠어요"), "who are you", "what can
you do" and a bare "help" / "도와줘" are not questions about the course: they get a short
reply in the trainee's language that says what the tutor can do (``prompts/tutor/
smalltalk.text.j2``), they are never logged as content gaps, and a later follow-up never
joins them (``tutor/chat/topics.py`` skips them when it looks for the conversation's topic).

A message is small talk only when *all* of it is: "hi, what is a list?" is a question with
a greeting in front. :func:`strip_courtesy` removes such a greeting or thanks so that
retrieval searches for the question alone ("Thanks! And tuples?" -> "And tuples?").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from prompts import render
from tutor.chat.answering import Answer, AnswerEvent, AnswerRequest

# Each kind: phrases that make up a whole message of that kind (after normalisation:
# lowercase, punctuation, emoji and filler removed). Korean endings vary, so the Korean
# phrases are prefixes of the polite and plain forms (안녕 covers 안녕하세요, 안녕하십니까).
_KINDS: dict[str, tuple[str, ...]] = {
    "greeting": (
        r"hi+|hello+|hey+|hiya|yo|good (?:morning|afternoon|evening|day)|greetings",
        r"how are you(?: doing)?(?: today)?|how'?s it going|what'?s up|sup",
        r"잘 ?지내(?:요|셨어요|지요|니)?|잘 ?지냈(?:어|어요|니)|오랜만(?:이에요|이야|입니다)?",
        r"안녕(?:하세요|하십니까|하세여|요)?|반가워(?:요)?|반갑습니다|하이|헬로",
        r"좋은 (?:아침|하루)(?:이에요|입니다)?",
    ),
    "thanks": (
        r"(?:thanks?|thank you|thx|ty|tysm|cheers)(?: (?:a lot|so much|very much|again))?",
        r"감사(?:합니다|해요|드립니다)?|고마워(?:요)?|고맙습니다|땡큐|ㄱㅅ",
    ),
    "bye": (
        r"bye+|goodbye|good bye|see you(?: later| tomorrow)?|see ya|cya|good night",
        r"잘 ?가(?:요)?|안녕히 ?(?:계세요|가세요)|다음에 (?:봐요|만나요|봐)",
        r"수고하셨습니다|수고하세요|잘 ?자",
    ),
    "ack": (
        r"ok(?:ay)?|k|got it|i see|cool|great|nice|alright|all right|understood|makes sense",
        r"(?:ha)+|lol|[ㅋㅎㅠㅜ]+",
        r"알겠(?:어|어요|습니다)|알았(?:어|어요|습니다)|이해했(?:어|어요|습니다)",
        r"네|넵|넹|예|응|오케이|좋아(?:요)?|그렇군요|아하",
    ),
    "identity": (
        r"who are you|what are you|what is your name|what'?s your name",
        r"are you (?:a )?(?:bot|robot|human|person|real|an? ai|chatgpt|gpt)",
        r"(?:너|넌|당신|당신은|너는) ?(?:누구|뭐)(?:야|니|예요|세요|에요)?",
        r"누구(?:야|세요|신가요|니)",
        r"이름이 (?:뭐|무엇)(?:야|예요|에요|니|인가요)?",
        r"(?:너|당신)(?:는|은)? (?:사람|로봇|ai|챗봇)(?:이야|이에요|인가요|이니)?",
    ),
    "capabilities": (
        r"what (?:can|do) you do|how can you help(?: me)?|what can you help(?: me)? with",
        r"what are you for|how do(?:es)? (?:this|you) work|what can i ask(?: you)?",
        r"(?:너는 |넌 |당신은 )?(?:뭘|뭐|무엇을|무얼|어떤 걸|어떤 것을) "
        r"(?:할 수 있(?:어|어요|니|나요|습니까)"
        r"|도와(?:줄 수 있어|줄 수 있어요|주나요|줘요|줄래)"
        r"|물어(?:봐도 돼|볼 수 있어|봐도 돼요|볼 수 있나요))",
        r"사용법(?:이 뭐야|을 알려줘|이 궁금해요)?|어떻게 (?:쓰는 거야|사용해요|써요)",
    ),
    "help": (
        r"help(?: me)?(?: please)?|can you help(?: me)?|i need help|please help",
        r"도와(?:줘|주세요|줄래|주실래요|주실 수 있나요)",
        r"도움(?:이 필요해(?:요)?|말|좀)?|살려줘|헬프",
    ),
}
_PATTERNS = tuple((kind, re.compile("|".join(bodies))) for kind, bodies in _KINDS.items())
# Words that pad small talk without changing it: "hi tutor!", "thanks so much :)",
# "선생님 정말 감사합니다".
_FILLER = re.compile(
    r"\b(?:tutor|bot|there|everyone|again|so much|very much|please|pls|plz|man|mate|buddy)\b"
    r"|튜터(?:님)?|선생님|강사님|쌤|챗봇|님|요즘|정말|진짜|너무|많이|그냥"
)
_PUNCT = re.compile(r"[^\w\s'가-힣ㄱ-ㅎ]+")
_SPACES = re.compile(r"\s+")
_PARTS = re.compile(r"[,.!?~;:\n]+|\s+(?:and|그리고)\s+")
# A greeting or thanks in front of a question: "hi, ...", "thanks! ...", "안녕하세요. ..."
_LEADING = re.compile(
    r"^\s*(?:(?:hi+|hello+|hey+|good (?:morning|afternoon|evening)"
    r"|thanks?(?: you)?(?: so much| a lot)?|ok(?:ay)?|got it|great|cool|i see"
    r"|안녕하세요|안녕|감사합니다|감사해요|고마워요|고맙습니다|고마워"
    r"|알겠어요|알겠습니다|네|넵|아하|좋아요)(?:\s+(?:tutor|there|튜터님|선생님))?)"
    r"\s*[,.!?~:;]+\s*",
    re.IGNORECASE,
)


def _normalise(text: str) -> str:
    text = _PUNCT.sub(" ", text.lower())
    text = _FILLER.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _kind_of(part: str) -> str | None:
    clean = _normalise(part)
    if not clean:
        return ""  # punctuation, emoji or filler only: neutral
    for kind, pattern in _PATTERNS:
        if pattern.fullmatch(clean):
            return kind
    # several phrases without punctuation between them: "ok thanks", "hi 감사합니다"
    words = clean.split()
    for split in range(1, len(words)):
        head, tail = " ".join(words[:split]), " ".join(words[split:])
        first = next((k for k, p in _PATTERNS if p.fullmatch(head)), None)
        if first is not None:
            rest = _kind_of(tail)
            if rest:
                return _most_informative((first, rest))
    return None


def _most_informative(kinds) -> str:
    for preferred in ("capabilities", "identity", "help", "bye", "thanks", "greeting", "ack"):
        if preferred in kinds:
            return preferred
    return "ack"


def smalltalk_kind(text: str) -> str | None:
    """The kind of small talk the whole message is (``greeting``, ``thanks``, ``bye``,
    ``ack``, ``identity``, ``capabilities``, ``help``), or ``None`` when any part of it is
    something else (a question about the course). Several parts ("hi, who are you?") give
    the most informative kind: what the trainee asked about beats the courtesy around it."""
    if len(text) > 200:
        return None
    kinds = [_kind_of(part) for part in _PARTS.split(text) if part.strip()]
    kinds = [k for k in kinds if k != ""]
    if not kinds:  # emoji or punctuation only ("👍", "..."); a lone "?" is a follow-up
        return "ack" if text.strip() and "?" not in text else None
    if any(k is None for k in kinds):
        return None
    return _most_informative(kinds)


def strip_courtesy(text: str) -> str:
    """``text`` without a greeting, thanks or acknowledgement in front of the question."""
    stripped = text
    for _ in range(3):  # "Hi! Thanks. What about sets?"
        shorter = _LEADING.sub("", stripped, count=1)
        if shorter == stripped:
            break
        stripped = shorter
    stripped = stripped.strip()
    return stripped if re.search(r"\w", stripped) else text.strip()


class SmalltalkReplies:
    """The answerer for ``mode == "smalltalk"``: a short fixed reply in the trainee's
    language, the same whichever answerer is configured (no model call, no citations)."""

    name = "smalltalk"

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        kind = smalltalk_kind(request.question) or "help"
        text = render("tutor/smalltalk.text", kind=kind, lang=request.lang)
        yield AnswerEvent(kind="token", text=text)
        yield AnswerEvent(
            kind="done",
            answer=Answer(text=text, citations=(), answerer=self.name, mode="smalltalk"),
        )

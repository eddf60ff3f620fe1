"""Persistence of chat: conversations, messages, feedback and content gaps.

Ownership is enforced here, not only in the routes: every read and write names the user,
and a conversation of another user is reported as *not found* (never "forbidden"), so ids
leak nothing.

Channels: a conversation of the chat page is ``web``; the OpenAI-compatible API keeps one
``api`` conversation per user and course (:meth:`ConversationStore.channel_conversation`),
where each call adds its question and answer (the client resends the whole history on every
call: it is not copied). ``list`` shows one channel, ``web`` unless told otherwise.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tutor.chat.answering import Citation
from tutor.errors import InvalidInputError, NotFoundError
from tutor.store import (
    as_utc,
    content_gaps,
    conversations,
    create_schema,
    feedback,
    messages,
)


@dataclass(frozen=True)
class Conversation:
    id: str
    user_id: int
    course: str | None
    title: str
    created_at: datetime
    updated_at: datetime
    channel: str = "web"  # "web" (the chat page) | "api" (the OpenAI-compatible API)


CHANNELS = ("web", "api")
# A rated API answer's earlier questions: the API conversation logs every call of every
# client chat, so only the questions asked just before it are kept (they may be another
# chat's).
API_EARLIER_QUESTIONS = 5


def _conversation(m) -> Conversation:
    return Conversation(
        m["id"], m["user_id"], m["course"], m["title"],
        as_utc(m["created_at"]), as_utc(m["updated_at"]), m["channel"] or "web",
    )  # fmt: skip


MAX_TITLE_CHARS = 200  # the column's width
MAX_SEARCH_CHARS = 200
_SNIPPET_BEFORE, _SNIPPET_AFTER = 40, 80


@dataclass(frozen=True)
class ConversationHit:
    """A conversation found by :meth:`ConversationStore.search`: ``snippet`` is the first
    matching message around the match, ``None`` when only the title matched."""

    conversation: Conversation
    snippet: str | None


@dataclass(frozen=True)
class CourseMessage:
    """A message as cohort analytics read it."""

    user_id: int
    role: str
    citations: list[dict]
    created_at: datetime


@dataclass(frozen=True)
class Feedback:
    rating: str
    comment: str | None


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    role: str
    content: str
    lang: str | None = None
    mode: str | None = None
    answerer: str | None = None
    citations: tuple[Citation, ...] = ()
    notices: tuple[str, ...] = ()
    timings: dict = field(default_factory=dict)
    created_at: datetime | None = None
    feedback: Feedback | None = None
    topic: dict | None = None  # user messages: {"kind", "query", "anchor"} (tutor/chat/topics.py)


def citation_json(c: Citation) -> dict:
    """A citation as stored and as sent to clients."""
    return {
        "n": c.n,
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "title": c.title,
        "heading_path": list(c.heading_path),
        "line_start": c.line_start,
        "line_end": c.line_end,
        "text": c.text,
    }


def _citation(raw: dict) -> Citation:
    return Citation(
        n=raw["n"],
        chunk_id=raw["chunk_id"],
        doc_id=raw["doc_id"],
        title=raw["title"],
        heading_path=tuple(raw["heading_path"]),
        line_start=raw["line_start"],
        line_end=raw["line_end"],
        text=raw["text"],
    )


def clean_title(title: str) -> str:
    """A title as stored: whitespace runs (newlines included) become one space, control
    characters go; an empty or over-long result is refused."""
    text = " ".join("".join(ch for ch in title if unicodedata.category(ch) != "Cc").split())
    if not text:
        raise InvalidInputError("the title is empty")
    if len(text) > MAX_TITLE_CHARS:
        raise InvalidInputError(
            f"the title has {len(text)} characters; the limit is {MAX_TITLE_CHARS}"
        )
    return text


def _snippet(content: str, needle: str) -> str:
    """``content`` around the first occurrence of ``needle`` (lower case), on one line."""
    at = content.lower().find(needle)
    start, end = max(0, at - _SNIPPET_BEFORE), at + len(needle) + _SNIPPET_AFTER
    text = " ".join(content[start:end].split())
    return ("…" if start > 0 else "") + text + ("…" if end < len(content) else "")


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_schema(engine)

    # --- conversations ---------------------------------------------------------------
    def create(
        self, *, user_id: int, course: str | None, title: str, channel: str = "web"
    ) -> Conversation:
        return self._insert(
            conversation_id=uuid.uuid4().hex,
            user_id=user_id,
            course=course,
            title=title,
            channel=channel,
        )

    def channel_conversation(
        self, *, user_id: int, course: str | None, channel: str, title: str
    ) -> Conversation:
        """The user's one conversation of ``channel`` in ``course``, created on first use.

        Its id is derived from the user, course and channel, so two first calls at once
        still make one conversation (the second insert fails and reads the first's).
        """
        key = f"kdt-tutor/{channel}/{user_id}/{course or ''}"
        conversation_id = uuid.uuid5(uuid.NAMESPACE_URL, key).hex
        try:
            return self.get(conversation_id, user_id=user_id)
        except NotFoundError:
            pass
        try:
            return self._insert(
                conversation_id=conversation_id,
                user_id=user_id,
                course=course,
                title=title,
                channel=channel,
            )
        except IntegrityError:
            return self.get(conversation_id, user_id=user_id)

    def _insert(
        self, *, conversation_id: str, user_id: int, course: str | None, title: str, channel: str
    ) -> Conversation:
        if channel not in CHANNELS:
            raise InvalidInputError(f"unknown channel {channel!r}; valid: {', '.join(CHANNELS)}")
        now = datetime.now(UTC)
        conv = Conversation(conversation_id, user_id, course, title[:200] or "…", now, now, channel)
        with self.engine.begin() as conn:
            conn.execute(
                insert(conversations).values(
                    id=conv.id,
                    user_id=user_id,
                    course=course,
                    title=conv.title,
                    created_at=now,
                    updated_at=now,
                    channel=channel,
                )
            )
        return conv

    def get(self, conversation_id: str, *, user_id: int) -> Conversation:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.user_id == user_id
                )
            ).first()
        if row is None:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return _conversation(row._mapping)

    def list(
        self, *, user_id: int, limit: int = 100, channel: str | None = "web"
    ) -> list[Conversation]:
        """The user's conversations of ``channel`` (``None``: every channel), newest first."""
        query = (
            select(conversations)
            .where(conversations.c.user_id == user_id)
            .order_by(conversations.c.updated_at.desc())
            .limit(limit)
        )
        if channel == "web":  # rows written before channels existed are the chat page's
            query = query.where(
                or_(conversations.c.channel == "web", conversations.c.channel.is_(None))
            )
        elif channel is not None:
            query = query.where(conversations.c.channel == channel)
        with self.engine.connect() as conn:
            return [_conversation(r._mapping) for r in conn.execute(query)]

    def rename(self, conversation_id: str, *, user_id: int, title: str) -> Conversation:
        """Give the conversation a new title (see :func:`clean_title`); the list order,
        which follows the last message, does not change."""
        text = clean_title(title)
        self.get(conversation_id, user_id=user_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.user_id == user_id)
                .values(title=text)
            )
        return self.get(conversation_id, user_id=user_id)

    def search(self, *, user_id: int, query: str, limit: int = 50) -> list[ConversationHit]:
        """The user's conversations whose title or any message contains ``query`` (case
        folded, no wildcards: ``%`` and ``_`` are literal), newest first."""
        needle = " ".join(query.split()).lower()
        if not needle:
            raise InvalidInputError("the search text is empty")
        if len(needle) > MAX_SEARCH_CHARS:
            raise InvalidInputError(
                f"the search text has {len(needle)} characters; the limit is {MAX_SEARCH_CHARS}"
            )
        in_messages = func.lower(messages.c.content).contains(needle, autoescape=True)
        found = (
            select(conversations)
            .where(
                conversations.c.user_id == user_id,
                # the chat page's conversations (the API's log is not a conversation to find)
                or_(conversations.c.channel == "web", conversations.c.channel.is_(None)),
                or_(
                    func.lower(conversations.c.title).contains(needle, autoescape=True),
                    exists().where(messages.c.conversation_id == conversations.c.id, in_messages),
                ),
            )
            .order_by(conversations.c.updated_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            convs = [_conversation(r._mapping) for r in conn.execute(found)]
            first_match: dict[str, str] = {}
            if convs:
                matching = (
                    select(messages.c.conversation_id, messages.c.content)
                    .where(messages.c.conversation_id.in_([c.id for c in convs]), in_messages)
                    .order_by(messages.c.conversation_id, messages.c.seq)
                )
                for r in conn.execute(matching):
                    first_match.setdefault(r.conversation_id, r.content)
        return [
            ConversationHit(c, _snippet(first_match[c.id], needle) if c.id in first_match else None)
            for c in convs
        ]

    def delete(self, conversation_id: str, *, user_id: int) -> None:
        self.get(conversation_id, user_id=user_id)
        with self.engine.begin() as conn:
            ids = select(messages.c.id).where(messages.c.conversation_id == conversation_id)
            conn.execute(delete(feedback).where(feedback.c.message_id.in_(ids)))
            conn.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
            conn.execute(delete(conversations).where(conversations.c.id == conversation_id))

    # --- messages --------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: str,
        *,
        role: str,
        content: str,
        lang: str | None = None,
        mode: str | None = None,
        answerer: str | None = None,
        citations: tuple[Citation, ...] = (),
        notices: tuple[str, ...] = (),
        timings: dict | None = None,
        topic: dict | None = None,
    ) -> Message:
        now = datetime.now(UTC)
        message_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            seq = conn.execute(
                select(func.count()).where(messages.c.conversation_id == conversation_id)
            ).scalar_one()
            conn.execute(
                insert(messages).values(
                    id=message_id,
                    conversation_id=conversation_id,
                    seq=seq,
                    role=role,
                    content=content,
                    lang=lang,
                    mode=mode,
                    answerer=answerer,
                    citations=json.dumps([citation_json(c) for c in citations], ensure_ascii=False),
                    notices=json.dumps(list(notices), ensure_ascii=False),
                    timings=json.dumps(timings or {}),
                    created_at=now,
                    topic=json.dumps(topic, ensure_ascii=False) if topic is not None else None,
                )
            )
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(updated_at=now)
            )
        return Message(
            message_id, conversation_id, role, content, lang, mode, answerer,
            citations, notices, timings or {}, now, None, topic,
        )  # fmt: skip

    def last_question(self, conversation_id: str, *, user_id: int) -> Message:
        """The conversation's last user message (what "regenerate" answers again)."""
        asked = [m for m in self.messages(conversation_id, user_id=user_id) if m.role == "user"]
        if not asked:
            raise InvalidInputError("the conversation has no question to answer again")
        return asked[-1]

    def remove_from(self, conversation_id: str, *, user_id: int, message_id: str) -> int:
        """Delete ``message_id`` and every later message of the conversation (their feedback
        too); returns how many messages went. Regenerating an answer removes the question
        and its answer this way, then asks the question again."""
        self.get(conversation_id, user_id=user_id)
        with self.engine.begin() as conn:
            seq = conn.execute(
                select(messages.c.seq).where(
                    messages.c.id == message_id, messages.c.conversation_id == conversation_id
                )
            ).scalar_one_or_none()
            if seq is None:
                raise NotFoundError(f"no message {message_id!r} in this conversation")
            ids = select(messages.c.id).where(
                messages.c.conversation_id == conversation_id, messages.c.seq >= seq
            )
            conn.execute(delete(feedback).where(feedback.c.message_id.in_(ids)))
            removed = conn.execute(
                delete(messages).where(
                    messages.c.conversation_id == conversation_id, messages.c.seq >= seq
                )
            ).rowcount
        return removed

    def messages(self, conversation_id: str, *, user_id: int) -> list[Message]:
        self.get(conversation_id, user_id=user_id)
        query = (
            select(messages, feedback.c.rating, feedback.c.comment)
            .outerjoin(feedback, feedback.c.message_id == messages.c.id)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.seq)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [
            _stored(r, Feedback(r.rating, r.comment) if r.rating else None) for r in rows
        ]

    # --- feedback --------------------------------------------------------------------
    def set_feedback(
        self, message_id: str, *, user_id: int, rating: str, comment: str | None
    ) -> None:
        if rating not in ("up", "down"):
            raise InvalidInputError("rating must be 'up' or 'down'")
        if comment is not None and len(comment) > 2000:
            raise InvalidInputError("comment is longer than 2000 characters")
        with self.engine.begin() as conn:
            row = conn.execute(
                select(messages.c.role)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(messages.c.id == message_id, conversations.c.user_id == user_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no message {message_id!r}")
            if row.role != "assistant":
                raise InvalidInputError("feedback is for the tutor's answers only")
            conn.execute(delete(feedback).where(feedback.c.message_id == message_id))
            conn.execute(
                insert(feedback).values(
                    message_id=message_id,
                    user_id=user_id,
                    rating=rating,
                    comment=comment,
                    created_at=datetime.now(UTC),
                )
            )

    # --- whole-course reads (cohort analytics) ------------------------------------------
    def message_extent(self, course: str) -> tuple[int, datetime | None]:
        """(messages, latest message time) in the course's conversations."""
        m, c = messages.c, conversations.c
        query = (
            select(func.count(), func.max(m.created_at))
            .select_from(messages.join(conversations, c.id == m.conversation_id))
            .where(c.course == course)
        )
        with self.engine.connect() as conn:
            count, latest = conn.execute(query).one()
        return int(count or 0), latest

    def course_messages(self, course: str, *, since: datetime) -> list[CourseMessage]:
        """Every message of the course's conversations since ``since`` (who, role, the
        citations as stored, when)."""
        m, c = messages.c, conversations.c
        query = (
            select(c.user_id, m.role, m.citations, m.created_at)
            .join(conversations, c.id == m.conversation_id)
            .where(c.course == course, m.created_at >= since)
        )
        with self.engine.connect() as conn:
            return [
                CourseMessage(
                    r.user_id, r.role, json.loads(r.citations or "[]"), as_utc(r.created_at)
                )
                for r in conn.execute(query)
            ]

    # --- content gaps ----------------------------------------------------------------
    def record_gap(
        self,
        *,
        course: str | None,
        user_id: int | None,
        question: str,
        lang: str,
        confidence: float,
        retrieved: list[dict],
        reason: str = "not_covered",
    ) -> None:
        """``reason``: ``not_covered`` (the tutor said the course does not cover it) or
        ``low_confidence`` (answered, but only from loosely close passages)."""
        if reason not in ("not_covered", "low_confidence"):
            raise InvalidInputError(f"unknown content-gap reason {reason!r}")
        with self.engine.begin() as conn:
            conn.execute(
                insert(content_gaps).values(
                    course=course,
                    user_id=user_id,
                    question=question,
                    lang=lang,
                    confidence=confidence,
                    retrieved=json.dumps(retrieved, ensure_ascii=False),
                    created_at=datetime.now(UTC),
                    reason=reason,
                )
            )

    def recent_gaps(
        self, course: str, *, since: datetime, limit: int = 5
    ) -> tuple[int, list[tuple[str, str | None, datetime]]]:
        """(content gaps recorded in the course since ``since``, the latest ``limit`` of
        them as (question, lang, created_at))."""
        g = content_gaps.c
        with self.engine.connect() as conn:
            count = conn.execute(
                select(func.count()).where(g.course == course, g.created_at >= since)
            ).scalar_one()
            rows = conn.execute(
                select(g.question, g.lang, g.created_at)
                .where(g.course == course, g.created_at >= since)
                .order_by(g.created_at.desc(), g.id.desc())
                .limit(limit)
            ).all()
        return int(count), [(q, lang, as_utc(at)) for q, lang, at in rows]

    def gaps(self, *, course: str | None = None) -> list[dict]:
        query = select(content_gaps).order_by(content_gaps.c.created_at.desc())
        if course is not None:
            query = query.where(content_gaps.c.course == course)
        with self.engine.connect() as conn:
            return [
                {
                    "id": r.id,
                    "course": r.course,
                    "question": r.question,
                    "lang": r.lang,
                    "confidence": r.confidence,
                    "retrieved": json.loads(r.retrieved),
                    "created_at": as_utc(r.created_at).isoformat(),
                    "reason": r.reason or "not_covered",
                }
                for r in conn.execute(query)
            ]

    # --- rated answers (instructor exports) ------------------------------------------
    def rated_answers(
        self,
        *,
        course: str | None = None,
        rating: str | None = None,
        since: datetime | None = None,
    ) -> list[RatedAnswer]:
        """Every rated assistant message of every user, oldest rating first, each with the
        question it answered. For instructors' exports: no user id is returned.

        ``course`` keeps one course's conversations, ``rating`` (``up`` | ``down``) one
        rating, ``since`` ratings given at or after that time (naive means UTC). An answer
        of the OpenAI-compatible API (an ``api`` conversation) keeps the last
        ``API_EARLIER_QUESTIONS`` questions before it.
        """
        if rating is not None and rating not in ("up", "down"):
            raise InvalidInputError("rating must be 'up' or 'down'")
        query = (
            select(
                messages,
                conversations.c.course,
                conversations.c.channel,
                feedback.c.rating,
                feedback.c.comment,
                feedback.c.created_at.label("rated_at"),
            )
            .join(feedback, feedback.c.message_id == messages.c.id)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(messages.c.role == "assistant")
            .order_by(feedback.c.created_at, messages.c.id)
        )
        if course is not None:
            query = query.where(conversations.c.course == course)
        if rating is not None:
            query = query.where(feedback.c.rating == rating)
        if since is not None:
            query = query.where(feedback.c.created_at >= as_utc(since))
        with self.engine.connect() as conn:
            rated = list(conn.execute(query))
            conversation_ids = sorted({r.conversation_id for r in rated})
            questions: dict[str, list[tuple[int, Message]]] = {}
            if conversation_ids:
                asked = (
                    select(messages)
                    .where(
                        messages.c.conversation_id.in_(conversation_ids),
                        messages.c.role == "user",
                    )
                    .order_by(messages.c.conversation_id, messages.c.seq)
                )
                for r in conn.execute(asked):
                    questions.setdefault(r.conversation_id, []).append((r.seq, _stored(r)))
        out: list[RatedAnswer] = []
        for r in rated:
            before = [m for seq, m in questions.get(r.conversation_id, []) if seq < r.seq]
            if r.channel == "api":  # a log of every API call: only the last few came before
                before = before[-(API_EARLIER_QUESTIONS + 1) :]
            out.append(
                RatedAnswer(
                    answer=_stored(r, Feedback(r.rating, r.comment)),
                    question=before[-1] if before else None,
                    earlier_questions=tuple(m.content for m in before[:-1]),
                    course=r.course,
                    rated_at=as_utc(r.rated_at),
                )
            )
        return out


@dataclass(frozen=True)
class RatedAnswer:
    """A rated assistant message and the user message just before it (its question);
    ``earlier_questions`` are the conversation's user messages before that one."""

    answer: Message
    question: Message | None
    earlier_questions: tuple[str, ...]
    course: str | None
    rated_at: datetime


def _stored(r, fb: Feedback | None = None) -> Message:
    """A ``messages`` row as a :class:`Message`."""
    return Message(
        id=r.id,
        conversation_id=r.conversation_id,
        role=r.role,
        content=r.content,
        lang=r.lang,
        mode=r.mode,
        answerer=r.answerer,
        citations=tuple(_citation(c) for c in json.loads(r.citations)),
        notices=tuple(json.loads(r.notices)),
        timings=json.loads(r.timings),
        created_at=as_utc(r.created_at),
        feedback=fb,
        topic=json.loads(r.topic) if r.topic else None,
    )

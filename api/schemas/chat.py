"""Chat over HTTP (``/api/chat``, ``/api/conversations``, ``/api/messages``): what the chat
page sends and reads. Times are ISO 8601 strings as stored (``created_at``, ``updated_at``).
The answer stream's events (``meta``, ``token``, ``notice``, ``sources``, ``done``, ``error``)
are server-sent events, not these bodies (``api/routes/chat.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# The body may carry more than the service accepts, so the service can say what the limit is.
MAX_BODY_MESSAGE = 50_000


class ChatCreate(BaseModel):
    message: str = Field(max_length=MAX_BODY_MESSAGE)
    conversation_id: str | None = Field(default=None, max_length=64)
    lang: Literal["en", "ko"] | None = None
    exercise: str | None = Field(default=None, max_length=128)
    course: str | None = Field(
        default=None, max_length=128, description="admins: any course; others: their own only"
    )


class ConversationUpdate(BaseModel):
    # The store says what is wrong with a title (empty, too long); the body only caps size.
    title: str = Field(max_length=10_000)


class FeedbackCreate(BaseModel):
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class CitationPublic(BaseModel):
    """A passage an answer cites as ``[n]`` (also in ``/v1`` answers' ``citations``)."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    heading_path: list[str]
    line_start: int
    line_end: int
    text: str


class ConversationPublic(BaseModel):
    id: str
    title: str
    course: str | None
    created_at: str
    updated_at: str
    match: str | None = Field(
        default=None,
        description="searches only (?q=): the first matching message around the match; "
        "null: the title matched",
    )


class FeedbackPublic(BaseModel):
    rating: Literal["up", "down"]
    comment: str | None


class MessagePublic(BaseModel):
    id: str
    role: str
    content: str
    html: str | None = Field(description="answers: the content rendered (api/markdown.py)")
    lang: str | None
    mode: str | None
    answerer: str | None
    citations: list[CitationPublic]
    notices: list[str]
    timings: dict[str, Any]
    created_at: str | None
    feedback: FeedbackPublic | None


class ConversationDetailPublic(BaseModel):
    id: str
    title: str
    course: str | None
    messages: list[MessagePublic]

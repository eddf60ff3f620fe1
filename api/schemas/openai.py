"""The OpenAI-compatible API (``/v1``): OpenAI's request and response bodies, with what the
tutor adds (``citations``, ``tutor``; OpenAI clients ignore unknown fields). A streamed
completion (``"stream": true``) is OpenAI's ``chat.completion.chunk`` events instead."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.chat import CitationPublic


class ChatMessageIn(BaseModel):
    role: str = Field(max_length=32)
    # a string, a list of content parts ({"type": "text", "text": ...}), or null; read by
    # ``read_messages`` (api/routes/openai_compat.py) so that a bad value gets a message naming it
    content: Any = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionCreate(BaseModel):
    """OpenAI's request body; fields the tutor has no use for (temperature, max_tokens, ...)
    are accepted and ignored."""

    model: str = Field(max_length=128, description="a course id, from GET /v1/models")
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1


class ModelPublic(BaseModel):
    """A course, as an OpenAI model."""

    id: str
    object: Literal["model"]
    created: int = Field(description="Unix time of the course's first document (0: none)")
    owned_by: str


class ModelListPublic(BaseModel):
    object: Literal["list"]
    data: list[ModelPublic]


class AssistantMessagePublic(BaseModel):
    role: Literal["assistant"]
    content: str
    refusal: None


class ChoicePublic(BaseModel):
    index: int
    message: AssistantMessagePublic
    logprobs: None
    finish_reason: str


class UsagePublic(BaseModel):
    """Token counts, estimated (``api/token_estimate.py``)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TutorExtrasPublic(BaseModel):
    mode: str
    turn: str = Field(description="the question taken as a follow-up or a new topic")
    notices: list[str]
    answerer: str
    message_id: str
    conversation_id: str


class ChatCompletionPublic(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChoicePublic]
    usage: UsagePublic
    citations: list[CitationPublic]
    tutor: TutorExtrasPublic

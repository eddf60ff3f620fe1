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


class OpenAIErrorDetailPublic(BaseModel):
    message: str
    type: Literal["invalid_request_error", "server_error"]
    param: str | None = Field(description="the parameter at fault, e.g. messages[2].role")
    code: str | None


class OpenAIErrorPublic(BaseModel):
    """A refusal in OpenAI's shape, which OpenAI clients read (``api/errors.py``)."""

    error: OpenAIErrorDetailPublic


# Declared on the /v1 router: bad input is 400 there (never 422), as OpenAI answers it.
OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": OpenAIErrorPublic,
        "description": (
            "Refused: 400 invalid request, 401 no or a wrong API token, 403 not allowed, "
            "404 no such model, 413 too large, 429 too many requests"
        ),
    },
    503: {"model": OpenAIErrorPublic, "description": "the tutor's LLM provider is down"},
}

"""The OpenAI-compatible API: chat UIs and scripts talk to the tutor as to a model.

Point an OpenAI client at ``http://HOST:8000/v1`` with an API token (``kdt-tutor user token
USERNAME``) as the key; the model is a course id.

- ``GET /v1/models``: the courses the caller may use (``tutor/accounts/access.py``), in OpenAI's
  list shape. A trainee: their course; an instructor: theirs; an admin: every course in the
  knowledge base; a user without a course: none.
  ``GET /v1/models/{id}``: one of them (404 ``model_not_found`` otherwise).
- ``POST /v1/chat/completions``: the last user message is the question; the user and
  assistant messages before it are the conversation, as the web chat's stored one is (the
  last ``HISTORY_TURNS`` exchanges, each text capped at ``HISTORY_TEXT_CHARS``: a request
  with 500 earlier messages costs what one with 6 does). ``system`` and ``developer``
  messages are accepted and ignored (the tutor's own instructions decide how it answers),
  so are ``tool`` and ``function`` messages; any other role is a 400. Content is a string
  or a list of parts, of which the ``text`` parts are read (an image or other part in the
  question is a 400; in earlier messages it is skipped).
- The reply's text is what a chat UI shows: the answer's notices first ("the course is only
  in English, quoted as is", "the model was unavailable"), then the answer, then a
  "Sources:" list of the passages its ``[n]`` markers cite. The response also carries
  ``citations`` (the passages, quoted) and ``tutor`` (``mode``, ``turn``, ``notices``,
  ``answerer``, ``message_id`` for ``POST /api/messages/{id}/feedback``); OpenAI clients
  ignore both.
- ``usage`` is estimated (``api/token_estimate.py``): the prompt is the question and the
  exchanges the tutor read, the completion the reply's text. With ``stream: true`` and
  ``stream_options: {"include_usage": true}``, a last chunk with ``choices: []`` carries it.
- What is stored: each call adds its question and answer to the caller's one ``api``
  conversation for the course (``ConversationStore.channel_conversation``), never a copy of
  the history the client sent. It is kept out of the web chat's list, counts in content
  gaps, analytics, feedback export, and the trainee's data export and deletion.

Errors have OpenAI's shape (``api/errors.py``): an unknown model or a course the caller may
not use is 404 ``model_not_found`` (``param: "model"``); bad messages are 400. A failure
after the stream started ends it with a ``data: {"error": ...}`` frame and no ``[DONE]``,
which OpenAI's clients raise as an ``APIError``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.auth import ChatAuthDep, CurrentUserDep
from api.deps import ChatServiceDep, KnowledgeBaseDep, LearnerServiceDep, SettingsDep
from api.errors import OpenAIRequestError, openai_error_body, public_error
from api.learner_views import learner_context
from api.schemas.openai import (
    OPENAI_ERROR_RESPONSES,
    ChatCompletionCreate,
    ChatCompletionPublic,
    ChatMessageIn,
    ModelListPublic,
    ModelPublic,
)
from api.token_estimate import estimate_messages, estimate_tokens
from knowledge.errors import KdtTutorError
from knowledge.knowledge_base import KnowledgeBase
from prompts import render
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.chat.service import HISTORY_TURNS, ChatPlan, ChatService, detect_lang
from tutor.chat.smalltalk import smalltalk_kind
from tutor.chat.topics import Exchange
from tutor.errors import InvalidInputError

log = logging.getLogger("kdt.api.openai")
router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=OPENAI_ERROR_RESPONSES)

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
IGNORED_ROLES = ("system", "developer", "tool", "function")
HISTORY_TEXT_CHARS = 2000  # each earlier question and answer, as the tutor reads it
MAX_CONTENT_CHARS = 100_000  # any one message; the question's own limit is the chat's (4000)
OWNER = "kdt-tutor"


# --- models ---------------------------------------------------------------------------------------
def _model_json(course: str, kb: KnowledgeBase) -> dict:
    records = kb.registry.list(course=course)
    created = min((r.created_at for r in records), default=None)
    return {
        "id": course,
        "object": "model",
        "created": int(created.timestamp()) if created else 0,
        "owned_by": OWNER,
    }


def _model_not_found(model: str) -> OpenAIRequestError:
    return OpenAIRequestError(
        f"The model '{model}' does not exist or you do not have access to it; "
        "GET /v1/models lists the course ids you may use.",
        status=404,
        param="model",
        code="model_not_found",
    )


def _course(user: User, model: str, kb: KnowledgeBase) -> str:
    if model not in Access(user).courses(kb.registry.courses()):
        raise _model_not_found(model)
    return model


@router.get(
    "/models",
    response_model=ModelListPublic,
    summary="The courses the caller may use, as OpenAI models",
)
def list_models(user: CurrentUserDep, kb: KnowledgeBaseDep) -> dict:
    courses = Access(user).courses(kb.registry.courses())
    return {"object": "list", "data": [_model_json(c, kb) for c in courses]}


@router.get("/models/{model}", response_model=ModelPublic, summary="One course, as an OpenAI model")
def get_model(model: str, user: CurrentUserDep, kb: KnowledgeBaseDep) -> dict:
    return _model_json(_course(user, model, kb), kb)


# --- reading the messages -------------------------------------------------------------------------
@dataclass(frozen=True)
class Conversation:
    """What the tutor reads of a request's messages."""

    question: str
    question_index: int  # the question's position in ``messages`` (for error params)
    history: tuple[Exchange, ...]  # oldest first, at most HISTORY_TURNS


def _text(message: ChatMessageIn, index: int, *, strict: bool) -> str:
    """A message's text: the string, or its ``text`` parts joined by newlines. Other parts
    are a 400 when ``strict`` (the question), else skipped."""
    content = message.content
    param = f"messages[{index}].content"
    if content is None:
        return ""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif strict:
                raise OpenAIRequestError(
                    f"{param}[{j}] is a {kind or type(part).__name__!s} part; "
                    'the tutor reads text only ({"type": "text", "text": ...})',
                    param=f"{param}[{j}]",
                    code="invalid_value",
                )
        text = "\n".join(texts)
    else:
        raise OpenAIRequestError(
            f"{param} must be a string or a list of content parts",
            param=param,
            code="invalid_type",
        )
    if len(text) > MAX_CONTENT_CHARS:
        raise OpenAIRequestError(
            f"{param} has {len(text)} characters; the limit is {MAX_CONTENT_CHARS}",
            param=param,
            code="string_above_max_length",
        )
    return text


def _exchange(question: str, answer: str) -> Exchange:
    question = question.strip()[:HISTORY_TEXT_CHARS]
    kind = "smalltalk" if smalltalk_kind(question) else "new"
    return Exchange(
        question=question,
        lang=detect_lang(question),
        kind=kind,
        answer=answer.strip()[:HISTORY_TEXT_CHARS],
    )


def read_messages(messages: list[ChatMessageIn]) -> Conversation:
    """The question (the last message, from the user) and the exchanges before it.

    Raises :class:`OpenAIRequestError` for an unknown role, no user message, or a last
    message that is not the user's. Blank earlier user messages are skipped with their
    answers; assistant messages before the first user message are skipped.
    """
    for i, message in enumerate(messages):
        if message.role not in ROLES:
            raise OpenAIRequestError(
                f"Invalid value {message.role!r} for messages[{i}].role: supported roles are "
                + ", ".join(repr(r) for r in ROLES),
                param=f"messages[{i}].role",
                code="invalid_value",
            )
    dialogue = [i for i, m in enumerate(messages) if m.role not in IGNORED_ROLES]
    if not any(messages[i].role == "user" for i in dialogue):
        only = "only system messages" if not dialogue else "no user message"
        raise OpenAIRequestError(
            f"messages has {only}: the last message must be the user's question",
            param="messages",
            code="invalid_value",
        )
    last = dialogue[-1]
    if messages[last].role != "user":
        raise OpenAIRequestError(
            f"the last message must be the user's question; messages[{last}] is an "
            f"{messages[last].role!r} message",
            param=f"messages[{last}].role",
            code="invalid_value",
        )
    question = _text(messages[last], last, strict=True)
    if not question.strip():
        raise OpenAIRequestError(
            f"messages[{last}] (the question) is empty",
            param=f"messages[{last}].content",
            code="invalid_value",
        )
    # Walk back from the question: the cost is bounded by HISTORY_TURNS exchanges.
    history: list[Exchange] = []
    answers: list[str] = []
    for i in reversed(dialogue[:-1]):
        if len(history) == HISTORY_TURNS:
            break
        text = _text(messages[i], i, strict=False)
        if messages[i].role == "assistant":
            if sum(len(a) for a in answers) < HISTORY_TEXT_CHARS:
                answers.insert(0, text)
            continue
        if text.strip():
            history.insert(0, _exchange(text, "\n\n".join(a for a in answers if a.strip())))
        answers = []
    return Conversation(question=question, question_index=last, history=tuple(history))


# --- the reply text -------------------------------------------------------------------------------
def sources_text(citations: list[dict], *, lang: str) -> str:
    """The cited passages as a list under the answer, for clients that show text only."""
    sources = [
        {
            "n": c["n"],
            "title": c["title"],
            "heading": " › ".join(h for h in c["heading_path"] if h != c["title"]),
        }
        for c in citations
    ]
    return render("api/sources.text", sources=sources, lang=lang)


def reply_text(done: dict, *, lang: str) -> str:
    """The whole reply as a chat UI shows it: notices the answer does not already say, the
    answer, then its sources."""
    text = done["text"].strip()
    parts = [n for n in done["notices"] if n not in text]
    parts.append(text)
    if done["citations"]:
        parts.append(sources_text(done["citations"], lang=lang))
    return "\n\n".join(parts)


def _extras(done: dict) -> dict:
    """What the tutor adds to OpenAI's response (clients ignore unknown fields)."""
    return {
        "citations": done["citations"],
        "tutor": {
            "mode": done["mode"],
            "turn": done["turn"],
            "notices": done["notices"],
            "answerer": done["answerer"],
            "message_id": done["message_id"],
            "conversation_id": done["conversation_id"],
        },
    }


def _usage(conversation: Conversation, completion: str) -> dict:
    texts = [conversation.question]
    for exchange in conversation.history:
        texts.append(exchange.question)
        if exchange.answer:
            texts.append(exchange.answer)
    prompt = estimate_messages(texts)
    completion_tokens = estimate_tokens(completion)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


# --- the completion -------------------------------------------------------------------------------
@router.post(
    "/chat/completions",
    response_model=ChatCompletionPublic,
    responses={200: {"content": {"text/event-stream": {}}, "description": "stream: chunks"}},
    summary='Ask the tutor as an OpenAI chat model ("stream": true: server-sent events)',
)
def chat_completions(
    body: ChatCompletionCreate,
    auth: ChatAuthDep,
    service: ChatServiceDep,
    settings: SettingsDep,
    learner: LearnerServiceDep,
    kb: KnowledgeBaseDep,
):
    user = auth.user
    course = _course(user, body.model, kb)
    if body.n != 1:
        raise OpenAIRequestError("n must be 1: the tutor gives one answer", param="n")
    conversation = read_messages(body.messages)
    stored = service.store.channel_conversation(
        user_id=user.id, course=course, channel="api", title=f"API · {course}"
    )
    context, _source = learner_context(
        learner, user, course=course, default_level=settings.default_level
    )
    try:
        plan = service.plan(
            user_id=user.id,
            course=course,
            message=conversation.question,
            conversation_id=stored.id,
            learner=context,
            history=conversation.history,
        )
    except InvalidInputError as exc:  # too long: name the message
        raise OpenAIRequestError(
            str(exc), param=f"messages[{conversation.question_index}].content"
        ) from exc
    plan = replace(plan, history=service.follow(conversation.history, course=course))
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = _chunks(
            service,
            plan,
            conversation=conversation,
            head={
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
            },
            include_usage=include_usage,
        )
        return StreamingResponse(
            chunks,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    done = [e for e in service.stream(plan) if e.kind == "done"][-1].data
    content = reply_text(done, lang=plan.lang)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(conversation, content),
        **_extras(done),
    }


def _data(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _chunks(
    service: ChatService,
    plan: ChatPlan,
    *,
    conversation: Conversation,
    head: dict,
    include_usage: bool,
) -> Iterator[str]:
    """OpenAI's chunk sequence: the role, content deltas, a last chunk with
    ``finish_reason: "stop"``, the usage chunk when asked for, ``[DONE]``."""

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        usage = {"usage": None} if include_usage else {}
        return _data({**head, "choices": [choice], **usage, **extra})

    sent: list[str] = []

    def content(text: str) -> str:
        sent.append(text)
        return chunk({"content": text})

    yield chunk({"role": "assistant", "content": ""})
    done: dict | None = None
    try:
        for event in service.stream(plan):
            if event.kind == "token":
                yield content(event.data["text"])
            elif event.kind == "notice" and event.data["text"] not in "".join(sent):
                # a notice before the answer leads it; one after (an interrupted model
                # answer replaced by the offline one) separates the two
                text = event.data["text"]
                yield content(f"\n\n{text}\n\n" if sent else f"{text}\n\n")
            elif event.kind == "done":
                done = event.data
        if done is None:
            raise RuntimeError("the chat stream ended without an answer")
        if done["citations"]:
            yield content("\n\n" + sources_text(done["citations"], lang=plan.lang))
    except Exception as exc:  # the status is sent already: end with an error frame
        if isinstance(exc, KdtTutorError):
            status, code, message = public_error(exc, where="an OpenAI-compatible stream")
        else:
            request_id = uuid.uuid4().hex[:12]
            log.exception("OpenAI-compatible stream failed (request id %s)", request_id)
            status, code = 500, "internal_error"
            message = f"the answer failed (request id {request_id})"
        yield _data(openai_error_body(message, status=status, code=code))
        return
    yield chunk({}, "stop", **_extras(done))
    if include_usage:
        yield _data({**head, "choices": [], "usage": _usage(conversation, "".join(sent))})
    yield "data: [DONE]\n\n"

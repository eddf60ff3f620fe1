"""Chat over HTTP: server-sent events, conversations and feedback.

``POST /api/chat`` streams ``meta``, ``token``, ``notice``, ``sources``, ``done`` events; a
failure after the stream started ends it with an ``error`` event (no traceback). Errors
before the stream (empty or too long message, unknown conversation) are plain JSON errors.
The ``done`` event and the stored answers of ``GET /api/conversations/{id}`` carry ``html``:
the answer rendered by ``api.markdown`` (code highlighted, ``[n]`` as citation chips).

A stream the client stops (it closes the connection) stores no answer: the question stays,
unanswered, and ``POST /api/conversations/{id}/regenerate`` answers it (or answers the last
question again, replacing its answer) without storing the question twice.
Asking (``/api/chat``, regenerate, and ``/v1/chat/completions``) is limited per user to
``KDT_CHAT_PER_MINUTE`` (429 with ``Retry-After``, ``api/auth.py``'s ``ChatAuthDep``).
The OpenAI-compatible API (``/v1``) is in ``api/routes/openai_compat.py``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from api.auth import ChatAuthDep, CsrfAuthDep, CurrentUserDep
from api.deps import ChatServiceDep, LearnerServiceDep, SettingsDep
from api.errors import public_error
from api.i18n import pick_lang, translator
from api.learner_views import learner_context
from api.markdown import render_markdown
from api.schemas.chat import (
    ChatCreate,
    ConversationDetailPublic,
    ConversationPublic,
    ConversationUpdate,
    FeedbackCreate,
)
from api.schemas.common import ERROR_RESPONSES, OkPublic
from knowledge.errors import KdtTutorError
from knowledge.types import SearchFilter
from tutor.accounts.access import Access
from tutor.accounts.users import User
from tutor.chat.answering import LearnerContext
from tutor.chat.conversations import Conversation, Message, citation_json
from tutor.chat.service import ChatEvent, ChatPlan, ChatService
from tutor.learning.service import LearnerService

log = logging.getLogger("kdt.api.chat")
router = APIRouter(tags=["chat"], responses=ERROR_RESPONSES)
# The answer stream: server-sent events, each a kind and a JSON object.
_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["meta", "token", "notice", "sources", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
_EVENTS: dict = {200: {"content": {"text/event-stream": {"schema": _EVENT}}}}


def _scope(
    user: User, requested: str | None, *, service: ChatService, settings
) -> tuple[str | None, frozenset[str] | None]:
    """The course the question is asked in (``Access``: one's own; admins any) and,
    when that does not bound what the asker may read (no course), the documents they may."""
    access = Access(user)
    course = access.course_for(requested, resource="material", required=False)
    where = access.search_filter(
        SearchFilter(course=course), registry=service.kb.registry, data_dir=settings.data_dir
    )
    return course, where.doc_ids


def _learner(
    user: User, *, settings, learner: LearnerService, course: str | None
) -> LearnerContext:
    """The level and unmastered skills the answer adapts to, from the learner model when the
    user asks within their own course and has evidence (else ``KDT_DEFAULT_LEVEL``)."""
    context, _source = learner_context(
        learner, user, course=course, default_level=settings.default_level
    )
    return context


def _sse(event: ChatEvent) -> str:
    return f"event: {event.kind}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"


def _chip_label(request: Request) -> str:
    """The citation chips' accessible name in the page's language ("Source {n}")."""
    return translator(pick_lang(request))("chat_source_n")


def answer_html(text: str, *, citations: list[dict], chip_label: str) -> str:
    """An answer as the page shows it: Markdown, with chips for the numbers it cites."""
    return render_markdown(text, citations=[c["n"] for c in citations], chip_label=chip_label)


def _event_stream(
    service: ChatService, plan: ChatPlan, *, chip_label: str, rewind_from: str | None = None
) -> Iterator[str]:
    """The SSE frames of answering ``plan``. ``rewind_from``: a message id to delete with
    everything after it first (regenerate), in the same step that stores the question again,
    so a client that leaves before the stream starts changes nothing."""
    try:
        if rewind_from is not None:
            service.store.remove_from(
                plan.conversation_id, user_id=plan.user_id, message_id=rewind_from
            )
        for event in service.stream(plan):
            if event.kind == "done":
                html = answer_html(
                    event.data["text"], citations=event.data["citations"], chip_label=chip_label
                )
                event = ChatEvent("done", {**event.data, "html": html})
            yield _sse(event)
    except KdtTutorError as exc:
        _, code, message = public_error(exc, where="the chat stream")
        yield _sse(ChatEvent("error", {"code": code, "message": message}))
    except Exception:
        request_id = uuid.uuid4().hex[:12]
        log.exception("chat stream failed (request id %s)", request_id)
        message = f"internal error (request id {request_id})"
        yield _sse(ChatEvent("error", {"code": "internal_error", "message": message}))


def _streaming(frames: Iterator[str], *, conversation_id: str) -> StreamingResponse:
    """An SSE response; the conversation's id also goes in a header, so a client that stops
    the answer before the ``meta`` event still knows which conversation holds the question."""
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Conversation-Id": conversation_id,
        },
    )


@router.post(
    "/api/chat",
    response_class=StreamingResponse,
    responses=_EVENTS,
    summary="Ask the tutor (server-sent events)",
)
def chat(
    request: Request,
    body: ChatCreate,
    auth: ChatAuthDep,
    service: ChatServiceDep,
    settings: SettingsDep,
    learner: LearnerServiceDep,
) -> StreamingResponse:
    user = auth.user
    requested = body.course
    if body.conversation_id:  # a conversation goes on in its course, if the asker still may
        requested = service.store.get(body.conversation_id, user_id=user.id).course
    course, documents = _scope(user, requested, service=service, settings=settings)
    plan = service.plan(
        user_id=user.id,
        course=course,
        message=body.message,
        conversation_id=body.conversation_id,
        lang=body.lang,
        exercise=body.exercise,
        learner=_learner(user, settings=settings, learner=learner, course=course),
        documents=documents,
    )
    frames = _event_stream(service, plan, chip_label=_chip_label(request))
    return _streaming(frames, conversation_id=plan.conversation_id)


def _conversation_json(c: Conversation) -> dict:
    return {
        "id": c.id,
        "title": c.title,
        "course": c.course,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


def _message_json(m: Message, *, chip_label: str) -> dict:
    citations = [citation_json(c) for c in m.citations]
    return {
        "id": m.id,
        "role": m.role,
        "content": m.content,
        "html": (
            answer_html(m.content, citations=citations, chip_label=chip_label)
            if m.role == "assistant"
            else None
        ),
        "lang": m.lang,
        "mode": m.mode,
        "answerer": m.answerer,
        "citations": citations,
        "notices": list(m.notices),
        "timings": m.timings,
        "created_at": m.created_at.isoformat() if m.created_at else None,
        "feedback": (
            {"rating": m.feedback.rating, "comment": m.feedback.comment} if m.feedback else None
        ),
    }


@router.get(
    "/api/conversations",
    response_model=list[ConversationPublic],
    response_model_exclude_unset=True,  # ``match`` only in search results
    summary="The caller's conversations, newest first",
)
def list_conversations(user: CurrentUserDep, service: ChatServiceDep, q: str = "") -> list[dict]:
    """With ``q``: only those whose title or messages contain it (case-insensitive), each
    with ``match``, the first matching message around the match (null: the title matched)."""
    if not q.strip():
        return [_conversation_json(c) for c in service.store.list(user_id=user.id)]
    return [
        {**_conversation_json(hit.conversation), "match": hit.snippet}
        for hit in service.store.search(user_id=user.id, query=q)
    ]


@router.get(
    "/api/conversations/{conversation_id}",
    response_model=ConversationDetailPublic,
    summary="One conversation with messages",
)
def get_conversation(
    conversation_id: str, request: Request, user: CurrentUserDep, service: ChatServiceDep
) -> dict:
    conv = service.store.get(conversation_id, user_id=user.id)
    chip_label = _chip_label(request)
    return {
        "id": conv.id,
        "title": conv.title,
        "course": conv.course,
        "messages": [
            _message_json(m, chip_label=chip_label)
            for m in service.store.messages(conv.id, user_id=user.id)
        ],
    }


@router.patch(
    "/api/conversations/{conversation_id}",
    response_model=ConversationPublic,
    response_model_exclude_unset=True,
    summary="Rename a conversation",
)
def rename_conversation(
    conversation_id: str, body: ConversationUpdate, auth: CsrfAuthDep, service: ChatServiceDep
) -> dict:
    conv = service.store.rename(conversation_id, user_id=auth.user.id, title=body.title)
    return _conversation_json(conv)


@router.post(
    "/api/conversations/{conversation_id}/regenerate",
    response_class=StreamingResponse,
    responses=_EVENTS,
    summary="Answer the last question again (server-sent events, as /api/chat)",
)
def regenerate(
    conversation_id: str,
    request: Request,
    auth: ChatAuthDep,
    service: ChatServiceDep,
    settings: SettingsDep,
    learner: LearnerServiceDep,
) -> StreamingResponse:
    """The last question's answer (if any) is replaced: the question and what follows it are
    removed when the stream starts, and the question is asked again the usual way, so the
    stored history holds it once. 422 when the conversation has no question."""
    user = auth.user
    question = service.store.last_question(conversation_id, user_id=user.id)
    conv = service.store.get(conversation_id, user_id=user.id)
    course, documents = _scope(user, conv.course, service=service, settings=settings)
    plan = service.plan(
        user_id=user.id,
        course=course,
        message=question.content,
        conversation_id=conversation_id,
        lang=question.lang if question.lang in ("en", "ko") else None,
        learner=_learner(user, settings=settings, learner=learner, course=course),
        record_gap=False,  # recorded when it was first asked
        documents=documents,
    )
    frames = _event_stream(service, plan, chip_label=_chip_label(request), rewind_from=question.id)
    return _streaming(frames, conversation_id=plan.conversation_id)


@router.delete("/api/conversations/{conversation_id}", status_code=204)
def delete_conversation(
    conversation_id: str, auth: CsrfAuthDep, service: ChatServiceDep
) -> Response:
    service.store.delete(conversation_id, user_id=auth.user.id)
    return Response(status_code=204)


@router.post(
    "/api/messages/{message_id}/feedback",
    response_model=OkPublic,
    summary="Thumbs up/down on an answer",
)
def give_feedback(
    message_id: str, body: FeedbackCreate, auth: CsrfAuthDep, service: ChatServiceDep
) -> dict:
    service.store.set_feedback(
        message_id, user_id=auth.user.id, rating=body.rating, comment=body.comment
    )
    return {"ok": True}


# GET /api/learner/me (the level badge reads its level and source) is in api/routes/learner.py.

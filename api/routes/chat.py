"""Chat over HTTP: server-sent events, conversations and feedback.

``POST /api/chat`` streams ``meta``, ``token``, ``notice``, ``sources``, ``done`` events; a
failure after the stream started ends it with an ``error`` event (no traceback). Errors
before the stream (empty or too long message, unknown conversation) are plain JSON errors.
The OpenAI-compatible API (``/v1``) is in ``api/routes/openai_compat.py``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.auth import CsrfAuthDep, CurrentUserDep
from api.deps import ChatServiceDep, LearnerServiceDep, SettingsDep
from api.routes.learner import learner_context
from knowledge.errors import KnowledgeError
from tutor.accounts import User
from tutor.answering import LearnerContext
from tutor.chat import ChatEvent, ChatPlan, ChatService
from tutor.conversations import citation_json
from tutor.learner import LearnerService

log = logging.getLogger("kdt.api.chat")
router = APIRouter(tags=["chat"])

# The body may carry more than the service accepts, so the service can say what the limit is.
MAX_BODY_MESSAGE = 50_000


class ChatCreate(BaseModel):
    message: str = Field(max_length=MAX_BODY_MESSAGE)
    conversation_id: str | None = Field(default=None, max_length=64)
    lang: Literal["en", "ko"] | None = None
    exercise: str | None = Field(default=None, max_length=128)
    course: str | None = Field(default=None, max_length=128, description="instructors/admins only")


class FeedbackCreate(BaseModel):
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


def _course_for(user: User, requested: str | None) -> str | None:
    """Trainees always ask within their own course; staff may pick one."""
    if user.role == "trainee":
        return user.course
    return requested or user.course


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


def _event_stream(service: ChatService, plan: ChatPlan) -> Iterator[str]:
    try:
        for event in service.stream(plan):
            yield _sse(event)
    except KnowledgeError as exc:
        yield _sse(ChatEvent("error", {"code": exc.code, "message": str(exc)}))
    except Exception:
        request_id = uuid.uuid4().hex[:12]
        log.exception("chat stream failed (request id %s)", request_id)
        message = f"internal error (request id {request_id})"
        yield _sse(ChatEvent("error", {"code": "internal_error", "message": message}))


@router.post("/api/chat", summary="Ask the tutor (server-sent events)")
def chat(
    body: ChatCreate,
    auth: CsrfAuthDep,
    service: ChatServiceDep,
    settings: SettingsDep,
    learner: LearnerServiceDep,
) -> StreamingResponse:
    user = auth.user
    course = _course_for(user, body.course)
    plan = service.plan(
        user_id=user.id,
        course=course,
        message=body.message,
        conversation_id=body.conversation_id,
        lang=body.lang,
        exercise=body.exercise,
        learner=_learner(user, settings=settings, learner=learner, course=course),
    )
    return StreamingResponse(
        _event_stream(service, plan),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/api/conversations", summary="The caller's conversations, newest first")
def list_conversations(user: CurrentUserDep, service: ChatServiceDep) -> list[dict]:
    return [
        {
            "id": c.id,
            "title": c.title,
            "course": c.course,
            "created_at": c.created_at.isoformat(),
            "updated_at": c.updated_at.isoformat(),
        }
        for c in service.store.list(user_id=user.id)
    ]


@router.get("/api/conversations/{conversation_id}", summary="One conversation with messages")
def get_conversation(conversation_id: str, user: CurrentUserDep, service: ChatServiceDep) -> dict:
    conv = service.store.get(conversation_id, user_id=user.id)
    return {
        "id": conv.id,
        "title": conv.title,
        "course": conv.course,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "lang": m.lang,
                "mode": m.mode,
                "answerer": m.answerer,
                "citations": [citation_json(c) for c in m.citations],
                "notices": list(m.notices),
                "timings": m.timings,
                "created_at": m.created_at.isoformat() if m.created_at else None,
                "feedback": (
                    {"rating": m.feedback.rating, "comment": m.feedback.comment}
                    if m.feedback
                    else None
                ),
            }
            for m in service.store.messages(conv.id, user_id=user.id)
        ],
    }


@router.delete("/api/conversations/{conversation_id}", status_code=204)
def delete_conversation(
    conversation_id: str, auth: CsrfAuthDep, service: ChatServiceDep
) -> Response:
    service.store.delete(conversation_id, user_id=auth.user.id)
    return Response(status_code=204)


@router.post("/api/messages/{message_id}/feedback", summary="Thumbs up/down on an answer")
def give_feedback(
    message_id: str, body: FeedbackCreate, auth: CsrfAuthDep, service: ChatServiceDep
) -> dict:
    service.store.set_feedback(
        message_id, user_id=auth.user.id, rating=body.rating, comment=body.comment
    )
    return {"ok": True}


# GET /api/learner/me (the level badge reads its level and source) is in api/routes/learner.py.

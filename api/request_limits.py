"""Request size limits, applied before routing, authentication and any body parsing.

:class:`BodyLimitMiddleware` is plain ASGI, outside everything else: a request whose
``Content-Length`` is over its limit is answered 413 at once, before the app runs; a body
without one (chunked) is counted as it streams, and the read that goes over raises a 413
(``HTTPException``, answered by ``api/errors.py`` in the usual JSON shape). Nothing is
buffered here.

Limits per kind of route (:func:`body_limits`), from settings:

- most routes, JSON and forms: ``KDT_MAX_BODY_KB`` (256 KB);
- code review (``/api/reviews``): twice ``KDT_REVIEW_MAX_KB`` (JSON escaping can double
  code) plus 64 KB;
- course authoring (``/api/authoring``): 8 MB (a 5 MB quiz.jsonl, or an exercise with its
  2 MB tests.json and code);
- console uploads (``/api/kb/uploads``): ``KDT_UPLOAD_MAX_FILES`` files of
  ``KDT_UPLOAD_MAX_MB`` plus 1 MB of multipart overhead.

FastAPI 0.165 has ``max_body_size`` too; this middleware answers before routing when
``Content-Length`` says enough, and in the API's own error shape.

:func:`form_limits` is what every form parse uses (FastAPI's for ``Form``/``File``
parameters, and the CSRF check's ``request.form``): Starlette keeps the first parse of a
request, so the two must agree, or the first one's defaults (1000 files) would win.
"""

from __future__ import annotations

import json

from fastapi import HTTPException  # FastAPI re-raises its own from a body read (not 400)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor.settings import Settings

KB = 1024
MB = 1024 * 1024
AUTHORING_BODY_BYTES = 8 * MB
FORM_MAX_FIELDS = 20  # the largest form (login, review upload) has 5 fields
FORM_MAX_PART_BYTES = 64 * KB  # a text field: a password, a ``next`` URL, an exercise id


def body_limits(settings: Settings) -> tuple[int, list[tuple[str, int]]]:
    """``(default, [(path prefix, limit), ...])`` in bytes."""
    default = settings.max_body_kb * KB
    uploads = int(settings.upload_max_mb * MB) * settings.upload_max_files + MB
    reviews = 2 * settings.review_max_kb * KB + 64 * KB
    return default, [
        ("/api/kb/uploads", max(default, uploads)),
        ("/api/reviews", max(default, reviews)),
        ("/api/authoring", max(default, AUTHORING_BODY_BYTES)),
    ]


def form_limits(settings: Settings) -> dict[str, int]:
    return {
        "max_files": settings.upload_max_files,
        "max_fields": FORM_MAX_FIELDS,
        "max_part_size": FORM_MAX_PART_BYTES,
    }


def _too_large(limit: int) -> str:
    size = f"{limit // MB} MB" if limit >= MB else f"{limit // KB} KB"
    return f"the request body is larger than {size}, the limit for this address"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, default: int, prefixes: list[tuple[str, int]]) -> None:
        self.app = app
        self.default = default
        self.prefixes = prefixes

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, _too_large(limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "too_large", "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body stays unread
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})

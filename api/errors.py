"""Errors mapped once, at the API boundary.

The layers below raise the project's error tree (``knowledge/errors.py``, root
``KdtTutorError``); :func:`public_error` maps it to a status, a stable ``code`` and the
message a client may see, once, for the HTTP handlers (one JSON shape,
``{"error": {"code", "message"}}``; pages get ``error.html`` with the same status) and for
the error frame that ends a stream that fails partway through (``api/routes/chat.py``,
``api/routes/openai_compat.py``). A 500's message is logged, never shown. Unknown
exceptions are logged with a request id and answered with a generic 500: no traceback,
prompt or key ever leaves the server.

Under ``/v1`` (the OpenAI-compatible API, ``api/routes/openai_compat.py``) the same errors
take OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, which OpenAI
clients read: bad input is 400 (not 422), ``type`` is ``invalid_request_error`` below 500
and ``server_error`` from 500. The compat routes raise :class:`OpenAIRequestError` when
they know the parameter at fault (``param``, e.g. ``model`` or ``messages[2].role``).
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.templating import render_error
from knowledge import errors as kerr
from tutor.rate_limit import RateLimitedError

log = logging.getLogger("kdt.api")

# The first match wins: a course's missing content is a NotFoundError (404) and its invalid
# content an InvalidInputError (422) before they are knowledge errors.
_STATUS: list[tuple[type[Exception], int]] = [
    (kerr.AuthenticationError, 401),
    (kerr.PermissionDeniedError, 403),
    (kerr.NotFoundError, 404),
    (kerr.ConflictError, 409),
    (kerr.InvalidInputError, 422),
    (RateLimitedError, 429),  # and its TooManyAttemptsError (logins)
    (kerr.ProviderUnavailableError, 503),
    (kerr.ConfigError, 500),
    (kerr.KnowledgeError, 409),  # the course as it stands does not allow this
]


def public_error(exc: kerr.KdtTutorError, *, where: str) -> tuple[int, str, str]:
    """``(status, code, message)`` of one of the project's errors as a client sees it.
    A 500 (a setting that cannot work, or an error no branch maps) is logged with
    ``where`` and answered with a generic message."""
    status = next((s for t, s in _STATUS if isinstance(exc, t)), 500)
    if status != 500:
        return status, exc.code, str(exc)
    log.error("%s on %s: %s", type(exc).__name__, where, exc)
    generic = "internal configuration error" if isinstance(exc, kerr.ConfigError) else None
    return status, exc.code, generic or "internal error"


OPENAI_PREFIX = "/v1"


class OpenAIRequestError(Exception):
    """A refused request of the OpenAI-compatible API, with the parameter at fault."""

    def __init__(
        self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


# The product's error codes that OpenAI names differently.
_OPENAI_CODES = {"unauthorized": "invalid_api_key"}


def openai_error_body(
    message: str, *, status: int, code: str | None, param: str | None = None
) -> dict:
    """OpenAI's error shape (its clients raise ``APIStatusError`` subclasses from it)."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    code = _OPENAI_CODES.get(code, code) if code else code
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _openai(request: Request) -> bool:
    path = request.url.path
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api", OPENAI_PREFIX)) and (
        "text/html" in request.headers.get("accept", "")
    )


def _respond(request: Request, status: int, code: str, message: str, param: str | None = None):
    if _openai(request):
        status = 400 if status == 422 else status
        body = openai_error_body(message, status=status, code=code, param=param)
        return JSONResponse(body, status_code=status)
    if _wants_html(request):
        return render_error(request, status=status, message=message)
    return JSONResponse(error_body(code, message), status_code=status)


# Starlette's own refusals (routing, a body that is not JSON, size guards) by status.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(kerr.KdtTutorError)
    async def _domain(request: Request, exc: kerr.KdtTutorError):
        status, code, message = public_error(exc, where=request.url.path)
        response = _respond(request, status, code, message)
        retry_after = getattr(exc, "retry_after", None)  # throttles, limits, a busy sandbox
        if isinstance(retry_after, int) and retry_after > 0:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(OpenAIRequestError)
    async def _openai_refused(request: Request, exc: OpenAIRequestError):
        body = openai_error_body(str(exc), status=exc.status, code=exc.code, param=exc.param)
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        parts, params = [], []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
            params.append(_param(err.get("loc", ())))
        param = params[0] if params else None
        return _respond(
            request, 422, "invalid_input", "; ".join(parts) or "invalid request", param=param
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "error")
        response = _respond(request, exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110: a 405 lists the methods the resource has
            response.headers["Allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(Exception)
    async def _unknown(request: Request, exc: Exception):
        request_id = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s", request_id, request.url.path)
        return _respond(request, 500, "internal_error", f"internal error (request id {request_id})")


def _allowed_methods(request: Request) -> str:
    """The methods of the resource the path names: of every route with the path template of
    the first route that matches it, as Starlette picks. (Starlette's own 405 names that one
    route's methods only, so ``GET`` and ``POST /api/admin/users``, two routes, each hid the
    other.)"""
    template, methods = None, set()
    for route in iter_route_contexts(request.app.routes):
        if not route.methods or route.matches(request.scope)[0] == Match.NONE:
            continue
        template = template or route.path
        if route.path == template:
            methods |= route.methods
    return ", ".join(sorted(methods))


def _param(loc) -> str | None:
    """A validation error's location as OpenAI names parameters: ``messages[0].content``."""
    out = ""
    for part in loc:
        if part in ("body", "query"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None

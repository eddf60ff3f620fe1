"""Bodies several features share: a bare acknowledgement, and the error body of every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class OkPublic(BaseModel):
    """A change that has nothing to report but that it was made."""

    ok: bool


class ErrorDetailPublic(BaseModel):
    code: str = Field(description="stable, for programs: not_found, invalid_input, no_course, …")
    message: str = Field(description="for people: what was wrong and what to do")


class ErrorPublic(BaseModel):
    """Every refusal of the JSON API (``api/errors.py``). Some add fields: a solution that
    fails its tests comes with its ``check``."""

    error: ErrorDetailPublic


# Declared on every JSON router (``APIRouter(responses=ERROR_RESPONSES)``), so the OpenAPI
# schema says what a refusal looks like; it replaces FastAPI's default 422 body, which this
# API never sends.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorPublic,
        "description": (
            "Refused: 400 a body that cannot be parsed, 401 not logged in, 403 not allowed "
            "(or no CSRF token), 404 not found or not yours to see, 409 a conflict (a stale "
            "version, a duplicate), 413 too large, 422 invalid input, 429 too many requests "
            "(see Retry-After)"
        ),
    },
    503: {"model": ErrorPublic, "description": "a provider (the LLM, the vector store) is down"},
}

"""NUL bytes are refused in every text a request carries (PostgreSQL cannot store them, and
no name, title or message needs one): one app-wide dependency, before the route runs.

Checked: the path, the query, JSON bodies (keys and values, at any depth) and urlencoded
forms. Multipart forms are left to their routes, which must not parse an upload before
authentication: the file names are refused by their services (``safe_upload_name``, the
review's name check) and submitted code with a NUL by the review. File contents are bytes
and may hold anything. The answer is 422 naming where the NUL is (400 under ``/v1``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.request_limits import form_limits
from tutor.errors import InvalidInputError

NUL = "\x00"


def _find(value: Any, where: str) -> str | None:
    """The location of the first string holding a NUL, e.g. ``messages[2].content``."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return where or "a key"
            if found := _find(item, at):
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if found := _find(item, f"{where}[{i}]"):
                return found
    return None


async def _where(request: Request) -> str | None:
    if NUL in request.url.path:
        return "the address"
    for key, value in request.query_params.multi_items():
        if NUL in key or NUL in value:
            return f"query parameter {key!r}"
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            body = await request.json()  # FastAPI parsed it already; Starlette keeps it
        except (ValueError, UnicodeDecodeError):
            return None  # malformed JSON is the route's to answer
        return _find(body, "")
    if content_type == "application/x-www-form-urlencoded":
        settings = request.app.state.services.settings
        form = await request.form(**form_limits(settings))
        for key, value in form.multi_items():
            if isinstance(value, str) and (NUL in key or NUL in value):
                return f"form field {key!r}"
    return None


async def reject_nul_bytes(request: Request) -> None:
    where = await _where(request)
    if where is not None:
        raise InvalidInputError(f"{where or 'the body'} contains a NUL character (\\x00)")

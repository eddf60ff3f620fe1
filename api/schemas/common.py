"""Bodies several features share."""

from __future__ import annotations

from pydantic import BaseModel


class OkPublic(BaseModel):
    """A change that has nothing to report but that it was made."""

    ok: bool

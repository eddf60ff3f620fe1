"""The health check's body."""

from __future__ import annotations

from pydantic import BaseModel


class HealthPublic(BaseModel):
    status: str
    documents: int
    chunks: int
    courses: list[str]

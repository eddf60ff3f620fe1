"""The health check's body."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ComponentHealthPublic(BaseModel):
    status: str = Field(description="ok | unavailable | not_configured")
    detail: str = Field(description="the backend (sqlite, server, a model) or why it failed")
    latency_ms: float | None = None


class HealthPublic(BaseModel):
    status: str = Field(
        description="ok; degraded (the LLM is unreachable: answers fall back offline); "
        "unavailable (the database or the vector store is: HTTP 503)"
    )
    schema_revision: str | None = Field(
        description="Alembic's revision of the database, 'unversioned', or null when the "
        "database is unreachable"
    )
    components: dict[str, ComponentHealthPublic] = Field(description="database, vectors, llm")
    documents: int | None = None
    chunks: int | None = None
    courses: list[str] | None = None

"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import KnowledgeBaseDep
from api.schemas.common import ERROR_RESPONSES
from api.schemas.health import HealthPublic

router = APIRouter(prefix="/api/health", tags=["health"], responses=ERROR_RESPONSES)


@router.get("", response_model=HealthPublic)
def health(kb: KnowledgeBaseDep) -> HealthPublic:
    documents, chunks = kb.registry.counts()
    return HealthPublic(
        status="ok", documents=documents, chunks=chunks, courses=kb.registry.courses()
    )

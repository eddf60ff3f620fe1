"""Liveness and readiness: ``GET /api/health`` (``tutor/health.py``)."""

from __future__ import annotations

from dataclasses import replace

import anyio
from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from api.schemas.common import ERROR_RESPONSES
from api.schemas.health import ComponentHealthPublic, HealthPublic
from knowledge.errors import KdtTutorError
from tutor.services import Services

router = APIRouter(prefix="/api/health", tags=["health"], responses=ERROR_RESPONSES)


# Health runs on threads of its own: on the shared pool (40 threads) it queued behind every
# open chat stream's next step, 0.4-0.7 s under 50 chats (bench/RESULTS.md, "Load").
_HEALTH_THREADS = anyio.CapacityLimiter(2)


@router.get("", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
async def health(request: Request, response: Response) -> HealthPublic:
    # ``async`` with no dependency that needs a thread: nothing here waits for the shared pool
    services = request.app.state.services
    body = await anyio.to_thread.run_sync(_health, services, limiter=_HEALTH_THREADS)
    if body.status == "unavailable":
        response.status_code = 503
    return body


def _health(services: Services) -> HealthPublic:
    report = services.health.report()
    body = HealthPublic(
        status=report.status,
        schema_revision=report.schema_revision,
        components={
            name: ComponentHealthPublic(status=c.status, detail=c.detail, latency_ms=c.latency_ms)
            for name, c in report.components.items()
        },
    )
    if report.status != "unavailable":
        try:
            registry = services.kb.registry
            body.documents, body.chunks = registry.counts()
            body.courses = registry.courses()
        except (KdtTutorError, SQLAlchemyError):  # went down since the check: counts unknown
            report = replace(report, status="unavailable")
            body.status = report.status
    return body

"""Liveness and readiness: ``GET /api/health`` (``tutor/health.py``)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Response
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep
from api.schemas.common import ERROR_RESPONSES
from api.schemas.health import ComponentHealthPublic, HealthPublic
from knowledge.errors import KdtTutorError

router = APIRouter(prefix="/api/health", tags=["health"], responses=ERROR_RESPONSES)


@router.get("", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(services: ServicesDep, response: Response) -> HealthPublic:
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
    if report.status == "unavailable":
        response.status_code = 503
    return body

"""``GET /metrics``: Prometheus metrics of this process (``tutor/metrics.py``).

Who may read them (``tutor/accounts/access.py``): a scraper on loopback or in
``KDT_METRICS_ALLOW`` without logging in; anyone else must be an admin (cookie or bearer).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.auth import OptionalUserDep
from api.client_address import client_address
from api.deps import ServicesDep
from api.schemas.common import ERROR_RESPONSES
from tutor.accounts.access import Access, metrics_address_allowed

router = APIRouter(prefix="/metrics", tags=["operations"], responses=ERROR_RESPONSES)


@router.get(
    "",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request, services: ServicesDep, user: OptionalUserDep) -> Response:
    settings = services.settings
    trusted = settings.trusted_proxy_networks
    peer = request.client.host if request.client else None
    address = client_address(request, trusted=trusted)
    # A proxy we do not trust forwarded it: its loopback address is not the scraper's.
    proxied = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    forwarded = proxied and address == peer
    if not metrics_address_allowed(
        address, allowed=settings.metrics_allow_networks, forwarded=forwarded
    ):
        Access(user).require_role("read", "metrics")
    body, content_type = services.metrics.exposition()
    return Response(content=body, media_type=content_type)

"""Request latency for ``/metrics``: a pure ASGI middleware timing every HTTP request, from
its start to the end of its response body (a chat stream: its last event), labelled with
the *route template* the router matched (``/api/reviews/{review_id}``), never the raw path,
so the number of series stays bounded (``tutor/metrics.py``)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor.metrics import UNMATCHED, Metrics


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before it responds

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.request_done(
                method=scope["method"],
                route=route,
                status=status,
                seconds=time.perf_counter() - started,
            )

"""Security headers on every response (plain ASGI middleware).

- Every response: ``X-Content-Type-Options: nosniff`` (JSON, files and scripts are what
  they say) and ``Referrer-Policy: same-origin`` (no paths or queries to other sites).
- HTML pages also get a Content-Security-Policy and ``X-Frame-Options: DENY``: no page can
  be framed (``frame-ancestors 'none'``, clickjacking of the console), scripts only from
  this site (``script-src 'self'``: the templates have no inline script or handler; their
  ``<script type="application/json">`` blocks are data, which CSP does not run), no
  plugins, forms post only here, no ``<base>``. Styles come from this site too
  (``style-src 'self'``); ``style-src-attr 'unsafe-inline'`` lets the templates' and
  scripts' ``style="width: 42%"`` bar widths through. That allows no script and no
  ``<style>`` element. A browser without ``style-src-attr`` (Firefox before 108) falls back
  to ``style-src 'self'`` and draws the bars empty.
- ``Strict-Transport-Security`` is left to the TLS-terminating proxy (docs/operators.md).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_EVERY_RESPONSE = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_HTML = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                extra = _EVERY_RESPONSE + (_HTML if content_type.startswith(b"text/html") else [])
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
